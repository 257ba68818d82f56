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

common::netlink::Result<std::unique_ptr<TimerFd>> TimerFd::open(EventLoop& loop, Callback on_expiry) {
    const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return common::netlink::os_error(errno, "timerfd_create");
    std::unique_ptr<TimerFd> timer(new TimerFd(loop, fd, std::move(on_expiry)));
    if (auto s = loop.add(fd, [t = timer.get()] { t->on_readable(); }); !s) return s.error();
    return timer;
}

TimerFd::TimerFd(EventLoop& loop, int fd, Callback on_expiry)
    : loop_(loop), fd_(fd), on_expiry_(std::move(on_expiry)) {}

TimerFd::~TimerFd() {
    *alive_ = false;
    loop_.remove(fd_);
    ::close(fd_);
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
    if (::timerfd_settime(fd_, TFD_TIMER_ABSTIME, &spec, nullptr) < 0) {
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

void TimerFd::on_readable() {
    std::uint64_t ticks = 0;
    const ssize_t n = ::read(fd_, &ticks, sizeof ticks);
    if (n < 0) {
        // EAGAIN: another callback of the same wake-up set the timerfd again, which resets its count. The
        // loop calls again when the new deadline comes.
        if (errno != EAGAIN && errno != EINTR) spdlog::error("timerfd read: {}", std::strerror(errno));
        return;
    }
    if (n != sizeof ticks || ticks == 0 || !next_) return;
    // The count is the kernel's for the setting in force (timerfd_settime resets it): the first of them was
    // next_, the later ones a period apart.
    const TimePoint fired = *next_ + period_ * static_cast<std::int64_t>(ticks - 1);
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
}

}  // namespace vigil::vrrp
