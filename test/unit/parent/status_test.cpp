#include <catch2/catch.hpp>

#include "parent/config_parts.hpp"
#include "parent/state_store.hpp"
#include "parent/status_report.hpp"

using namespace vigil;
using parent::StateStore;

namespace {

ipc::Status checker_status() {
    ipc::Status s;
    auto* vs = s.add_virtual_servers();
    vs->set_address("10.0.0.1");
    vs->set_port(80);
    vs->set_protocol("TCP");
    auto* rs = vs->add_real_servers();
    rs->set_address("10.0.1.2");
    rs->set_port(80);
    rs->set_weight(1);
    return s;
}

}  // namespace

TEST_CASE("Health keys name the virtual and real server as the checker does") {
    auto s = checker_status();
    CHECK(parent::virtual_server_key(s.virtual_servers(0)) == "10.0.0.1:80 TCP");
    CHECK(parent::real_server_key(s.virtual_servers(0).real_servers(0)) == "10.0.1.2:80");
    status::RealServerStatus v6;
    v6.set_address("2001:db8::2");
    v6.set_port(443);
    CHECK(parent::real_server_key(v6) == "[2001:db8::2]:443");
    status::VirtualServerStatus fw;
    fw.set_fwmark(7);
    CHECK(parent::virtual_server_key(fw) == "fwmark 7");
}

TEST_CASE("a Health updates the real server's record and is handed to a restarted child") {
    StateStore st;
    st.on_checker_status(checker_status());
    ipc::Health h;
    h.set_virtual_server("10.0.0.1:80 TCP");
    h.set_real_server("10.0.1.2:80");
    h.set_up(true);
    h.set_weight(3);
    st.on_health(h);
    const auto& rs = st.checker_status().virtual_servers(0).real_servers(0);
    CHECK(rs.healthy());
    CHECK(rs.weight() == 3);
    CHECK(rs.last_result() == status::CHECK_RESULT_SUCCESS);
    h.set_up(false);
    h.set_reason("connection refused");
    st.on_health(h);
    CHECK_FALSE(rs.healthy());
    CHECK(rs.reason() == "connection refused");
    CHECK(rs.last_result() == status::CHECK_RESULT_FAILURE);
    h.set_reason("timeout after 3 s");
    h.set_timed_out(true);
    st.on_health(h);
    CHECK(rs.last_result() == status::CHECK_RESULT_TIMEOUT);
    CHECK(rs.reason() == "timeout after 3 s");
    h.set_up(true);
    st.on_health(h);
    auto snap = st.checker_snapshot();
    REQUIRE(snap.health_size() == 1);
    CHECK(snap.health(0).up());
    CHECK(st.vrrp_snapshot().health_size() == 1);
}

TEST_CASE("a quorum Health sets the virtual server's quorum and outlives the next Status") {
    StateStore st;
    st.on_checker_status(checker_status());
    ipc::Health q;
    q.set_virtual_server("10.0.0.1:80 TCP");  // no real server: the virtual server's quorum
    q.set_up(false);
    q.set_reason("quorum lost");
    st.on_health(q);
    CHECK_FALSE(st.checker_status().virtual_servers(0).quorum_up());
    // The next Status (after a commit, or for vigilctl) must not forget it: a restarted vigil-vrrp resumes
    // track_virtual_server from it, and the checker says it again only when it changes.
    auto again = checker_status();
    again.mutable_virtual_servers(0)->set_quorum_up(false);
    st.on_checker_status(again);
    auto snap = st.vrrp_snapshot();
    REQUIRE(snap.health_size() == 1);
    CHECK(snap.health(0).virtual_server() == "10.0.0.1:80 TCP");
    CHECK(snap.health(0).real_server().empty());
    CHECK_FALSE(snap.health(0).up());
    q.set_up(true);
    st.on_health(q);
    CHECK(st.checker_status().virtual_servers(0).quorum_up());
}

TEST_CASE("VrrpState updates the instance and counts the transition") {
    StateStore st;
    ipc::Status v;
    auto* vi = v.add_vrrp_instances();
    vi->set_name("VI_1");
    vi->set_state(status::VrrpInstanceStatus::BACKUP);
    st.on_vrrp_status(v);
    ipc::VrrpState s;
    s.set_instance("VI_1");
    s.set_state(status::VrrpInstanceStatus::MASTER);
    st.on_vrrp_state(s);
    st.on_vrrp_state(s);  // no change: no transition
    REQUIRE(st.vrrp_snapshot().vrrp_instances_size() == 1);
    CHECK(st.vrrp_snapshot().vrrp_instances(0).state() == status::VrrpInstanceStatus::MASTER);
    CHECK(st.vrrp_snapshot().vrrp_instances(0).transitions() == 1);
}

TEST_CASE("health of a real server that the checker no longer reports is forgotten") {
    StateStore st;
    st.on_checker_status(checker_status());
    ipc::Health h;
    h.set_virtual_server("10.0.0.1:80 TCP");
    h.set_real_server("10.0.1.9:80");
    st.on_health(h);
    CHECK(st.checker_snapshot().health_size() == 1);
    st.on_checker_status(checker_status());
    CHECK(st.checker_snapshot().health_size() == 0);
}

TEST_CASE("a Status naming the same servers keeps them found; one that moves a server finds it anew") {
    StateStore st;
    ipc::Health h;
    h.set_virtual_server("10.0.0.1:80 TCP");
    h.set_real_server("10.0.1.2:80");
    h.set_up(true);
    h.set_weight(5);
    auto same = checker_status();
    same.mutable_virtual_servers(0)->mutable_real_servers(0)->set_reason("connected");
    st.on_checker_status(checker_status());
    st.on_checker_status(same);  // the same servers, newer results
    st.on_health(h);
    CHECK(st.checker_status().virtual_servers(0).real_servers(0).weight() == 5);
    CHECK(st.checker_snapshot().health_size() == 1);

    // As many servers as before, one of them on another port: the old key names nothing now.
    auto moved = checker_status();
    moved.mutable_virtual_servers(0)->mutable_real_servers(0)->set_port(8080);
    st.on_checker_status(moved);
    CHECK(st.checker_snapshot().health_size() == 0);  // 10.0.1.2:80 is gone
    st.on_health(h);
    CHECK(st.checker_status().virtual_servers(0).real_servers(0).weight() == 1);  // not 10.0.1.2:80's Health
    h.set_real_server("10.0.1.2:8080");
    h.set_weight(7);
    st.on_health(h);
    CHECK(st.checker_status().virtual_servers(0).real_servers(0).weight() == 7);

    // The Health of 10.0.1.2:80 above named no server: the next Status, the same servers, forgets it.
    st.on_checker_status(moved);
    auto snap = st.checker_snapshot();
    REQUIRE(snap.health_size() == 1);
    CHECK(snap.health(0).real_server() == "10.0.1.2:8080");
}

TEST_CASE("the status JSON carries the names scripts depend on") {
    StateStore st;
    st.on_checker_status(checker_status());
    ipc::Status v;
    v.add_vrrp_instances()->set_name("VI_1");
    st.on_vrrp_status(v);
    control::ReloadResult last;
    last.set_ok(false);
    last.add_errors("x.conf:3:1: error: bad");
    parent::StatusInputs in;
    in.pid = 42;
    in.config_file = "/etc/vigil/vigil.conf";
    in.generation = 3;
    in.last_reload = &last;
    in.children.push_back(
        {"vrrp", 100, control::ChildStatus::RUNNING, 0, std::chrono::milliseconds(1500), "", 3});
    in.children.push_back(
        {"checker", 101, control::ChildStatus::RUNNING, 1, std::chrono::milliseconds(10), "", 3});
    in.store = &st;
    auto json = parent::to_json(parent::assemble_status(in));
    for (const char* key :
         {"\"children\"", "\"role\": \"vrrp\"", "\"pid\": 100", "\"restarts\": 0", "\"restarts\": 1",
          "\"vrrpInstances\"", "\"name\": \"VI_1\"", "\"state\": \"INIT\"", "\"lastReload\"", "\"ok\": false",
          "\"virtualServers\"", "\"realServers\"", "\"healthy\": false", "\"generation\": \"3\""})
        CHECK_THAT(json, Catch::Contains(key));
}

TEST_CASE("the status tables show each child and each server") {
    StateStore st;
    st.on_checker_status(checker_status());
    parent::StatusInputs in;
    in.config_file = "/etc/vigil/vigil.conf";
    in.children.push_back({"checker", 101, control::ChildStatus::BACKOFF, 2, {}, "killed by SIGKILL", 0});
    in.store = &st;
    auto text = parent::format_status_text(parent::assemble_status(in));
    CHECK_THAT(text, Catch::Contains("checker") && Catch::Contains("backoff") &&
                         Catch::Contains("killed by SIGKILL"));
    CHECK_THAT(text, Catch::Contains("10.0.0.1:80 TCP") && Catch::Contains("10.0.1.2:80"));
}

TEST_CASE("which children a config needs") {
    config::Config c;
    CHECK_FALSE(parent::has_vrrp_part(c));
    CHECK_FALSE(parent::has_checker_part(c));
    c.add_vrrp_instance();
    CHECK(parent::has_vrrp_part(c));
    auto* rs = c.add_virtual_server()->add_real_server();
    CHECK(parent::has_checker_part(c));
    CHECK(parent::checker_raw(c) == parent::CheckerRaw{false, false});
    rs->add_checkers()->mutable_http_get();
    rs->add_checkers()->mutable_tcp_check();
    CHECK(parent::checker_raw(c) == parent::CheckerRaw{false, true});
    auto* other = c.add_virtual_server()->add_real_server();
    other->add_checkers()->mutable_ping_check();
    CHECK(parent::checker_raw(c) == parent::CheckerRaw{true, true});
    rs->clear_checkers();
    CHECK(parent::checker_raw(c) == parent::CheckerRaw{true, false});
}
