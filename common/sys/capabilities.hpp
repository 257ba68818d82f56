#pragma once
// Capability handling with libcap-ng: leaving root for an unprivileged user while keeping CAP_NET_ADMIN and
// CAP_NET_RAW where a child can inherit them (permitted, inheritable, ambient), never effective.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/sys/result.hpp"

namespace vigil::common::sys {

// The five capability sets of a process, as bit masks (bit N = capability N), as /proc/PID/status shows them.
struct CapabilitySets {
    std::uint64_t effective = 0;
    std::uint64_t permitted = 0;
    std::uint64_t inheritable = 0;
    std::uint64_t ambient = 0;
    std::uint64_t bounding = 0;
};

// The mask of one capability.
constexpr std::uint64_t cap_bit(int cap) {
    return std::uint64_t{1} << cap;
}

// Reads the sets of `pid` (0: this process) from /proc/PID/status.
Result<CapabilitySets> read_capabilities(pid_t pid = 0);

// Parses the Cap* lines of a /proc/PID/status text.
Result<CapabilitySets> parse_proc_status_caps(const std::string& status_text);

// "CAP_NET_ADMIN, CAP_NET_RAW" (or "none") for a mask.
std::string describe_caps(std::uint64_t mask);

// A user to switch to.
struct UserIdentity {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// Looks `name` up in the user database, in a short-lived child process (no NSS module stays loaded in the
// caller). Call it while the process has one thread.
Result<UserIdentity> lookup_user(const std::string& name);

// Root only: reduces the bounding set to `keep`, switches to `user` (supplementary groups dropped), keeps
// `keep` in the permitted and inheritable sets only, then raises them in the ambient set. Effective ends
// empty.
Status drop_root(const UserIdentity& user, const std::vector<int>& keep);

// Not root (e.g. started by systemd with AmbientCapabilities=): clears the effective set and keeps `keep`
// (those of them the process has) in permitted, inheritable and ambient. Returns what is missing in the
// warning text.
Status drop_effective(const std::vector<int>& keep);

// Removes `cap` from this process's ambient set. Async-signal-safe (a bare prctl): used between fork and
// exec.
bool lower_ambient(int cap) noexcept;

}  // namespace vigil::common::sys
