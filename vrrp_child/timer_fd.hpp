#pragma once
// The engine's one deadline, on a timerfd of its own, read straight from vigil-vrrp's EventLoop.
//
// An idle MASTER's Adver_Timer comes round at the same distance every time. A deadline set from inside the
// expiry callback is armed to repeat at that distance (the timerfd's it_interval), so the next arm() asks
// for the expiry the kernel is already going to deliver and makes no system call. An advert then costs the
// wake-up, the read of the timerfd, Asio's immediate try at the next read (which finds nothing) and the send:
// as many system calls as keepalived's read and re-arm. Any other deadline (earlier, later, set from outside
// the callback) sets the timerfd again, one-shot unless it is again set from the callback. Asio's
// steady_timer cost two timerfd_settime calls per advert: its reactor re-arms its timerfd after running the
// timers, and the new wait re-arms it again.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "common/netlink/result.hpp"
#include "vrrp_child/clock.hpp"
#include "vrrp_child/event_loop.hpp"

namespace vigil::vrrp {

class TimerFd {
  public:
    using Callback = std::function<void()>;

    // A CLOCK_MONOTONIC timerfd (the clock of std::chrono::steady_clock) on `loop`, which must outlive it;
    // `on_expiry` runs on the loop when an armed deadline is reached, never before it.
    static common::netlink::Result<std::unique_ptr<TimerFd>> open(EventLoop& loop, Callback on_expiry);

    ~TimerFd();
    TimerFd(const TimerFd&) = delete;
    TimerFd& operator=(const TimerFd&) = delete;

    // Expires at `at` (at once if it has passed), replacing any earlier deadline.
    void arm(TimePoint at);
    // Nothing expires until the next arm().
    void cancel();

    // The deadline the kernel will deliver next, if any.
    std::optional<TimePoint> deadline() const { return next_; }
    // How many times the timerfd was set (timerfd_settime calls), for tests and benchmarks.
    std::uint64_t settime_calls() const { return settime_calls_; }

  private:
    TimerFd(EventLoop& loop, int fd, Callback on_expiry);
    void on_readable();
    void set(std::optional<TimePoint> at, std::chrono::nanoseconds period);

    EventLoop& loop_;
    int fd_;
    Callback on_expiry_;
    std::optional<TimePoint> next_;       // the kernel's next expiry
    std::chrono::nanoseconds period_{0};  // its it_interval; 0 for one-shot
    std::optional<TimePoint> fired_;      // the expiry being delivered, while on_expiry_ runs
    bool touched_ = false;                // arm() or cancel() was called since the callback began
    std::uint64_t settime_calls_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::vrrp
