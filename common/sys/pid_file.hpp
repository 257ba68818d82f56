#pragma once
// The pid file: created and locked at start, so a second daemon with the same file refuses to start; removed
// at exit when the process still may.

#include <string>

#include "common/ipc/unique_fd.hpp"
#include "common/sys/result.hpp"

namespace vigil::common::sys {

class PidFile {
  public:
    // Creates (or takes over a stale) pid file at `path` holding this process's pid, locked for our lifetime.
    // Fails, naming the holder's pid, when another live process holds it.
    static Result<PidFile> create(const std::string& path);

    PidFile(PidFile&&) noexcept = default;
    PidFile& operator=(PidFile&&) noexcept = default;
    ~PidFile();

    // The file's path.
    const std::string& path() const { return path_; }

  private:
    PidFile(std::string path, common::ipc::UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
    std::string path_;
    common::ipc::UniqueFd fd_;
};

// Creates `dir` (mode 0755) when missing and, when we are root and created it, gives it to uid/gid so the
// unprivileged daemon can remove its files there at exit.
Status ensure_runtime_dir(const std::string& dir, uid_t uid, gid_t gid);

}  // namespace vigil::common::sys
