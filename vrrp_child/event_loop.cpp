#include "vrrp_child/event_loop.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

namespace vigil::vrrp {

namespace {

// The epoll descriptors open in this process.
std::vector<int> epoll_descriptors() {
    std::vector<int> out;
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return out;
    const int own = ::dirfd(dir);
    while (const dirent* e = ::readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0' || fd == own) continue;
        char target[64];
        const std::string link = std::string("/proc/self/fd/") + e->d_name;
        const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (std::strcmp(target, "anon_inode:[eventpoll]") == 0) out.push_back(static_cast<int>(fd));
    }
    ::closedir(dir);
    return out;
}

// Asio's epoll descriptor, or -1 when it cannot be told for certain.
int find_asio_epoll(asio::io_context& io) {
#if defined(ASIO_HAS_EPOLL) && defined(ASIO_HAS_TIMERFD) && !defined(ASIO_HAS_IO_URING_AS_DEFAULT)
    // A descriptor object makes Asio create its reactor (if nothing did before): an epoll descriptor that
    // also watches a timerfd for Asio's timers.
    { asio::posix::stream_descriptor probe(io); }
    const auto found = epoll_descriptors();
    if (found.size() == 1) return found.front();
    spdlog::debug("event loop: {} epoll descriptors in this process, Asio's cannot be told", found.size());
#else
    (void)io;
#endif
    return -1;
}

}  // namespace

common::netlink::Result<std::unique_ptr<EventLoop>> EventLoop::open(asio::io_context& io) {
    const int asio_epoll = find_asio_epoll(io);
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return common::netlink::os_error(errno, "epoll_create1");
    std::unique_ptr<EventLoop> loop(new EventLoop(io, fd, asio_epoll));
    if (asio_epoll >= 0) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = -1;  // Asio's
        if (::epoll_ctl(fd, EPOLL_CTL_ADD, asio_epoll, &ev) < 0) {
            spdlog::debug("event loop: cannot watch Asio's epoll: {}", std::strerror(errno));
            loop->asio_epoll_ = -1;
        }
    }
    if (!loop->nested()) loop->in_asio_.emplace(io, fd);
    return loop;
}

EventLoop::EventLoop(asio::io_context& io, int epoll_fd, int asio_epoll_fd)
    : io_(io), epoll_fd_(epoll_fd), asio_epoll_(asio_epoll_fd) {}

EventLoop::~EventLoop() {
    *alive_ = false;
    if (in_asio_) {
        asio::error_code ignored;
        in_asio_->cancel(ignored);
        in_asio_->release();
    }
    ::close(epoll_fd_);
}

common::netlink::Status EventLoop::add(int fd, Callback on_readable) {
    if (fd < 0) return common::netlink::os_error(EBADF, "epoll_ctl");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0)
        return common::netlink::os_error(errno, "epoll_ctl");
    if (static_cast<std::size_t>(fd) >= watches_.size()) watches_.resize(static_cast<std::size_t>(fd) + 1);
    watches_[static_cast<std::size_t>(fd)] = std::move(on_readable);
    // Asio's loop is kept running while something is watched: by a guard when nested, by the wait otherwise.
    if (++watched_ == 1) {
        if (nested())
            work_.emplace(io_.get_executor());
        else
            wait_in_asio();
    }
    return common::netlink::success();
}

void EventLoop::remove(int fd) {
    if (fd < 0 || static_cast<std::size_t>(fd) >= watches_.size() || !watches_[static_cast<std::size_t>(fd)])
        return;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    auto& slot = watches_[static_cast<std::size_t>(fd)];
    if (fd == dispatching_) removed_ = std::move(slot);  // destroyed once it has returned
    slot = nullptr;
    if (--watched_ == 0) {
        work_.reset();
        if (in_asio_) {
            asio::error_code ignored;
            in_asio_->cancel(ignored);  // its handler sees operation_aborted
        }
    }
}

bool EventLoop::dispatch(const epoll_event* events, int n) {
    bool asio_ready = false;
    const auto alive = alive_;
    for (int i = 0; i < n && *alive; ++i) {
        const int fd = events[i].data.fd;
        if (fd < 0) {
            asio_ready = true;
            continue;
        }
        // Removed by an earlier callback of this batch (its number may even be watched again since: a
        // level-triggered callback called once too often finds nothing to read).
        if (static_cast<std::size_t>(fd) >= watches_.size() || !watches_[static_cast<std::size_t>(fd)])
            continue;
        dispatching_ = fd;
        try {
            watches_[static_cast<std::size_t>(fd)]();
        } catch (const std::exception& e) {
            spdlog::error("event loop: callback for descriptor {} threw: {}", fd, e.what());
        }
        if (!*alive) return asio_ready;
        dispatching_ = -1;
        removed_ = nullptr;
    }
    return asio_ready;
}

void EventLoop::run() {
    if (nested())
        run_nested(std::nullopt);
    else
        io_.run();
}

void EventLoop::run_until(std::chrono::steady_clock::time_point limit) {
    if (nested())
        run_nested(limit);
    else
        io_.run_until(limit);
}

void EventLoop::run_nested(std::optional<std::chrono::steady_clock::time_point> limit) {
    constexpr int kEvents = 16;
    epoll_event events[kEvents];
    const auto alive = alive_;
    // What Asio has ready before the first wait (handlers posted before run()).
    io_.poll();
    while (*alive && !io_.stopped()) {
        int timeout = -1;
        if (limit) {
            const auto left =
                std::chrono::ceil<std::chrono::milliseconds>(*limit - std::chrono::steady_clock::now());
            if (left.count() <= 0) return;
            timeout = static_cast<int>(std::min<long long>(left.count(), 1'000'000));
        }
        const int n = ::epoll_wait(epoll_fd_, events, kEvents, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            // Only a bad descriptor gets here; Asio's loop goes on alone.
            spdlog::error("event loop: epoll_wait: {}", std::strerror(errno));
            if (limit)
                io_.run_until(*limit);
            else
                io_.run();
            return;
        }
        const bool asio_ready = dispatch(events, n);
        if (!*alive) return;
        if (asio_ready || asio_due_) {
            asio_due_ = false;
            io_.poll();
        }
    }
}

void EventLoop::wait_in_asio() {
    in_asio_->async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, alive = alive_](const asio::error_code& ec) {
                             if (!*alive || ec == asio::error::operation_aborted) return;
                             if (ec) {
                                 spdlog::error("event loop: wait failed: {}", ec.message());
                                 return;
                             }
                             constexpr int kEvents = 16;
                             epoll_event events[kEvents];
                             const int n = ::epoll_wait(epoll_fd_, events, kEvents, 0);
                             if (n > 0) dispatch(events, n);
                             if (*alive && watched_ > 0) wait_in_asio();
                         });
}

}  // namespace vigil::vrrp
