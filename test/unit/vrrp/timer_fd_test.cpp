// TimerFd on a real timerfd and a real Asio loop (no root needed). Deadlines are tens of milliseconds apart
// so that a loaded machine's late wake-ups stay rare; where one would change a count, the test counts it too.
#include "vrrp_child/timer_fd.hpp"

#include <catch2/catch.hpp>

#include <vector>

#include <asio/post.hpp>

using namespace std::chrono_literals;
using vigil::vrrp::TimePoint;
using vigil::vrrp::TimerFd;

namespace {

TimePoint now() {
    return std::chrono::steady_clock::now();
}

// Runs `io` until it has no more work or `limit` passes.
void run_for(asio::io_context& io, std::chrono::milliseconds limit) {
    io.restart();
    io.run_for(limit);
}

}  // namespace

TEST_CASE("a TimerFd expires at its deadline, never before", "[vrrp][timer]") {
    asio::io_context io;
    std::vector<TimePoint> fired;
    auto timer = TimerFd::open(io, [&] {
        fired.push_back(now());
        io.stop();
    });
    REQUIRE(timer);
    const TimePoint at = now() + 30ms;
    timer.value()->arm(at);
    CHECK(timer.value()->deadline() == at);
    run_for(io, 2000ms);
    REQUIRE(fired.size() == 1);
    CHECK(fired[0] >= at);
    CHECK(!timer.value()->deadline());
}

TEST_CASE("a deadline set again from the expiry at the same distance makes no system call", "[vrrp][timer]") {
    // An idle master: each expiry sets the next one a period later. The first arm and the first re-arm (which
    // learns the period) set the timerfd; after that the kernel's repeat is the deadline asked for.
    asio::io_context io;
    constexpr auto kPeriod = 20ms;
    constexpr int kExpiries = 8;
    TimePoint deadline = now() + kPeriod;
    int expiries = 0;
    int late = 0;  // wake-ups after the next deadline had already passed: each may cost a re-arm
    bool early = false;
    std::unique_ptr<TimerFd> timer;
    auto opened = TimerFd::open(io, [&] {
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
    run_for(io, 5000ms);
    CHECK(expiries == kExpiries);
    CHECK_FALSE(early);
    // Every expiry setting the timer again would be 1 + 7 calls, and the cancel one more.
    CHECK(timer->settime_calls() <= static_cast<std::uint64_t>(2 + 2 * late + 1));
}

TEST_CASE("a TimerFd cancelled, or moved later, does not expire at the old deadline", "[vrrp][timer]") {
    asio::io_context io;
    std::vector<TimePoint> fired;
    auto timer = TimerFd::open(io, [&] { fired.push_back(now()); });
    REQUIRE(timer);

    timer.value()->arm(now() + 10ms);
    timer.value()->cancel();
    CHECK(!timer.value()->deadline());
    run_for(io, 60ms);
    CHECK(fired.empty());

    const TimePoint later = now() + 50ms;
    timer.value()->arm(now() + 10ms);
    timer.value()->arm(later);
    run_for(io, 150ms);
    REQUIRE(fired.size() == 1);
    CHECK(fired[0] >= later);
}

TEST_CASE("a repeating TimerFd whose callback sets nothing stops", "[vrrp][timer]") {
    asio::io_context io;
    int expiries = 0;
    std::unique_ptr<TimerFd> timer;
    auto opened = TimerFd::open(io, [&] {
        // The first expiry sets the next at 10 ms (the timerfd learns a 10 ms repeat); the second sets none.
        if (++expiries == 1) timer->arm(now() + 10ms);
    });
    REQUIRE(opened);
    timer = std::move(opened.value());
    timer->arm(now() + 10ms);
    run_for(io, 120ms);
    CHECK(expiries == 2);
    CHECK(!timer->deadline());
}

TEST_CASE("an expiry read for a deadline replaced since does not fire the new one early", "[vrrp][timer]") {
    // The callback sets a deadline that has already passed: Asio's read at the end of the callback finds that
    // expiry at once, and its completion waits behind a handler posted meanwhile, which moves the deadline
    // 50 ms on. That count belongs to the replaced deadline.
    asio::io_context io;
    std::unique_ptr<TimerFd> timer;
    std::vector<TimePoint> fired;
    TimePoint later{};
    auto opened = TimerFd::open(io, [&] {
        fired.push_back(now());
        if (fired.size() == 1) {
            timer->arm(now() - 1ms);
            asio::post(io, [&] {
                later = now() + 50ms;
                timer->arm(later);
            });
        } else {
            io.stop();
        }
    });
    REQUIRE(opened);
    timer = std::move(opened.value());
    timer->arm(now() + 5ms);
    run_for(io, 2000ms);
    REQUIRE(fired.size() == 2);
    CHECK(fired[1] >= later);
}

TEST_CASE("a TimerFd may be destroyed by its own callback", "[vrrp][timer]") {
    asio::io_context io;
    std::unique_ptr<TimerFd> timer;
    int expiries = 0;
    auto opened = TimerFd::open(io, [&] {
        ++expiries;
        timer.reset();
    });
    REQUIRE(opened);
    timer = std::move(opened.value());
    timer->arm(now() + 5ms);
    run_for(io, 100ms);
    CHECK(expiries == 1);
    CHECK(!timer);
}
