#include "common/sys/pid_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vigil::common::sys {

Result<PidFile> PidFile::create(const std::string& path) {
    using R = Result<PidFile>;
    common::ipc::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) return R::failure("cannot open pid file " + path + ": " + std::strerror(errno));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {};
        auto n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
        std::string holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "?";
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
        return R::failure("pid file " + path + " is held by a running process (pid " + holder +
                          "): another vigild uses it; give each instance its own --pid-file");
    }
    auto text = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd.get(), 0) != 0 ||
        ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
        return R::failure("cannot write pid file " + path + ": " + std::strerror(errno));
    return PidFile(path, std::move(fd));
}

PidFile::~PidFile() {
    // May fail once we are unprivileged and the folder is root's: the lock is gone with the descriptor
    // anyway, so a stale file never blocks the next start.
    if (fd_) ::unlink(path_.c_str());
}

Status ensure_runtime_dir(const std::string& dir, uid_t uid, gid_t gid) {
    if (dir.empty()) return {};
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return {dir + " exists and is not a folder"};
        return {};
    }
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        return {"cannot create " + dir + ": " + std::strerror(errno)};
    if (::geteuid() == 0 && ::chown(dir.c_str(), uid, gid) != 0)
        return {"cannot give " + dir + " to uid " + std::to_string(uid) + ": " + std::strerror(errno)};
    return {};
}

}  // namespace vigil::common::sys
