// TimerFd on a real timerfd and a real EventLoop, Asio's inside it (no root needed). Deadlines are tens of
// milliseconds apart so that a loaded machine's late wake-ups stay rare; where one would change a count, the
// test counts it too.
#include "vrrp_child/timer_fd.hpp"

#include <catch2/catch.hpp>

#include <vector>

#include <sys/eventfd.h>
#include <unistd.h>

using namespace std::chrono_literals;
using vigil::vrrp::TimePoint;
using vigil::vrrp::TimerFd;

namespace {

TimePoint now() {
    return std::chrono::steady_clock::now();
}

// An Asio loop and the EventLoop around it, as in vigil-vrrp.
struct Loop {
    asio::io_context io;
    std::unique_ptr<vigil::vrrp::EventLoop> loop = std::move(vigil::vrrp::EventLoop::open(io).value());

    // Runs until `io` is stopped or `limit` passes.
    void run_for(std::chrono::milliseconds limit) {
        io.restart();
        loop->run_until(now() + limit);
    }
};

}  // namespace

TEST_CASE("a TimerFd expires at its deadline, never before", "[vrrp][timer]") {
    Loop l;
    auto& io = l.io;
    std::vector<TimePoint> fired;
    auto timer = TimerFd::open(*l.loop, [&] {
        fired.push_back(now());
        io.stop();
    });
    REQUIRE(timer);
    const TimePoint at = now() + 30ms;
    timer.value()->arm(at);
    CHECK(timer.value()->deadline() == at);
    l.run_for(2000ms);
    REQUIRE(fired.size() == 1);
    CHECK(fired[0] >= at);
    CHECK(!timer.value()->deadline());
}

TEST_CASE("a deadline set again from the expiry at the same distance makes no system call", "[vrrp][timer]") {
    // An idle master: each expiry sets the next one a period later. The first arm and the first re-arm (which
    // learns the period) set the timerfd; after that the kernel's repeat is the deadline asked for.
    Loop l;
    auto& io = l.io;
    constexpr auto kPeriod = 20ms;
    constexpr int kExpiries = 8;
    TimePoint deadline = now() + kPeriod;
    int expiries = 0;
    int late = 0;  // wake-ups after the next deadline had already passed: each may cost a re-arm
    bool early = false;
    std::unique_ptr<TimerFd> timer;
    auto opened = TimerFd::open(*l.loop, [&] {
        const TimePoint t = now();
        if (t < deadline) early = true;
        if (t >= deadline + kPeriod) ++late;
        if (++expiries == kExpiries) {
            timer->cancel();
            io.stop();
            return;
        }
        deadline += kPeriod;
        timer->arm(deadline);
    });
    REQUIRE(opened);
    timer = std::move(opened.value());
    timer->arm(deadline);
    l.run_for(5000ms);
    CHECK(expiries == kExpiries);
    CHECK_FALSE(early);
    // Every expiry setting the timer again would be 1 + 7 calls, and the cancel one more.
    CHECK(timer->settime_calls() <= static_cast<std::uint64_t>(2 + 2 * late + 1));
}

TEST_CASE("a TimerFd cancelled, or moved later, does not expire at the old deadline", "[vrrp][timer]") {
    Loop l;
    std::vector<TimePoint> fired;
    auto timer = TimerFd::open(*l.loop, [&] { fired.push_back(now()); });
    REQUIRE(timer);

    timer.value()->arm(now() + 10ms);
    timer.value()->cancel();
    CHECK(!timer.value()->deadline());
    l.run_for(60ms);
    CHECK(fired.empty());

    const TimePoint later = now() + 50ms;
    timer.value()->arm(now() + 10ms);
    timer.value()->arm(later);
    l.run_for(150ms);
    REQUIRE(fired.size() == 1);
    CHECK(fired[0] >= later);
}

TEST_CASE("a repeating TimerFd whose callback sets nothing stops", "[vrrp][timer]") {
    Loop l;
    int expiries = 0;
    std::unique_ptr<TimerFd> timer;
    auto opened = TimerFd::open(*l.loop, [&] {
        // The first expiry sets the next at 10 ms (the timerfd learns a 10 ms repeat); the second sets none.
        if (++expiries == 1) timer->arm(now() + 10ms);
    });
    REQUIRE(opened);
    timer = std::move(opened.value());
    timer->arm(now() + 10ms);
    l.run_for(120ms);
    CHECK(expiries == 2);
    CHECK(!timer->deadline());
}

TEST_CASE("a deadline moved by another callback of the same wake-up fires at its new time", "[vrrp][timer]") {
    // An eventfd and the timer are both ready when the loop wakes, the eventfd first (epoll reports in the
    // order they became ready). Its callback moves the deadline 50 ms on, which resets the timerfd's count:
    // the timer's event of that wake-up must find nothing to deliver.
    Loop l;
    std::vector<TimePoint> fired;
    auto opened = TimerFd::open(*l.loop, [&] {
        fired.push_back(now());
        l.io.stop();
    });
    REQUIRE(opened);
    auto timer = std::move(opened.value());
    const int event = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    REQUIRE(event >= 0);
    TimePoint later{};
    REQUIRE(l.loop->add(event, [&] {
        std::uint64_t n = 0;
        REQUIRE(::read(event, &n, sizeof n) == sizeof n);
        later = now() + 50ms;
        timer->arm(later);
    }));
    const std::uint64_t one = 1;
    REQUIRE(::write(event, &one, sizeof one) == sizeof one);
    timer->arm(now() - 1ms);  // due at once, ready after the eventfd
    l.run_for(2000ms);
    l.loop->remove(event);
    ::close(event);
    REQUIRE(fired.size() == 1);
    CHECK(fired[0] >= later);
}

TEST_CASE("a TimerFd may be destroyed by its own callback", "[vrrp][timer]") {
    Loop l;
    std::unique_ptr<TimerFd> timer;
    int expiries = 0;
    auto opened = TimerFd::open(*l.loop, [&] {
        ++expiries;
        timer.reset();
    });
    REQUIRE(opened);
    timer = std::move(opened.value());
    timer->arm(now() + 5ms);
    l.run_for(100ms);
    CHECK(expiries == 1);
    CHECK(!timer);
}
