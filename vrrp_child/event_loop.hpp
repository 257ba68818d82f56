#pragma once
// vigil-vrrp's hot descriptors (the engine's timerfd, the VRRP sockets), read straight from an epoll of their
// own, with the Asio loop nested inside it.
//
// An idle MASTER at advert_int 0.01 wakes a hundred times a second to send one advert. Through Asio (1.22)
// each wake-up went from epoll_wait through the reactor, a descriptor operation, the scheduler's queue and an
// executor to the handler, and starting the next read tried it at once (a read that finds nothing): a few
// microseconds of user time and a system call per advert, as much as the rest of the engine. Here the wake-up
// is epoll_wait, the callback and its read: the same system calls as keepalived's, less its timer re-arm.
//
// Everything else of the process (the parent's channel, netlink, scripts, signals, Asio's own timers) stays
// on the Asio loop, whose epoll descriptor is one of the descriptors watched here: when it is readable, run()
// lets Asio run what is ready (io_context::poll()). Asio offers no way to name that descriptor, so open()
// finds it: the process's one epoll descriptor once `io`'s reactor exists, which must also watch a timerfd
// (Asio's timers wake its epoll through it). Where that does not hold (another loop in the process, a build
// of Asio without epoll or timerfd), the loop falls back to running inside Asio: this epoll is then one of
// Asio's descriptors and run() is io_context::run(). Both modes behave the same; only the cost differs.

#include <sys/epoll.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "common/netlink/result.hpp"

namespace vigil::vrrp {

class EventLoop {
  public:
    using Callback = std::function<void()>;

    static common::netlink::Result<std::unique_ptr<EventLoop>> open(asio::io_context& io);

    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Calls `on_readable` on the loop while `fd` has input (level-triggered: a callback that leaves input
    // unread is called again). One callback per descriptor; the caller keeps `fd` open until remove(fd).
    common::netlink::Status add(int fd, Callback on_readable);
    // Stops watching `fd`; safe from any callback, its own included. Events already read for it are dropped.
    void remove(int fd);

    // A callback that may have left work on the Asio loop (it wrote to the parent, started a script, posted a
    // handler) calls this, so that run() lets Asio run before it waits again. Asio's own events (a read
    // completing, a timer) need no call: they wake its epoll.
    void wake_asio() { asio_due_ = true; }

    // Runs the callbacks and the Asio loop until `io` is stopped, or has no more work while nothing is
    // watched here (as io_context::run() returns).
    void run();
    // As run(), and returns at `limit` at the latest (for tests).
    void run_until(std::chrono::steady_clock::time_point limit);

    // True when Asio's loop runs inside this one (the fast mode); false in the fallback.
    bool nested() const { return asio_epoll_ >= 0; }

  private:
    EventLoop(asio::io_context& io, int epoll_fd, int asio_epoll_fd);
    void run_nested(std::optional<std::chrono::steady_clock::time_point> limit);
    void wait_in_asio();
    // Runs the callbacks of `n` events; returns true when one of them was Asio's epoll.
    bool dispatch(const epoll_event* events, int n);

    asio::io_context& io_;
    int epoll_fd_;
    int asio_epoll_;  // -1 in the fallback
    bool asio_due_ = false;
    std::vector<Callback> watches_;  // by descriptor
    std::size_t watched_ = 0;
    int dispatching_ = -1;  // the descriptor whose callback runs now
    Callback removed_;      // that callback, if it removed itself, until it returns
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;  // while watching
    std::optional<asio::posix::stream_descriptor> in_asio_;                           // the fallback
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::vrrp
