#include <catch2/catch.hpp>

#include "parent/backoff.hpp"

using vigil::parent::RestartBackoff;
using namespace std::chrono_literals;

TEST_CASE("a first crash restarts at once, then 1, 2, 4 ... s capped at 30 s") {
    RestartBackoff b;
    std::vector<long> seen;
    for (int i = 0; i < 9; ++i) seen.push_back(static_cast<long>(b.on_exit(500ms).count()));
    CHECK(seen == std::vector<long>{0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000});
}

TEST_CASE("a child that ran longer than 60 s restarts at once and the schedule starts over") {
    RestartBackoff b;
    (void)b.on_exit(1s);
    (void)b.on_exit(1s);
    CHECK(b.on_exit(1s) == 2s);
    CHECK(b.on_exit(61s) == 0s);
    CHECK(b.on_exit(1s) == 1s);
    CHECK(b.consecutive_failures() == 2);
}

TEST_CASE("exactly 60 s counts as a stable run") {
    RestartBackoff b;
    (void)b.on_exit(0s);
    CHECK(b.on_exit(60s) == 0s);
}
