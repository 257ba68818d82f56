// Each section fills the typed model, with keepalived's defaults; unmodelled statements are kept in `other`.

#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace vigil::test;
namespace pb = vigil::config;

TEST_CASE("global_defs: router_id, the log_* extensions, and defaults") {
    auto r = parse(
        "global_defs {\n"
        "    router_id lb1\n"
        "    log_level debug\n"
        "    log_file /var/log/vigil.log\n"
        "    log_timestamp false\n"
        "    vrrp_version 3\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    const auto& g = r.config.global_defs();
    CHECK(g.router_id() == "lb1");
    CHECK(g.log_level() == "debug");
    CHECK(g.log_file() == "/var/log/vigil.log");
    REQUIRE(g.has_log_timestamp());
    CHECK_FALSE(g.log_timestamp());
    CHECK(g.vrrp_version() == 3);
    CHECK(g.vrrp_mcast_group4() == "224.0.0.18");
    CHECK(g.vrrp_garp_master_delay_ms() == 5000);
}

TEST_CASE("global_defs: lvs_flush_onstop alone flushes everything, with VS only vigil's services") {
    CHECK(parse("global_defs {\n}\n").config.global_defs().lvs_flush_onstop() == pb::LVS_FLUSH_ONSTOP_NONE);
    auto full = parse("global_defs {\n    lvs_flush_onstop\n}\n");
    REQUIRE(full.ok());
    CHECK(full.config.global_defs().lvs_flush_onstop() == pb::LVS_FLUSH_ONSTOP_FULL);
    auto vs = parse("global_defs {\n    lvs_flush_on_stop VS\n}\n");
    INFO(dump(vs));
    REQUIRE(vs.ok());
    CHECK(vs.config.global_defs().lvs_flush_onstop() == pb::LVS_FLUSH_ONSTOP_VS);
    auto bad = parse("global_defs {\n    lvs_flush_onstop yes\n}\n");
    CHECK(has_error(bad, 2, 22, "lvs_flush_onstop takes no argument or VS; not 'yes'"));
}

TEST_CASE("vrrp_script: command, timers in ms, weight, rise/fall, user") {
    auto r = parse(
        "vrrp_script chk {\n"
        "    script \"/bin/true --flag\"\n"
        "    interval 2.5\n"
        "    timeout 1\n"
        "    weight -20\n"
        "    rise 3\n"
        "    fall 2\n"
        "    user nobody nogroup\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    const auto& s = r.config.vrrp_script(0);
    CHECK(s.name() == "chk");
    CHECK(s.script() == "/bin/true --flag");
    CHECK(s.interval_ms() == 2500);
    CHECK(s.timeout_ms() == 1000);
    CHECK(s.weight() == -20);
    CHECK(s.rise() == 3);
    CHECK(s.fall() == 2);
    CHECK(s.user() == "nobody");
    CHECK(s.group() == "nogroup");
}

TEST_CASE("vrrp_instance: every modelled field, with defaults filled") {
    auto r = parse(
        "vrrp_script chk { \n script /bin/true\n}\n"
        "vrrp_instance VI_1 {\n"
        "    state MASTER\n"
        "    interface lo\n"
        "    virtual_router_id 51\n"
        "    priority 150\n"
        "    version 3\n"
        "    advert_int 0.01\n"
        "    preempt_delay 5\n"
        "    virtual_ipaddress {\n"
        "        192.0.2.1/24 brd 192.0.2.255 dev lo scope global label lo:1\n"
        "    }\n"
        "    virtual_ipaddress_excluded {\n"
        "        2001:db8::1/64\n"
        "    }\n"
        "    unicast_src_ip 192.0.2.10\n"
        "    unicast_peer {\n"
        "        192.0.2.11\n"
        "    }\n"
        "    track_interface {\n"
        "        lo weight 10\n"
        "    }\n"
        "    track_script {\n"
        "        chk weight -5\n"
        "    }\n"
        "    track_virtual_server {\n"
        "        192.0.2.1 80 TCP weight -30\n"
        "    }\n"
        "    notify_master \"/bin/echo master\"\n"
        "    garp_master_delay 2\n"
        "    v3_checksum_as_v2\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    const auto& vi = r.config.vrrp_instance(0);
    CHECK(vi.state() == pb::MASTER);
    CHECK(vi.interface() == "lo");
    CHECK(vi.virtual_router_id() == 51);
    CHECK(vi.priority() == 150);
    CHECK(vi.version() == 3);
    CHECK(vi.advert_int_ms() == 10);
    CHECK(vi.preempt_delay_ms() == 0);  // cleared with a warning under state MASTER, as keepalived does
    CHECK(vi.family() == pb::INET);
    const auto& a = vi.virtual_ipaddress(0);
    CHECK(a.address() == "192.0.2.1");
    CHECK(a.prefix() == 24);
    CHECK(a.broadcast() == "192.0.2.255");
    CHECK(a.dev() == "lo");
    CHECK(a.scope() == "global");
    CHECK(a.label() == "lo:1");
    CHECK(vi.virtual_ipaddress_excluded(0).address() == "2001:db8::1");
    CHECK(vi.unicast_src_ip() == "192.0.2.10");
    CHECK(vi.unicast_peer(0) == "192.0.2.11");
    CHECK(vi.track_interface(0).weight() == 10);
    CHECK(vi.track_script(0).name() == "chk");
    CHECK(vi.track_script(0).weight() == -5);
    CHECK(vi.track_virtual_server(0).address() == "192.0.2.1");
    CHECK(vi.track_virtual_server(0).port() == 80);
    CHECK(vi.track_virtual_server(0).weight() == -30);
    CHECK(vi.notify_master() == "/bin/echo master");
    CHECK(vi.garp_master_delay_ms() == 2000);
    CHECK(vi.garp_master_repeat() == 5);
    CHECK(vi.v3_checksum_as_v2());
}

TEST_CASE("vrrp_instance defaults: BACKUP, priority 100, advert 1 s, version 2") {
    auto r = parse("vrrp_instance V {\n    interface lo\n    virtual_router_id 1\n}\n");
    REQUIRE(r.ok());
    const auto& vi = r.config.vrrp_instance(0);
    CHECK(vi.state() == pb::BACKUP);
    CHECK(vi.priority() == 100);
    CHECK(vi.advert_int_ms() == 1000);
    CHECK(vi.version() == 2);
}

TEST_CASE("vrrp_sync_group: members inside group { }") {
    auto r = parse(
        "vrrp_instance A {\n interface lo\n virtual_router_id 1\n}\n"
        "vrrp_instance B {\n interface lo\n virtual_router_id 2\n}\n"
        "vrrp_sync_group G {\n    group {\n        A\n        B\n    }\n}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    REQUIRE(r.config.vrrp_sync_group(0).group_size() == 2);
    CHECK(r.config.vrrp_sync_group(0).group(1) == "B");
}

TEST_CASE("vrrp_sync_group members written outside group { } are located errors that suggest the fix") {
    auto r = parse(
        "vrrp_instance VI_2 {\n interface lo\n virtual_router_id 1\n}\n"
        "vrrp_sync_group VG1 {\n  VI_2\n}\n");
    CHECK(has_error(r, 6, 3, "members of a sync group go inside 'group { VI_2 ... }'"));
}

TEST_CASE("virtual_server with real servers and every checker type") {
    auto r = parse(
        "virtual_server 192.0.2.1 80 {\n"
        "    delay_loop 6\n"
        "    lvs_sched wrr\n"
        "    lvs_method DR\n"
        "    persistence_timeout 300\n"
        "    protocol TCP\n"
        "    quorum 2\n"
        "    sorry_server 192.0.2.99 80\n"
        "    real_server 198.51.100.1 80 {\n"
        "        weight 3\n"
        "        rise 2\n"
        "        delay_loop_fast 1\n"
        "        delay_loop_down 30\n"
        "        HTTP_GET {\n"
        "            url {\n"
        "                path /health\n"
        "                status_code 200-202\n"
        "                digest 640205b7b0fc66c1ea91c463fac6334d\n"
        "            }\n"
        "            connect_timeout 3\n"
        "            retry 3\n"
        "            delay_before_retry 2\n"
        "        }\n"
        "        TCP_CHECK { }\n"
        "        SSL_GET {\n url {\n path /\n }\n }\n"
        "        MISC_CHECK {\n misc_path \"/bin/true arg\"\n misc_dynamic\n }\n"
        "        PING_CHECK { }\n"
        "        UDP_CHECK { }\n"
        "        DNS_CHECK {\n type A\n name example.org\n }\n"
        "        SMTP_CHECK {\n helo_name me\n host {\n connect_ip 192.0.2.7\n }\n }\n"
        "    }\n"
        "    real_server 198.51.100.2 80 {\n"
        "        lb_kind NAT\n"
        "    }\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    const auto& vs = r.config.virtual_server(0);
    CHECK(vs.address() == "192.0.2.1");
    CHECK(vs.port() == 80);
    CHECK(vs.delay_loop_ms() == 6000);
    CHECK(vs.lb_algo() == "wrr");
    CHECK(vs.lb_kind() == pb::DR);
    CHECK(vs.persistence_timeout_s() == 300);
    CHECK(vs.quorum() == 2);
    CHECK(vs.sorry_server().address() == "192.0.2.99");
    REQUIRE(vs.real_server_size() == 2);
    const auto& rs = vs.real_server(0);
    CHECK(rs.weight() == 3);
    CHECK(rs.rise() == 2);
    CHECK(rs.delay_loop_fast_ms() == 1000);
    CHECK(rs.delay_loop_down_ms() == 30000);
    CHECK(rs.delay_loop_ms() == 6000);  // inherited from the virtual server
    REQUIRE(rs.checkers_size() == 8);
    const auto& http = rs.checkers(0).http_get();
    CHECK(http.url(0).path() == "/health");
    CHECK(http.url(0).status_code_size() == 3);
    CHECK(http.common().connect_timeout_ms() == 3000);
    CHECK(http.common().retry() == 3);
    CHECK(http.common().delay_before_retry_ms() == 2000);
    CHECK(http.common().connect_port() == 80);
    CHECK(rs.checkers(1).tcp_check().common().connect_timeout_ms() == 5000);  // keepalived's default
    CHECK(rs.checkers(2).has_ssl_get());
    CHECK(rs.checkers(3).misc_check().misc_path() == "/bin/true arg");
    CHECK(rs.checkers(3).misc_check().misc_dynamic());
    CHECK(rs.checkers(4).has_ping_check());
    CHECK(rs.checkers(5).has_udp_check());
    CHECK(rs.checkers(6).dns_check().name() == "example.org");
    CHECK(rs.checkers(7).smtp_check().host(0).common().connect_ip() == "192.0.2.7");
    CHECK(vs.real_server(1).lb_kind() == pb::NAT);
}

TEST_CASE(
    "checker retry, delay_before_retry and warmup: own, real server's, virtual server's, type default") {
    auto r = parse(
        "virtual_server 192.0.2.1 80 {\n"
        "    delay_loop 10\n"
        "    real_server 198.51.100.1 80 {\n"
        "        TCP_CHECK { }\n"
        "        HTTP_GET {\n url {\n path /\n }\n }\n"
        "        MISC_CHECK {\n misc_path /bin/true\n }\n"
        "        DNS_CHECK {\n name example.org\n }\n"
        "        TCP_CHECK {\n retry 0\n warmup 0\n delay_before_retry 0\n }\n"
        "    }\n"
        "    real_server 198.51.100.2 80 {\n"
        "        retry 5\n"
        "        warmup 2\n"
        "        MISC_CHECK {\n misc_path /bin/true\n }\n"
        "        HTTP_GET {\n url {\n path /\n }\n delay_before_retry 7\n }\n"
        "    }\n"
        "}\n"
        "virtual_server 192.0.2.2 80 {\n"
        "    retry 0\n"
        "    delay_before_retry 4\n"
        "    real_server 198.51.100.3 80 {\n"
        "        DNS_CHECK {\n name example.org\n }\n"
        "    }\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    const auto& rs1 = r.config.virtual_server(0).real_server(0);
    const auto& tcp = rs1.checkers(0).tcp_check().common();
    CHECK(tcp.retry() == 1);
    CHECK(tcp.delay_before_retry_ms() == 1000);
    CHECK_FALSE(tcp.has_warmup_ms());  // spread over delay_loop
    const auto& http = rs1.checkers(1).http_get().common();
    CHECK(http.retry() == 1);
    CHECK(http.delay_before_retry_ms() == 3000);
    const auto& misc = rs1.checkers(2).misc_check().common();
    CHECK(misc.retry() == 0);
    CHECK(misc.delay_before_retry_ms() == 1000);
    const auto& dns = rs1.checkers(3).dns_check().common();
    CHECK(dns.retry() == 3);
    CHECK(dns.delay_before_retry_ms() == 10000);  // its delay_loop
    const auto& zero = rs1.checkers(4).tcp_check().common();
    CHECK(zero.retry() == 0);  // retry 0 is kept, not turned into the default
    REQUIRE(zero.has_warmup_ms());
    CHECK(zero.warmup_ms() == 0);  // warmup 0 disables spreading
    CHECK(zero.delay_before_retry_ms() == 0);
    const auto& rs2 = r.config.virtual_server(0).real_server(1);
    CHECK(rs2.checkers(0).misc_check().common().retry() == 5);  // the real server's, over the type default
    CHECK(rs2.checkers(0).misc_check().common().warmup_ms() == 2000);
    CHECK(rs2.checkers(1).http_get().common().retry() == 5);
    CHECK(rs2.checkers(1).http_get().common().delay_before_retry_ms() == 7000);
    const auto& vs2 = r.config.virtual_server(1).real_server(0).checkers(0).dns_check().common();
    CHECK(vs2.retry() == 0);  // the virtual server's, over DNS_CHECK's 3
    CHECK(vs2.delay_before_retry_ms() == 4000);
}

TEST_CASE("virtual_server by fwmark and by group; virtual_server_group entries and ranges") {
    auto r = parse(
        "virtual_server_group G {\n"
        "    10.0.0.1 80\n"
        "    192.168.200.3-10 80\n"
        "    fwmark 7\n"
        "}\n"
        "virtual_server group G {\n"
        "    real_server 10.1.0.1 80 { }\n"
        "}\n"
        "virtual_server fwmark 5 {\n"
        "    real_server 10.1.0.2 {\n"
        "        weight 0\n"
        "    }\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    const auto& g = r.config.virtual_server_group(0);
    REQUIRE(g.entries_size() == 3);
    CHECK(g.entries(1).address() == "192.168.200.3");
    CHECK(g.entries(1).range_end() == 10);
    CHECK(g.entries(2).fwmark() == 7);
    CHECK(r.config.virtual_server(0).group() == "G");
    CHECK(r.config.virtual_server(1).fwmark() == 5);
    CHECK(r.config.virtual_server(1).real_server(0).port() == 0);
}

TEST_CASE("check_script inside virtual_server names vrrp_scripts, with a warning") {
    auto r = parse(
        "vrrp_script chk_http {\n    script /bin/true\n}\n"
        "virtual_server 192.0.2.1 80 {\n"
        "    check_script {\n"
        "        chk_http\n"
        "    }\n"
        "    real_server 192.0.2.2 80 { }\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    CHECK(r.config.virtual_server(0).check_script(0) == "chk_http");
    CHECK(has_warning(r, 5, 5, "guide habit"));
}

TEST_CASE("static addresses, routes and rules are modelled, with a warning that vigil does not apply them") {
    auto r = parse(
        "static_ipaddress {\n    192.0.2.5/24 dev lo\n}\n"
        "static_routes {\n    src 192.0.2.5 198.51.100.0/24 via 192.0.2.1 dev lo table 100\n"
        "    blackhole 198.51.101.1/32\n}\n"
        "static_rules {\n    from 192.0.2.0/24 table 1\n}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    CHECK(r.config.static_ipaddress(0).address() == "192.0.2.5");
    CHECK(r.config.static_routes(0).src() == "192.0.2.5");
    CHECK(r.config.static_routes(0).destination() == "198.51.100.0");
    CHECK(r.config.static_routes(0).via() == "192.0.2.1");
    CHECK(r.config.static_routes(0).table() == "100");
    CHECK(r.config.static_routes(1).type() == "blackhole");
    CHECK(r.config.static_rules(0).from() == "192.0.2.0");
    CHECK(r.config.static_rules(0).from_prefix() == 24);
    CHECK(has_warning(r, 1, 1, "'static_ipaddress' in top level is accepted but vigil does not act on it"));
}

TEST_CASE("a keyword vigil does not act on is kept in `other` with a warning naming it and its place") {
    auto r = parse("global_defs {\n    enable_snmp_vrrp\n    vrrp_rt_priority 50\n}\n");
    REQUIRE(r.ok());
    CHECK(has_warning(r, 3, 5, "'vrrp_rt_priority' in global_defs is accepted but vigil does not act on it"));
    const auto& other = r.config.global_defs().other();
    REQUIRE(other.size() == 2);
    CHECK(other[1].keyword() == "vrrp_rt_priority");
    CHECK(other[1].args(0) == "50");
    CHECK(other[1].location().line() == 3);
}

TEST_CASE("an unknown keyword is a warning, and an error with --strict") {
    const char* text = "vrrp_instance V {\n    interface lo\n    virtual_router_id 1\n    frobnicate 3\n}\n";
    auto r = parse(text);
    CHECK(r.ok());
    CHECK(has_warning(r, 4, 5, "unknown keyword 'frobnicate' in vrrp_instance"));
    CHECK(r.config.vrrp_instance(0).other(0).keyword() == "frobnicate");
    cfg::ParseOptions strict;
    strict.strict = true;
    auto s = parse(text, strict);
    CHECK_FALSE(s.ok());
    CHECK(has_error(s, 4, 5, "unknown keyword 'frobnicate'"));
}

TEST_CASE("the dump is JSON with the model's field names and values") {
    auto r = parse(
        "vrrp_instance V {\n    interface lo\n    virtual_router_id 9\n    advert_int 0.5\n version 3\n}\n");
    REQUIRE(r.ok());
    auto json = cfg::to_json(r.config);
    CHECK(json.find("\"virtual_router_id\": 9") != std::string::npos);
    CHECK(json.find("\"advert_int_ms\": 500") != std::string::npos);
}
