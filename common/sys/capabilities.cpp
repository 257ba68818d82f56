#include "common/sys/capabilities.hpp"

#include <cap-ng.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace vigil::common::sys {

namespace {

std::string errno_text(int err) {
    return std::strerror(err);
}

bool parse_hex(const std::string& text, std::uint64_t& out) {
    if (text.empty() || text.size() > 16) return false;
    std::uint64_t v = 0;
    for (char c : text) {
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        v = (v << 4) | static_cast<std::uint64_t>(d);
    }
    out = v;
    return true;
}

std::uint64_t mask_of(const std::vector<int>& caps) {
    std::uint64_t m = 0;
    for (int c : caps) m |= cap_bit(c);
    return m;
}

Status raise_ambient(const std::vector<int>& caps) {
    for (int c : caps) {
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0)
            return {"cannot raise " + describe_caps(cap_bit(c)) +
                    " in the ambient set: " + errno_text(errno)};
    }
    return {};
}

}  // namespace

Result<CapabilitySets> parse_proc_status_caps(const std::string& status_text) {
    CapabilitySets sets;
    int found = 0;
    std::istringstream in(status_text);
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto key = line.substr(0, colon);
        std::uint64_t* field = nullptr;
        if (key == "CapEff")
            field = &sets.effective;
        else if (key == "CapPrm")
            field = &sets.permitted;
        else if (key == "CapInh")
            field = &sets.inheritable;
        else if (key == "CapAmb")
            field = &sets.ambient;
        else if (key == "CapBnd")
            field = &sets.bounding;
        if (field == nullptr) continue;
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        if (!parse_hex(value, *field))
            return Result<CapabilitySets>::failure("bad value in line '" + line + "'");
        ++found;
    }
    if (found != 5)
        return Result<CapabilitySets>::failure("expected 5 Cap* lines, found " + std::to_string(found));
    return sets;
}

Result<CapabilitySets> read_capabilities(pid_t pid) {
    std::string path = pid == 0 ? "/proc/self/status" : "/proc/" + std::to_string(pid) + "/status";
    std::ifstream in(path);
    if (!in) return Result<CapabilitySets>::failure("cannot read " + path);
    std::stringstream buf;
    buf << in.rdbuf();
    return parse_proc_status_caps(buf.str());
}

std::string describe_caps(std::uint64_t mask) {
    std::string out;
    for (int c = 0; c < 64; ++c) {
        if ((mask & cap_bit(c)) == 0) continue;
        const char* name = capng_capability_to_name(static_cast<unsigned>(c));
        std::string upper = name != nullptr ? name : std::to_string(c);
        for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (!out.empty()) out += ", ";
        out += "CAP_" + upper;
    }
    return out.empty() ? "none" : out;
}

Result<UserIdentity> lookup_user(const std::string& name) {
    // The lookup runs in a child process that exits at once: getpwnam loads the NSS modules that
    // nsswitch.conf names (nss_systemd, nss_ldap...), which would stay mapped in the caller for the rest of
    // its life, its largest private mapping after its own code. The caller is single-threaded here (vigild
    // at start-up), so the child may use malloc and the loader.
    struct Reply {
        int rc = 0;
        int found = 0;
        uid_t uid = 0;
        gid_t gid = 0;
    };
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return Result<UserIdentity>::failure("looking up user '" + name + "': pipe: " + errno_text(errno));
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        return Result<UserIdentity>::failure("looking up user '" + name + "': fork: " + errno_text(err));
    }
    if (pid == 0) {
        ::close(fds[0]);
        Reply r;
        passwd pw{};
        passwd* found = nullptr;
        std::vector<char> buf(16384);
        r.rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
        if (r.rc == 0 && found != nullptr) {
            r.found = 1;
            r.uid = pw.pw_uid;
            r.gid = pw.pw_gid;
        }
        const bool sent = ::write(fds[1], &r, sizeof r) == static_cast<ssize_t>(sizeof r);
        ::_exit(sent ? 0 : 1);
    }
    ::close(fds[1]);
    Reply r;
    ssize_t n;
    do {
        n = ::read(fds[0], &r, sizeof r);
    } while (n < 0 && errno == EINTR);
    const int read_err = errno;
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(sizeof r))
        return Result<UserIdentity>::failure(
            "looking up user '" + name + "': the lookup process " +
            (n < 0 ? "could not be read: " + errno_text(read_err) : std::string("ended without an answer")));
    if (r.rc != 0)
        return Result<UserIdentity>::failure("looking up user '" + name + "': " + errno_text(r.rc));
    if (!r.found) return Result<UserIdentity>::failure("no user named '" + name + "'");
    return UserIdentity{name, r.uid, r.gid};
}

Status drop_root(const UserIdentity& user, const std::vector<int>& keep) {
    capng_clear(CAPNG_SELECT_ALL);
    for (int c : keep) {
        if (capng_update(CAPNG_ADD,
                         static_cast<capng_type_t>(CAPNG_PERMITTED | CAPNG_INHERITABLE | CAPNG_BOUNDING_SET),
                         static_cast<unsigned>(c)) != 0)
            return {"capng_update failed for " + describe_caps(cap_bit(c))};
    }
    // The bounding set goes first, while CAP_SETPCAP is still effective. capng_change_id's
    // CAPNG_CLEAR_BOUNDING would empty it altogether; applying our own set leaves exactly `keep`, as
    // systemd's CapabilityBoundingSet=.
    if (int rc = capng_apply(CAPNG_SELECT_BOUNDS); rc != 0)
        return {"cannot reduce the bounding set (capng_apply " + std::to_string(rc) + ")"};
    if (int rc = capng_change_id(static_cast<int>(user.uid), static_cast<int>(user.gid), CAPNG_DROP_SUPP_GRP);
        rc != 0)
        return {"cannot switch to user " + user.name + " (capng_change_id " + std::to_string(rc) +
                "): " + errno_text(errno)};
    if (getuid() != user.uid || geteuid() != user.uid || getgid() != user.gid)
        return {"switch to user " + user.name + " did not take"};
    if (auto st = raise_ambient(keep); !st) return st;
    auto now = read_capabilities();
    if (!now) return {now.error()};
    const auto want = mask_of(keep);
    const auto& s = now.value();
    if (s.effective != 0 || s.permitted != want || s.inheritable != want || s.ambient != want ||
        s.bounding != want)
        return {"capability sets not as intended after the switch: effective " + describe_caps(s.effective) +
                "; permitted " + describe_caps(s.permitted) + "; bounding " + describe_caps(s.bounding)};
    return {};
}

Status drop_effective(const std::vector<int>& keep) {
    auto before = read_capabilities();
    if (!before) return {before.error()};
    std::vector<int> have;
    std::string missing;
    for (int c : keep) {
        if (before.value().permitted & cap_bit(c))
            have.push_back(c);
        else
            missing += (missing.empty() ? "" : ", ") + describe_caps(cap_bit(c));
    }
    capng_clear(CAPNG_SELECT_BOTH);
    for (int c : have)
        capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_PERMITTED | CAPNG_INHERITABLE),
                     static_cast<unsigned>(c));
    if (int rc = capng_apply(CAPNG_SELECT_CAPS); rc != 0)
        return {"cannot clear the effective set (capng_apply " + std::to_string(rc) + ")"};
    // Anything else in the ambient set goes; ours are raised again (capset may have lowered them).
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (auto st = raise_ambient(have); !st) return st;
    if (!missing.empty()) return {"the process lacks " + missing + ": children will not get it"};
    return {};
}

bool lower_ambient(int cap) noexcept {
    return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, cap, 0, 0) == 0;
}

}  // namespace vigil::common::sys
