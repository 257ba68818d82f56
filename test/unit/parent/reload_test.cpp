#include <catch2/catch.hpp>

#include "parent/reload.hpp"

using vigil::control::ReloadResult;
using vigil::parent::ConfigTransaction;
using vigil::parent::ReloadQueue;
using D = ConfigTransaction::Decision;

namespace {
ReloadResult result(bool ok, std::uint64_t gen) {
    ReloadResult r;
    r.set_ok(ok);
    r.set_generation(gen);
    return r;
}
}  // namespace

TEST_CASE("a reload asked for while idle starts at once") {
    ReloadQueue q;
    CHECK(q.request({}));
    CHECK(q.busy());
    CHECK_FALSE(q.finish(result(true, 2)));
    CHECK_FALSE(q.busy());
}

TEST_CASE("reloads asked for during one are queued as one, not lost, and each asker hears its own result") {
    ReloadQueue q;
    std::vector<std::string> heard;
    REQUIRE(
        q.request([&](const ReloadResult& r) { heard.push_back("a:" + std::to_string(r.generation())); }));
    CHECK_FALSE(
        q.request([&](const ReloadResult& r) { heard.push_back("b:" + std::to_string(r.generation())); }));
    CHECK_FALSE(q.request({}));  // a SIGHUP
    CHECK_FALSE(
        q.request([&](const ReloadResult& r) { heard.push_back("c:" + std::to_string(r.generation())); }));
    CHECK(q.queued());
    CHECK(q.finish(result(true, 2)));  // the queued one must start now
    CHECK(heard == std::vector<std::string>{"a:2"});
    CHECK(q.busy());
    CHECK_FALSE(q.queued());
    CHECK_FALSE(q.finish(result(false, 2)));
    CHECK(heard == std::vector<std::string>{"a:2", "b:2", "c:2"});
    CHECK_FALSE(q.busy());
}

TEST_CASE("a waiter that asks again from its callback is queued behind nothing and starts next") {
    ReloadQueue q;
    bool again = false;
    REQUIRE(q.request([&](const ReloadResult&) { again = q.request({}); }));
    // The callback runs inside finish(); the queue is idle by then, so the new request starts immediately.
    CHECK_FALSE(q.finish(result(true, 2)));
    CHECK(again);
    CHECK(q.busy());
}

TEST_CASE("commit only when every child acked") {
    ConfigTransaction t(5, {"vrrp", "checker"});
    CHECK(t.decision() == D::kWait);
    CHECK(t.on_result("vrrp", 5, true, {}) == D::kWait);
    CHECK(t.on_result("checker", 5, true, {}) == D::kCommit);
}

TEST_CASE("one refusal aborts, and its reasons are reported with the child's role") {
    ConfigTransaction t(5, {"vrrp", "checker"});
    CHECK(t.on_result("vrrp", 5, false, {"VI_1: interface eth9 does not exist"}) == D::kAbort);
    CHECK(t.errors() == std::vector<std::string>{"vrrp: VI_1: interface eth9 does not exist"});
}

TEST_CASE("answers for another generation or from a child not asked are ignored") {
    ConfigTransaction t(5, {"vrrp"});
    CHECK(t.on_result("vrrp", 4, true, {}) == D::kWait);
    CHECK(t.on_result("checker", 5, false, {"x"}) == D::kWait);
    CHECK(t.on_result("vrrp", 5, true, {}) == D::kCommit);
}

TEST_CASE("a timeout turns missing answers into refusals") {
    ConfigTransaction t(2, {"vrrp", "checker"});
    REQUIRE(t.on_result("vrrp", 2, true, {}) == D::kWait);
    CHECK(t.on_timeout() == D::kAbort);
    CHECK(t.errors() == std::vector<std::string>{"checker: no answer to Configure in time"});
}

TEST_CASE("a child lost before answering aborts the reload") {
    ConfigTransaction t(2, {"checker"});
    CHECK(t.on_child_lost("checker") == D::kAbort);
    CHECK(t.results().at(0).ok() == false);
}

TEST_CASE("a reload with no child running commits at once") {
    ConfigTransaction t(2, {});
    CHECK(t.decision() == D::kCommit);
}

TEST_CASE("settings fixed at start are refused on reload, naming them") {
    vigil::config::Config a, b;
    CHECK(vigil::parent::immutable_changes(a, b).empty());
    b.mutable_global_defs()->set_log_file("/var/log/vigil.log");
    auto* ns = b.mutable_global_defs()->add_other();
    ns->set_keyword("net_namespace");
    ns->add_args("blue");
    auto changes = vigil::parent::immutable_changes(a, b);
    REQUIRE(changes.size() == 2);
    CHECK_THAT(changes[0], Catch::Contains("log_file") && Catch::Contains("/var/log/vigil.log"));
    CHECK_THAT(changes[1], Catch::Contains("net_namespace") && Catch::Contains("blue"));
}

TEST_CASE("a log level change is not a fixed setting") {
    vigil::config::Config a, b;
    b.mutable_global_defs()->set_log_level("debug");
    CHECK(vigil::parent::immutable_changes(a, b).empty());
}
