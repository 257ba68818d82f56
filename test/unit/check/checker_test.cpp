// The checker child's handler (checker_child/checker.hpp) on a real loop: a config parsed from
// keepalived.conf text, TCP_CHECKs against a listener on 127.0.0.1 and a closed port, and the Status it gives
// the parent. This host has no IPVS: the keeper reports the backend unavailable and the checks run
// regardless.
#include <catch2/catch.hpp>

#include <string>

#include "checker_child/checker.hpp"
#include "common/config/config.hpp"
#include "test/unit/check/support.hpp"

using namespace vigil;
using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

struct NullUplink final : common::child::Uplink {
    int statuses = 0;
    int health = 0;     // of real servers (a Health without one is the virtual server's quorum)
    int timed_out = 0;  // of those, the ones down by timeout
    void send(ipc::Envelope e) override {
        if (!e.has_health() || e.health().real_server().empty()) return;
        ++health;
        timed_out += e.health().timed_out();
    }
    void send_status() override { ++statuses; }
};

// A port on 127.0.0.1 where nothing listens (bound, then closed).
std::uint16_t closed_port(asio::io_context& io) {
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return probe.local_endpoint().port();
}

// One virtual server with a TCP_CHECK (every second, connect_timeout 1, retry 0, no warmup) per port.
vigil::config::Config config_for(std::initializer_list<std::uint16_t> ports) {
    std::string text = "virtual_server 127.0.0.1 80 {\n    delay_loop 1\n    lb_kind NAT\n    protocol TCP\n";
    for (auto port : ports)
        text += "    real_server 127.0.0.1 " + std::to_string(port) +
                " {\n        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n"
                "            warmup 0\n        }\n    }\n";
    text += "}\n";
    common::config::ParseOptions options;
    options.config_id = "node1";
    auto parsed = common::config::parse_string(text, "test.conf", options);
    REQUIRE(parsed.ok());
    return parsed.config;
}

const status::RealServerStatus* find(const ipc::Status& s, std::uint32_t port) {
    for (const auto& vs : s.virtual_servers())
        for (const auto& rs : vs.real_servers())
            if (rs.port() == port) return &rs;
    return nullptr;
}

}  // namespace

TEST_CASE("checker: status names each real server's health, last result and reason") {
    asio::io_context io;
    check::test::BlackHole hole(io);  // connects to it hang until connect_timeout
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto up_port = acceptor.local_endpoint().port();
    const auto down_port = closed_port(io);
    const auto config = config_for({up_port, down_port, hole.port});

    check::Checker checker(io, false);
    NullUplink uplink;
    checker.start(uplink);
    REQUIRE(checker.prepare(1, config).empty());
    checker.commit(1);
    ipc::Status status;
    REQUIRE(check::test::run_until(io, [&] {
        status.Clear();
        checker.fill_status(status);
        const auto* up = find(status, up_port);
        const auto* down = find(status, down_port);
        const auto* silent = find(status, hole.port);
        return up && down && silent && up->last_result() != status::CHECK_RESULT_UNKNOWN &&
               down->last_result() != status::CHECK_RESULT_UNKNOWN &&
               silent->last_result() != status::CHECK_RESULT_UNKNOWN;
    }));
    const auto* up = find(status, up_port);
    const auto* down = find(status, down_port);
    CHECK(up->healthy());
    CHECK(up->last_result() == status::CHECK_RESULT_SUCCESS);
    CHECK(up->reason() == "connected");
    CHECK_FALSE(down->healthy());
    CHECK(down->last_result() == status::CHECK_RESULT_FAILURE);
    CHECK(down->reason() == "connection refused");
    const auto* silent = find(status, hole.port);
    CHECK_FALSE(silent->healthy());
    CHECK(silent->last_result() == status::CHECK_RESULT_TIMEOUT);
    CHECK(silent->reason() == "timeout after 1 s");
    CHECK(uplink.health == 2);  // the refused one and the silent one changed
    CHECK(uplink.timed_out == 1);
    CHECK_FALSE(status.ipvs().available());
    CHECK_FALSE(status.ipvs().reason().empty());
    bool stopped = false;
    checker.stop([&] { stopped = true; });
    CHECK(stopped);
}

TEST_CASE("checker: a server handed over by the previous checker shows this one's results once checked") {
    asio::io_context io;
    const auto down_port = closed_port(io);
    const auto config = config_for({down_port});

    check::Checker checker(io, false);
    NullUplink uplink;
    checker.start(uplink);
    // The predecessor saw it down by timeout; this checker finds it down again, refused: no change of health,
    // so no Health either, and status must still move on to the new result.
    ipc::Snapshot snapshot;
    auto* h = snapshot.add_health();
    h->set_virtual_server("127.0.0.1:80 TCP");
    h->set_real_server("127.0.0.1:" + std::to_string(down_port));
    h->set_up(false);
    h->set_reason("timeout after 1 s");
    h->set_timed_out(true);
    checker.restore(snapshot);
    REQUIRE(checker.prepare(1, config).empty());
    checker.commit(1);
    ipc::Status status;
    status.Clear();
    checker.fill_status(status);
    REQUIRE(find(status, down_port));
    CHECK(find(status, down_port)->reason() == "restored: timeout after 1 s");
    CHECK_FALSE(find(status, down_port)->healthy());
    REQUIRE(check::test::run_until(io, [&] {
        status.Clear();
        checker.fill_status(status);
        const auto* down = find(status, down_port);
        return down && down->last_result() != status::CHECK_RESULT_UNKNOWN;
    }));
    const auto* down = find(status, down_port);
    CHECK_FALSE(down->healthy());
    CHECK(down->last_result() == status::CHECK_RESULT_FAILURE);
    CHECK(down->reason() == "connection refused");
    CHECK(uplink.health == 0);
    bool stopped = false;
    checker.stop([&] { stopped = true; });
    CHECK(stopped);
}
