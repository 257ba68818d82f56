#pragma once
// An owned file descriptor: closed exactly once, movable, never copied.

#include <unistd.h>

#include <utility>

namespace vigil::common::ipc {

class UniqueFd {
  public:
    UniqueFd() = default;
    // Takes ownership of `fd` (-1 means none).
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    // The descriptor, still owned; -1 when none.
    int get() const { return fd_; }
    // True when a descriptor is held.
    explicit operator bool() const { return fd_ >= 0; }
    // Gives up ownership without closing.
    int release() { return std::exchange(fd_, -1); }
    // Closes the held descriptor (if any) and takes `fd`.
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

}  // namespace vigil::common::ipc
