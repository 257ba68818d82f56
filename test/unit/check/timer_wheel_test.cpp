// The checker's timer wheel on a real loop: entries fire in deadline order, never before their deadline;
// cancelled, re-armed and destroyed entries behave; callbacks may arm and cancel others; due entries fire in
// batches with the loop running between them; now() inside a turn is recent.
#include <catch2/catch.hpp>

#include <memory>
#include <thread>
#include <vector>

#include "checker_child/timer_wheel.hpp"
#include "test/unit/check/support.hpp"

using namespace vigil::check;
using namespace std::chrono_literals;
using Clock = TimerWheel::Clock;

TEST_CASE("timer wheel: entries fire in deadline order, none before its deadline") {
    asio::io_context io;
    auto& wheel = TimerWheel::of(io.get_executor());
    const auto start = Clock::now();
    std::vector<int> order;
    std::vector<Clock::duration> late;
    std::vector<std::unique_ptr<TimerWheel::Entry>> entries;
    for (int i : {3, 0, 2, 1, 4}) {
        const auto at = start + i * 25ms;
        entries.push_back(std::make_unique<TimerWheel::Entry>([&order, &late, i, at] {
            order.push_back(i);
            late.push_back(Clock::now() - at);
        }));
        wheel.arm(*entries.back(), at, io.get_executor());
    }
    CHECK(wheel.size() == 5);
    REQUIRE(test::run_until(io, [&] { return order.size() == 5; }));
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
    for (auto d : late) CHECK(d >= Clock::duration::zero());
    CHECK(wheel.size() == 0);
}

TEST_CASE("timer wheel: a cancelled or destroyed entry does not fire; re-arming moves it") {
    asio::io_context io;
    auto& wheel = TimerWheel::of(io.get_executor());
    int a = 0, b = 0, c = 0;
    TimerWheel::Entry ea([&] { ++a; });
    TimerWheel::Entry eb([&] { ++b; });
    auto ec = std::make_unique<TimerWheel::Entry>([&] { ++c; });
    wheel.arm(ea, Clock::now() + 20ms, io.get_executor());
    wheel.arm(eb, Clock::now() + 20ms, io.get_executor());
    wheel.arm(*ec, Clock::now() + 20ms, io.get_executor());
    wheel.cancel(eb);
    CHECK_FALSE(eb.armed());
    ec.reset();  // destroyed while armed
    CHECK(wheel.size() == 1);
    const auto due = Clock::now() + 60ms;
    wheel.arm(ea, due, io.get_executor());  // re-armed later: fires once, not before `due`, then
    REQUIRE(test::run_until(io, [&] { return a == 1; }));
    CHECK(Clock::now() >= due);
    io.restart();
    io.run_for(50ms);
    CHECK(a == 1);
    CHECK(b == 0);
    CHECK(c == 0);
}

TEST_CASE("timer wheel: a callback may arm an entry already due and cancel one taken with it") {
    asio::io_context io;
    auto& wheel = TimerWheel::of(io.get_executor());
    int first = 0, second = 0, third = 0;
    TimerWheel::Entry e2([&] { ++second; });
    TimerWheel::Entry e3([&] { ++third; });
    TimerWheel::Entry e1([&] {
        ++first;
        wheel.cancel(e3);                                     // due in the same tick: must not fire
        wheel.arm(e2, Clock::now() - 1s, io.get_executor());  // already past: fires on a later tick
    });
    const auto at = Clock::now() + 20ms;
    wheel.arm(e1, at, io.get_executor());
    wheel.arm(e3, at, io.get_executor());
    REQUIRE(test::run_until(io, [&] { return second == 1; }));
    CHECK(first == 1);
    CHECK(third == 0);
    CHECK(wheel.size() == 0);
}

TEST_CASE("timer wheel: a wakeup fires a batch, lets the loop run, then fires the rest in order") {
    // The loop's other work (the checker's completions) runs between batches of due entries: what the first
    // entry posts runs after the first kBatch entries and before the rest, and an entry of a later batch
    // cancelled meanwhile does not fire.
    asio::io_context io;
    auto& wheel = TimerWheel::of(io.get_executor());
    const std::size_t total = 2 * TimerWheel::kBatch + 10;
    const auto at = Clock::now() + 20ms;
    std::vector<std::size_t> order;
    std::size_t posted_after = 0;
    std::vector<std::unique_ptr<TimerWheel::Entry>> entries(total);
    for (std::size_t i = 0; i < total; ++i) {
        entries[i] = std::make_unique<TimerWheel::Entry>([&, i] {
            order.push_back(i);
            if (i == 0) {
                asio::post(io, [&] {
                    posted_after = order.size();
                    entries[total - 1]->cancel();
                });
            }
        });
        wheel.arm(*entries[i], at, io.get_executor());
    }
    REQUIRE(test::run_until(io, [&] { return order.size() == total - 1; }));
    CHECK(posted_after == TimerWheel::kBatch);
    std::vector<std::size_t> expected(total - 1);
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = i;
    CHECK(order == expected);
    CHECK(wheel.size() == 0);
}

TEST_CASE(
    "timer wheel: now() is a turn's time, at most kRefresh callbacks old, and the clock outside turns") {
    asio::io_context io;
    auto& wheel = TimerWheel::of(io.get_executor());
    const std::size_t total = 3 * TimerWheel::kRefresh;
    std::vector<Clock::time_point> real, seen;
    std::vector<std::unique_ptr<TimerWheel::Entry>> entries(total);
    for (auto& e : entries) {
        e = std::make_unique<TimerWheel::Entry>([&] {
            real.push_back(Clock::now());
            seen.push_back(wheel.now());
            std::this_thread::sleep_for(1ms);  // a callback's work
        });
        wheel.arm(*e, Clock::now() + 10ms, io.get_executor());
    }
    REQUIRE(test::run_until(io, [&] { return real.size() == total; }));
    for (std::size_t i = 0; i < total; ++i) {
        CHECK(seen[i] <= real[i]);
        if (i >= TimerWheel::kRefresh) CHECK(seen[i] >= real[i - TimerWheel::kRefresh]);
    }
    const auto after = Clock::now();
    CHECK(wheel.now() >= after);
}

TEST_CASE("timer wheel: refresh() inside a turn makes now() the clock again after slow work") {
    asio::io_context io;
    auto& wheel = TimerWheel::of(io.get_executor());
    Clock::time_point before_work{}, after_work{}, seen_stale{}, seen_fresh{};
    TimerWheel::Entry entry([&] {
        before_work = Clock::now();
        std::this_thread::sleep_for(5ms);  // a fork for a notify script, say
        after_work = Clock::now();
        seen_stale = wheel.now();
        wheel.refresh();
        seen_fresh = wheel.now();
    });
    wheel.arm(entry, Clock::now() + 10ms, io.get_executor());
    REQUIRE(test::run_until(io, [&] { return seen_fresh != Clock::time_point{}; }));
    CHECK(seen_stale <= before_work);  // the turn's time, read before the callback ran
    CHECK(seen_fresh >= after_work);
}
