#pragma once
// vigild's privileges: what it acquires as root (pid file, control socket), then the switch to the
// unprivileged user keeping CAP_NET_ADMIN and CAP_NET_RAW only for its children (permitted, inheritable,
// ambient).

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/ipc/unique_fd.hpp"
#include "common/sys/capabilities.hpp"
#include "common/sys/pid_file.hpp"
#include "common/sys/result.hpp"

namespace vigil::parent {

// The capabilities the children may need; vigild itself never has them effective.
inline constexpr int kChildCapabilities[] = {12 /* CAP_NET_ADMIN */, 13 /* CAP_NET_RAW */};

// The user to run as: `requested` when given, else `vigil` when that user exists, else `nobody`.
common::sys::Result<common::sys::UserIdentity> choose_user(const std::optional<std::string>& requested);

// What vigild holds from its privileged start.
struct StartResources {
    std::optional<common::sys::PidFile> pid_file;
    common::ipc::UniqueFd control_socket;  // bound and listening
    uid_t uid = 0;                         // the daemon's own identity, once switched
    gid_t gid = 0;
};

// Creates the pid file and binds the control socket (mode 0660, owned by `user` when we are root), creating
// their folders when missing.
common::sys::Result<StartResources> acquire_start_resources(const std::string& pid_file,
                                                            const std::string& control_socket,
                                                            const common::sys::UserIdentity& user);

// Root: switches to `user` keeping the children's capabilities as described above. Not root: clears the
// effective set and keeps what it has of those capabilities in permitted/inheritable/ambient (systemd's
// AmbientCapabilities=). The returned text, when not empty, is a warning (e.g. a capability the process
// lacks).
common::sys::Result<std::string> drop_privileges(const common::sys::UserIdentity& user);

}  // namespace vigil::parent
