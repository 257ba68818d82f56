// The decision logic in virtual time: results in, states, intervals and destinations out.
#include <catch2/catch.hpp>

#include <functional>
#include <set>

#include "checker_child/health.hpp"

using namespace vigil::check;
using namespace std::chrono_literals;

namespace {

CheckSpec tcp_spec(CheckTiming timing) {
    return CheckSpec{timing, {}, TcpParams{}};
}

RealServerSpec server(const std::string& ip, int weight, std::vector<CheckSpec> checks = {}) {
    RealServerSpec rs;
    rs.ip = ip;
    rs.port = 80;
    rs.weight = weight;
    rs.checks = std::move(checks);
    return rs;
}

// Replays one real server with one checker in virtual time: `healthy(t)` says what a check at time t returns.
// Returns the times at which the server changed state, with the new state.
struct Transition {
    Duration at;
    bool up;
};
struct Replay {
    std::vector<Transition> transitions;
    std::vector<Duration> runs;
};
Replay replay(const CheckTiming& timing, Duration first, Duration until,
              const std::function<bool(Duration)>& healthy) {
    RealServerHealth state(server("10.0.0.2", 1, {tcp_spec(timing)}));
    Replay out;
    Duration now = first;
    while (now <= until) {
        out.runs.push_back(now);
        const bool ok = healthy(now);
        const auto outcome = state.on_result(0, CheckResult{ok, ok ? "connected" : "connection refused", {}});
        if (outcome.changed) out.transitions.push_back({now, state.up()});
        now += outcome.next;
    }
    return out;
}

}  // namespace

TEST_CASE("an up server goes down only after retry extra failures, spaced by delay_before_retry") {
    CheckTiming t;
    t.delay_loop = 5s;
    t.retry = 2;
    t.delay_before_retry = 1s;
    // Healthy until 12 s, then failing: checks at 0, 5, 10 pass; 15 fails, retries at 16 and 17, down at 17.
    const auto r = replay(t, 0s, 30s, [](Duration now) { return now < 12s; });
    REQUIRE(r.transitions.size() == 1);
    CHECK(r.transitions[0].at == 17s);
    CHECK_FALSE(r.transitions[0].up);
}

TEST_CASE("a failure followed by a success within the retries does not take a server down") {
    CheckTiming t;
    t.delay_loop = 5s;
    t.retry = 1;
    t.delay_before_retry = 1s;
    const auto r = replay(t, 0s, 30s, [](Duration now) { return now != 10s; });
    CHECK(r.transitions.empty());
}

TEST_CASE("retry 0 takes a server down at the first failure") {
    CheckTiming t;
    t.delay_loop = 5s;
    t.retry = 0;
    const auto r = replay(t, 0s, 30s, [](Duration now) { return now < 10s; });
    REQUIRE(r.transitions.size() == 1);
    CHECK(r.transitions[0].at == 10s);
}

TEST_CASE("a down server needs rise successes in a row to come back, at delay_loop_fast") {
    CheckTiming t;
    t.delay_loop = 10s;
    t.delay_loop_fast = 1s;
    t.rise = 3;
    t.alpha = true;  // starts down
    // Failing until 25 s: checks at 0, 10, 20 fail; 30 succeeds (1 of 3), 31 (2 of 3), 32: up.
    const auto r = replay(t, 0s, 60s, [](Duration now) { return now >= 25s; });
    REQUIRE(r.transitions.size() == 1);
    CHECK(r.transitions[0].at == 32s);
    CHECK(r.transitions[0].up);
}

TEST_CASE("a failure during rise starts the count again") {
    CheckTiming t;
    t.delay_loop = 10s;
    t.delay_loop_fast = 1s;
    t.rise = 2;
    t.alpha = true;
    // 0 ok (1 of 2), 1 fails -> back at 0, 11 ok (1 of 2), 12 ok: up.
    const auto r = replay(t, 0s, 40s, [](Duration now) { return now != 1s; });
    REQUIRE(r.transitions.size() == 1);
    CHECK(r.transitions[0].at == 12s);
}

TEST_CASE("a down server is checked at delay_loop_down") {
    CheckTiming t;
    t.delay_loop = 5s;
    t.delay_loop_down = 20s;
    t.retry = 0;
    const auto r = replay(t, 0s, 60s, [](Duration) { return false; });
    // Down at the first run, then every 20 s.
    REQUIRE(r.runs.size() == 4);
    CHECK(r.runs[1] == 20s);
    CHECK(r.runs[2] == 40s);
}

TEST_CASE("without alpha a server starts up; with alpha it starts down") {
    CheckTiming t;
    CHECK(RealServerHealth(server("10.0.0.2", 1, {tcp_spec(t)})).up());
    t.alpha = true;
    RealServerHealth down(server("10.0.0.2", 1, {tcp_spec(t)}));
    CHECK_FALSE(down.up());
    CHECK(down.reason() == "not checked yet");
}

TEST_CASE("a real server is up only while every one of its checkers is up") {
    CheckTiming t;
    t.retry = 0;
    RealServerHealth s(server("10.0.0.2", 3, {tcp_spec(t), tcp_spec(t)}));
    CHECK(s.on_result(1, {false, "HTTP 503 from /health", {}}).changed);
    CHECK_FALSE(s.up());
    CHECK(s.reason() == "HTTP 503 from /health");
    CHECK_FALSE(s.on_result(0, {true, "connected", {}}).changed);
    CHECK(s.on_result(1, {true, "HTTP 200 from /health", {}}).changed);
    CHECK(s.up());
}

TEST_CASE("a server is down by timeout while its first failing checker's last result is a timeout") {
    CheckTiming t;
    t.retry = 0;
    RealServerHealth s(server("10.0.0.2", 3, {tcp_spec(t), tcp_spec(t)}));
    // A timeout on a checker that stays up is not the server's reason.
    t.retry = 1;
    RealServerHealth patient(server("10.0.0.3", 3, {tcp_spec(t)}));
    CHECK_FALSE(patient.on_result(0, CheckResult::timeout("timeout after 3 s")).changed);
    CHECK(patient.up());
    CHECK_FALSE(patient.timed_out());

    CHECK(s.on_result(0, CheckResult::timeout("timeout after 3 s")).changed);
    CHECK(s.timed_out());
    CHECK(s.reason() == "timeout after 3 s");
    // The second checker refuses too: the first failing checker still names the reason.
    CHECK_FALSE(s.on_result(1, {false, "connection refused", {}}).changed);
    CHECK(s.timed_out());
    // The first now refuses rather than times out.
    CHECK_FALSE(s.on_result(0, {false, "connection refused", {}}).changed);
    CHECK_FALSE(s.timed_out());
    CHECK_FALSE(s.on_result(0, {true, "connected", {}}).changed);
    CHECK(s.on_result(1, {true, "connected", {}}).changed);
    CHECK(s.up());
    CHECK_FALSE(s.timed_out());
}

TEST_CASE("a dynamic weight replaces the configured one and stays until the next dynamic result") {
    CheckTiming t;
    RealServerHealth s(server("10.0.0.2", 10, {tcp_spec(t)}));
    CHECK(s.weight() == 10);
    CHECK(s.on_result(0, {true, "exit 7", 5}).changed);
    CHECK(s.weight() == 5);
    CHECK_FALSE(s.on_result(0, {true, "exit 0", {}}).changed);
    CHECK(s.weight() == 5);
}

TEST_CASE("first checks are spread over warmup, which defaults to delay_loop") {
    CheckTiming t;
    t.delay_loop = 10s;
    CheckerState c(t);
    Duration asked{};
    const RandomSource fixed = [&](Duration bound) {
        asked = bound;
        return bound / 4;
    };
    CHECK(c.first_delay(fixed) == 2500ms);
    CHECK(asked == 10s);
    t.warmup = 2s;
    CHECK(CheckerState(t).first_delay(fixed) == 500ms);
    t.warmup = 0s;
    CHECK(CheckerState(t).first_delay(fixed) == 0s);

    // With the real random source, 100 checkers do not all fire on one tick and stay within the bound.
    t.warmup.reset();
    const auto random = default_random_source();
    std::set<Duration::rep> seen;
    for (int i = 0; i < 100; ++i) {
        const auto d = CheckerState(t).first_delay(random);
        REQUIRE(d >= 0s);
        REQUIRE(d <= 10s);
        seen.insert(d.count());
    }
    CHECK(seen.size() > 50);
}

TEST_CASE("quorum is gained at quorum + hysteresis and lost below quorum - hysteresis") {
    VirtualServerSpec vs;
    vs.quorum = 5;
    vs.hysteresis = 1;
    QuorumState q(vs);
    q.init(5);  // 5 < 6: starts down
    CHECK_FALSE(q.up());
    CHECK_FALSE(q.update(5));
    CHECK(q.update(6));
    CHECK(q.up());
    CHECK_FALSE(q.update(4));  // 4 is not below 5 - 1
    CHECK(q.up());
    CHECK(q.update(3));
    CHECK_FALSE(q.up());
}

TEST_CASE("quorum is lost at a live weight of zero even when quorum - hysteresis is not positive") {
    VirtualServerSpec vs;
    vs.quorum = 1;
    vs.hysteresis = 1;
    QuorumState q(vs);
    q.init(2);
    CHECK(q.up());
    CHECK(q.update(0));
    CHECK_FALSE(q.up());
}

TEST_CASE("destinations: down servers are removed, or kept at weight 0 under inhibit_on_failure") {
    CheckTiming t;
    t.retry = 0;
    VirtualServerSpec vs;
    vs.real_servers = {server("10.0.0.2", 3, {tcp_spec(t)}), server("10.0.0.3", 2, {tcp_spec(t)})};
    vs.real_servers[1].inhibit_on_failure = true;
    std::vector<RealServerHealth> states(vs.real_servers.begin(), vs.real_servers.end());
    CHECK(desired_destinations(vs, states, true) ==
          std::vector<DesiredDestination>{{"10.0.0.2", 80, 3, false}, {"10.0.0.3", 80, 2, false}});
    states[0].on_result(0, {false, "connection refused", {}});
    states[1].on_result(0, {false, "connection refused", {}});
    CHECK(desired_destinations(vs, states, true) ==
          std::vector<DesiredDestination>{{"10.0.0.3", 80, 0, false}});
    CHECK(live_weight(states) == 0);
}

TEST_CASE("sorry server replaces the real servers while quorum is lost") {
    CheckTiming t;
    t.retry = 0;
    VirtualServerSpec vs;
    vs.quorum = 4;
    vs.real_servers = {server("10.0.0.2", 3, {tcp_spec(t)}), server("10.0.0.3", 2, {tcp_spec(t)})};
    vs.sorry_server = server("10.0.0.9", 1);
    std::vector<RealServerHealth> states(vs.real_servers.begin(), vs.real_servers.end());
    QuorumState q(vs);
    q.init(live_weight(states));
    REQUIRE(q.up());
    CHECK(desired_destinations(vs, states, q.up()).size() == 2);

    states[1].on_result(0, {false, "connection refused", {}});
    CHECK(q.update(live_weight(states)));  // 3 < 4
    CHECK(desired_destinations(vs, states, q.up()) ==
          std::vector<DesiredDestination>{{"10.0.0.9", 80, 1, true}});

    vs.sorry_server_inhibit = true;
    vs.real_servers[0].inhibit_on_failure = true;
    CHECK(desired_destinations(vs, states, false) ==
          std::vector<DesiredDestination>{{"10.0.0.2", 80, 0, false}, {"10.0.0.9", 80, 1, true}});
    states[1].on_result(0, {true, "connected", {}});
    CHECK(q.update(live_weight(states)));
    CHECK(desired_destinations(vs, states, q.up()) ==
          std::vector<DesiredDestination>{
              {"10.0.0.2", 80, 3, false}, {"10.0.0.3", 80, 2, false}, {"10.0.0.9", 80, 0, true}});
}
