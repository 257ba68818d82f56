// The keeper on a kernel without IPVS (this build machine): set_desired never throws, the loop keeps running,
// the keeper retries with a growing delay (5 ms doubling here) and reports the kernel's reason. (The synced
// path runs in the vm.)

#include <catch2/catch.hpp>

#include <unistd.h>

#include <asio/io_context.hpp>

#include "checker_child/ipvs_keeper.hpp"

using namespace vigil::check;

TEST_CASE("without IPVS the keeper keeps retrying on the loop and reports why", "[ipvs][keeper]") {
    if (::access("/proc/net/ip_vs", F_OK) == 0) return;  // a kernel with IPVS: the vm tests cover it
    asio::io_context io;
    IpvsKeeper::Options options;
    options.retry_base = std::chrono::milliseconds(5);
    IpvsKeeper keeper(io, options);
    std::vector<std::chrono::steady_clock::time_point> attempts;
    std::string last_error;
    keeper.on_synced([&](const SyncReport& r) {
        CHECK_FALSE(r.ok);
        attempts.push_back(std::chrono::steady_clock::now());
        last_error = r.error;
    });
    IpvsTable desired;
    Service s;
    s.key.protocol = IPPROTO_TCP;
    s.key.address = *parse_ip("10.0.0.1");
    s.key.port = 80;
    desired.put_service(s);
    Ownership owned;
    owned.add(desired);
    keeper.set_desired(desired, owned);
    keeper.set_desired(desired, owned);  // coalesced with the pending sync: no extra attempt
    io.poll();
    CHECK(attempts.size() == 1);  // two calls, one sync
    // Timers never fire early, so each gap is at least its nominal delay: 5, 10, 20, 40 ms.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (attempts.size() < 5 && std::chrono::steady_clock::now() < deadline)
        io.run_one_for(std::chrono::seconds(1));
    REQUIRE(attempts.size() == 5);
    for (std::size_t i = 1; i < attempts.size(); ++i)
        CHECK(attempts[i] - attempts[i - 1] >= std::chrono::milliseconds(5) * (1 << (i - 1)));
    CHECK_FALSE(keeper.in_sync());
    CHECK_FALSE(keeper.status().available);
    CHECK_THAT(last_error, Catch::Contains("IPVS"));
    CHECK_THAT(keeper.status().reason, Catch::Contains("IPVS"));
    keeper.stop();
    auto before = attempts.size();
    io.restart();
    io.run();  // returns at once: stop() cancelled the pending retry, nothing is left to run
    CHECK(attempts.size() == before);
}
