#include "common/log/throttle.hpp"

#include <catch2/catch.hpp>

using vigil::common::log::Throttle;
using namespace std::chrono_literals;

TEST_CASE("log throttle: the first line goes out, then one per interval") {
    Throttle t(10s);
    const Throttle::Clock::time_point start{};  // the clock's epoch: a first event there still logs
    CHECK(t.ready(start));
    CHECK_FALSE(t.ready(start + 1s));
    CHECK_FALSE(t.ready(start + 9s));
    CHECK(t.ready(start + 10s));
    CHECK_FALSE(t.ready(start + 19s));  // a whole interval from the last line, not from the first
    CHECK(t.ready(start + 20s));
}
