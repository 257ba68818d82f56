// The engine on a real loop with FILE_CHECKs (no network): health, quorum and destination events, status and
// ha_suspend. Intervals are short; assertions wait for outcomes, never for times.
#include <catch2/catch.hpp>

#include <fstream>

#include "checker_child/checker_config_proto.hpp"
#include "checker_child/engine.hpp"
#include "test/unit/check/support.hpp"

using namespace vigil::check;
using namespace vigil::check::test;
using namespace std::chrono_literals;

namespace {

RealServerSpec file_server(const std::string& ip, const std::string& path, int weight) {
    CheckSpec c;
    c.timing.delay_loop = 20ms;
    c.timing.delay_before_retry = 10ms;
    c.timing.retry = 1;
    c.timing.warmup = 10ms;
    FileParams f;
    f.track_file = ip;
    f.path = path;
    f.weight = 0;  // non-zero: down
    c.params = f;
    RealServerSpec rs;
    rs.ip = ip;
    rs.port = 80;
    rs.weight = weight;
    rs.checks = {c};
    return rs;
}

struct Recorder {
    std::vector<HealthEvent> health;
    std::vector<QuorumEvent> quorum;
    std::vector<DestinationsEvent> destinations;
    Engine::Sinks sinks() {
        return {[this](const HealthEvent& e) { health.push_back(e); },
                [this](const QuorumEvent& e) { quorum.push_back(e); },
                [this](const DestinationsEvent& e) { destinations.push_back(e); }};
    }
};

// A config of one virtual server (10.0.0.1:80) with one real server (10.0.0.2:80), returned to add checkers
// to.
vigil::config::RealServer* one_real_server(vigil::config::Config& c) {
    auto* vs = c.add_virtual_server();
    vs->set_address("10.0.0.1");
    vs->set_port(80);
    auto* rs = vs->add_real_server();
    rs->set_address("10.0.0.2");
    rs->set_port(80);
    return rs;
}

}  // namespace

TEST_CASE("engine: a failing real server leaves the destinations and quorum is lost, then both come back") {
    TempDir dir;
    const auto a = dir.file("a", "0");
    const auto b = dir.file("b", "0");
    CheckerConfig config;
    VirtualServerSpec vs;
    vs.name = "10.0.0.1:80 TCP";
    vs.quorum = 2;
    vs.real_servers = {file_server("10.0.0.2", a, 1), file_server("10.0.0.3", b, 1)};
    config.virtual_servers = {vs};

    asio::io_context io;
    Recorder rec;
    Engine engine(io.get_executor(), config, rec.sinks());
    engine.start();
    REQUIRE(rec.destinations.size() == 1);
    CHECK(rec.destinations[0].destinations.size() == 2);
    REQUIRE(rec.quorum.size() == 1);
    CHECK(rec.quorum[0].up);

    dir.file("b", "1");
    REQUIRE(run_until(io, [&] { return !rec.health.empty(); }));
    CHECK(rec.health[0].ip == "10.0.0.3");
    CHECK_FALSE(rec.health[0].up);
    CHECK(rec.health[0].reason == "value 1 in " + b);
    REQUIRE(rec.quorum.size() == 2);
    CHECK_FALSE(rec.quorum[1].up);
    CHECK(rec.destinations.back().destinations ==
          std::vector<DesiredDestination>{{"10.0.0.2", 80, 1, false}});

    const auto status = engine.status();
    REQUIRE(status.size() == 1);
    CHECK_FALSE(status[0].quorum_up);
    CHECK(status[0].real_servers[1].reason == "value 1 in " + b);
    CHECK(status[0].real_servers[1].checkers[0].type == "FILE_CHECK");

    dir.file("b", "0");
    REQUIRE(run_until(io, [&] { return rec.health.size() == 2; }));
    CHECK(rec.health[1].up);
    CHECK(rec.quorum.back().up);
    CHECK(rec.destinations.back().destinations.size() == 2);
    engine.stop();
}

TEST_CASE("engine: under ha_suspend, checks run only while the instance is MASTER") {
    TempDir dir;
    const auto a = dir.file("a", "1");  // failing from the start
    CheckerConfig config;
    VirtualServerSpec vs;
    vs.name = "10.0.0.1:80 TCP";
    vs.ha_suspend_instance = "VI_1";
    vs.real_servers = {file_server("10.0.0.2", a, 1)};
    config.virtual_servers = {vs};

    asio::io_context io;
    Recorder rec;
    Engine engine(io.get_executor(), config, rec.sinks());
    engine.start();
    CHECK(engine.status()[0].suspended);
    io.run_for(300ms);  // ten delay_loops: a running check would have taken it down
    CHECK(rec.health.empty());

    engine.set_vrrp_state("VI_1", true);
    CHECK_FALSE(engine.status()[0].suspended);
    REQUIRE(run_until(io, [&] { return !rec.health.empty(); }));
    CHECK_FALSE(rec.health[0].up);

    engine.set_vrrp_state("VI_1", false);
    CHECK(engine.status()[0].suspended);
    dir.file("a", "0");
    io.restart();
    io.run_for(300ms);
    CHECK(rec.health.size() == 1);  // no check ran: it did not come back
}

TEST_CASE("from_proto resolves inherited settings, check_script and ha_suspend") {
    vigil::config::Config c;
    auto* script = c.add_vrrp_script();
    script->set_name("chk_app");
    script->set_script("/usr/local/bin/chk");
    script->set_interval_ms(2000);
    script->set_fall(3);
    script->set_rise(2);
    auto* inst = c.add_vrrp_instance();
    inst->set_name("VI_1");
    inst->add_virtual_ipaddress()->set_address("10.0.0.1");
    auto* vs = c.add_virtual_server();
    vs->set_address("10.0.0.1");
    vs->set_port(80);
    vs->set_quorum(2);
    vs->set_ha_suspend(true);
    vs->set_virtualhost("www.example.org");
    vs->add_check_script("chk_app");
    vs->mutable_sorry_server()->set_address("10.0.0.9");
    auto* rs = vs->add_real_server();
    rs->set_address("10.0.0.2");
    rs->set_port(8080);
    rs->set_weight(3);
    rs->set_rise(4);
    rs->set_delay_loop_down_ms(30000);
    auto* http = rs->add_checkers()->mutable_http_get();
    http->mutable_common()->set_connect_timeout_ms(3000);
    http->mutable_common()->set_delay_loop_ms(6000);
    http->mutable_common()->set_retry(2);
    auto* url = http->add_url();
    url->set_path("/health");
    for (uint32_t code = 200; code <= 204; ++code) url->add_status_code(code);
    url->add_status_code(301);

    const auto out = from_proto(c);
    REQUIRE(out.virtual_servers.size() == 1);
    const auto& v = out.virtual_servers[0];
    CHECK(v.name == "10.0.0.1:80 TCP");
    CHECK(v.ha_suspend_instance == "VI_1");
    REQUIRE(v.sorry_server);
    CHECK(v.sorry_server->port == 80);
    REQUIRE(v.real_servers.size() == 1);
    const auto& r = v.real_servers[0];
    REQUIRE(r.checks.size() == 2);
    const auto& h = r.checks[0];
    CHECK(h.timing.connect_timeout == 3s);
    CHECK(h.timing.delay_loop == 6s);
    CHECK(h.timing.retry == 2);
    CHECK(h.timing.rise == 4);
    CHECK(h.timing.delay_loop_down == 30s);
    CHECK(h.target.ip == "10.0.0.2");
    CHECK(h.target.port == 8080);
    const auto& hp = std::get<HttpParams>(h.params);
    REQUIRE(hp.urls.size() == 1);
    CHECK(hp.urls[0].virtualhost == "www.example.org");
    CHECK(hp.urls[0].status_ranges == std::vector<std::pair<int, int>>{{200, 204}, {301, 301}});
    const auto& s = r.checks[1];
    CHECK(std::get<ScriptParams>(s.params).script == "/usr/local/bin/chk");
    CHECK(s.timing.delay_loop == 2s);
    CHECK(s.timing.retry == 2);
    CHECK(s.timing.rise == 2);
}

TEST_CASE("from_proto: warmup 0 disables spreading, an unset warmup spreads over delay_loop") {
    vigil::config::Config c;
    auto* rs = one_real_server(c);
    rs->add_checkers()->mutable_tcp_check()->mutable_common()->set_warmup_ms(0);
    rs->add_checkers()->mutable_tcp_check()->mutable_common()->set_retry(0);
    const auto out = from_proto(c);
    REQUIRE(out.virtual_servers.size() == 1);
    const auto& checks = out.virtual_servers[0].real_servers.at(0).checks;
    REQUIRE(checks.size() == 2);
    REQUIRE(checks[0].timing.warmup.has_value());
    CHECK(*checks[0].timing.warmup == Duration::zero());
    CHECK_FALSE(checks[1].timing.warmup.has_value());
    CHECK(checks[1].timing.retry == 0);
}

TEST_CASE("from_proto: delay_before_retry 0 retries at once, as in keepalived") {
    vigil::config::Config c;
    auto* rs = one_real_server(c);
    rs->add_checkers()->mutable_tcp_check()->mutable_common()->set_delay_before_retry_ms(0);
    const auto out = from_proto(c);
    REQUIRE(out.virtual_servers.size() == 1);
    CHECK(out.virtual_servers[0].real_servers.at(0).checks.at(0).timing.delay_before_retry ==
          Duration::zero());
}

TEST_CASE("engine: a retry waits delay_before_retry after the failed check ended, not after it started") {
    // Each run of the script appends its start time and then takes 150 ms to fail; with delay_before_retry
    // 400 ms the next run starts at least 550 ms after the one before (keepalived's spacing), not 400 ms.
    TempDir dir;
    const auto starts = (dir.path / "starts").string();
    CheckSpec c;
    c.timing.delay_loop = 5s;
    c.timing.delay_before_retry = 400ms;
    c.timing.retry = 3;
    c.timing.warmup = Duration::zero();
    MiscParams m;
    m.path = dir.script("slow.sh", "date +%s.%N >> " + starts + "\nsleep 0.15\nexit 1");
    m.timeout = 5s;
    c.params = m;
    RealServerSpec rs;
    rs.ip = "10.0.0.2";
    rs.port = 80;
    rs.weight = 1;
    rs.checks = {c};
    CheckerConfig config;
    VirtualServerSpec vs;
    vs.name = "10.0.0.1:80 TCP";
    vs.real_servers = {rs};
    config.virtual_servers = {vs};

    asio::io_context io;
    Recorder rec;
    Engine engine(io.get_executor(), config, rec.sinks());
    engine.start();
    std::vector<double> times;
    REQUIRE(run_until(io, [&] {
        times.clear();
        std::ifstream in(starts);
        for (double t; in >> t;) times.push_back(t);
        return times.size() >= 3;
    }));
    engine.stop();
    for (std::size_t i = 1; i < times.size(); ++i) {
        INFO("run " << i << " started " << times[i] - times[i - 1] << " s after the one before");
        CHECK(times[i] - times[i - 1] >= 0.5);
    }
}

TEST_CASE("engine: a restored health is where a restarted checker starts from") {
    TempDir dir;
    const auto a = dir.file("a", "0");
    CheckerConfig config;
    VirtualServerSpec vs;
    vs.name = "10.0.0.1:80 TCP";
    vs.real_servers = {file_server("10.0.0.2", a, 1)};
    config.virtual_servers = {vs};
    asio::io_context io;
    Recorder rec;
    Engine engine(io.get_executor(), config, rec.sinks());
    CHECK_FALSE(engine.restore("10.0.0.1:80 TCP", "10.0.0.9:80", false, "x"));
    REQUIRE(engine.restore("10.0.0.1:80 TCP", "10.0.0.2:80", false, "connection refused"));
    engine.start();
    REQUIRE(rec.destinations.size() == 1);
    CHECK(rec.destinations[0].destinations.empty());  // down as restored, not up by default
    CHECK(engine.status()[0].real_servers[0].reason == "restored: connection refused");
    REQUIRE(run_until(io, [&] { return !rec.health.empty(); }));  // the file says 0: it comes back
    CHECK(rec.health[0].up);
}
