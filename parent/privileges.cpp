#include "parent/privileges.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace vigil::parent {

using common::ipc::UniqueFd;
using common::sys::Result;
using common::sys::UserIdentity;

Result<UserIdentity> choose_user(const std::optional<std::string>& requested) {
    if (requested) return common::sys::lookup_user(*requested);
    if (auto vigil = common::sys::lookup_user("vigil")) return vigil;
    return common::sys::lookup_user("nobody");
}

namespace {

std::string parent_dir(const std::string& path) {
    return std::filesystem::path(path).parent_path().string();
}

Result<UniqueFd> bind_control_socket(const std::string& path, const UserIdentity& user) {
    using R = Result<UniqueFd>;
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) return R::failure("control socket path too long: " + path);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return R::failure(std::string("socket: ") + std::strerror(errno));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    // A socket left by a previous run: the pid file lock already proved that no live vigild owns it.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
    // Created 0660 from the start: no window in which another user could connect.
    const mode_t old = ::umask(0117);
    const int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    if (rc != 0) return R::failure("cannot bind control socket " + path + ": " + std::strerror(errno));
    if (::geteuid() == 0 && ::chown(path.c_str(), user.uid, user.gid) != 0)
        return R::failure("cannot give control socket " + path + " to " + user.name + ": " +
                          std::strerror(errno));
    if (::chmod(path.c_str(), 0660) != 0)
        return R::failure("cannot chmod control socket " + path + ": " + std::strerror(errno));
    if (::listen(fd.get(), 16) != 0) return R::failure(std::string("listen: ") + std::strerror(errno));
    return fd;
}

}  // namespace

Result<StartResources> acquire_start_resources(const std::string& pid_file, const std::string& control_socket,
                                               const UserIdentity& user) {
    using R = Result<StartResources>;
    StartResources res;
    const bool root = ::geteuid() == 0;
    res.uid = root ? user.uid : ::geteuid();
    res.gid = root ? user.gid : ::getegid();
    for (const auto& path : {pid_file, control_socket}) {
        if (auto st = common::sys::ensure_runtime_dir(parent_dir(path), res.uid, res.gid); !st)
            return R::failure(st.error);
    }
    if (!pid_file.empty()) {
        auto pf = common::sys::PidFile::create(pid_file);
        if (!pf) return R::failure(pf.error());
        res.pid_file.emplace(std::move(pf.value()));
    }
    auto sock = bind_control_socket(control_socket, user);
    if (!sock) return R::failure(sock.error());
    res.control_socket = std::move(sock.value());
    return res;
}

Result<std::string> drop_privileges(const UserIdentity& user) {
    std::vector<int> keep(std::begin(kChildCapabilities), std::end(kChildCapabilities));
    if (::geteuid() == 0 && ::getuid() == 0) {
        if (user.uid == 0) return Result<std::string>::failure("refusing to run as root: choose --user");
        if (auto st = common::sys::drop_root(user, keep); !st) return Result<std::string>::failure(st.error);
        return std::string();
    }
    auto st = common::sys::drop_effective(keep);
    return st.error;  // a warning at most: the daemon runs, children say what they miss
}

}  // namespace vigil::parent
