#include "vrrp_child/timer_fd.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace vigil::vrrp {

namespace {

timespec to_timespec(std::chrono::nanoseconds ns) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(ns.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns.count() % 1'000'000'000);
    return ts;
}

}  // namespace

common::netlink::Result<std::unique_ptr<TimerFd>> TimerFd::open(asio::io_context& io, Callback on_expiry) {
    const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return common::netlink::os_error(errno, "timerfd_create");
    std::unique_ptr<TimerFd> timer(new TimerFd(io, fd, std::move(on_expiry)));
    timer->wait();
    return timer;
}

TimerFd::TimerFd(asio::io_context& io, int fd, Callback on_expiry)
    : descriptor_(io, fd), on_expiry_(std::move(on_expiry)) {}

TimerFd::~TimerFd() {
    *alive_ = false;
    asio::error_code ignored;
    descriptor_.close(ignored);
}

void TimerFd::arm(TimePoint at) {
    std::chrono::nanoseconds period{0};
    if (fired_ && at > *fired_) period = at - *fired_;
    if (next_ == at && (!fired_ || period == period_)) {
        touched_ = true;
        return;  // the kernel already delivers this expiry (an idle master's next advert)
    }
    set(at, period);
}

void TimerFd::cancel() {
    if (next_) set(std::nullopt, std::chrono::nanoseconds{0});
    touched_ = true;
}

void TimerFd::set(std::optional<TimePoint> at, std::chrono::nanoseconds period) {
    itimerspec spec{};
    if (at) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at->time_since_epoch());
        if (ns.count() <= 0) ns = std::chrono::nanoseconds(1);  // an all-zero it_value would disarm
        spec.it_value = to_timespec(ns);
        spec.it_interval = to_timespec(period);
    }
    ++settime_calls_;
    if (::timerfd_settime(descriptor_.native_handle(), TFD_TIMER_ABSTIME, &spec, nullptr) < 0) {
        // Only a bad descriptor or value gets here; the loop keeps running on the other events.
        spdlog::error("timerfd_settime: {}", std::strerror(errno));
        next_.reset();
        period_ = std::chrono::nanoseconds{0};
        touched_ = true;
        return;
    }
    next_ = at;
    period_ = at ? period : std::chrono::nanoseconds{0};
    touched_ = true;
}

void TimerFd::wait() {
    // A read, not async_wait: Asio (1.22) re-registers the descriptor with epoll_ctl for every async_wait,
    // but a read is first tried at once (a failed read of the timerfd costs less) and then waits for the
    // event.
    descriptor_.async_read_some(asio::buffer(&ticks_, sizeof ticks_),
                                [this, alive = alive_](const asio::error_code& ec, std::size_t n) {
                                    if (!*alive || ec == asio::error::operation_aborted) return;
                                    on_read(ec, n);
                                });
}

void TimerFd::on_read(const asio::error_code& ec, std::size_t n) {
    // EAGAIN never gets here (the read waits for the next event).
    if (!ec && n == sizeof ticks_ && ticks_ > 0 && next_) {
        const TimePoint fired = *next_ + period_ * static_cast<std::int64_t>(ticks_ - 1);
        // A count read for a deadline that arm() has since replaced: Asio's immediate read at the end of the
        // previous callback can succeed (that deadline had passed) and its completion run only after other
        // handlers of the same wake-up, one of which set the timerfd again. What the kernel now holds is
        // still to come: the count belongs to no deadline in force.
        if (std::chrono::steady_clock::now() < fired) {
            wait();
            return;
        }
        if (period_.count() > 0)
            next_ = fired + period_;
        else
            next_.reset();
        fired_ = fired;
        touched_ = false;
        auto alive = alive_;  // the callback may destroy this timer
        if (on_expiry_) on_expiry_();
        if (!*alive) return;
        fired_.reset();
        // A repeating timerfd that the callback neither armed nor cancelled would wake the loop for nothing.
        if (!touched_ && next_) set(std::nullopt, std::chrono::nanoseconds{0});
    } else if (ec) {
        spdlog::error("timerfd read: {}", ec.message());
    }
    wait();
}

}  // namespace vigil::vrrp
