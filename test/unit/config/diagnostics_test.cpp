// The remaining diagnostics, each with its message and exact place.

#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace vigil::test;

TEST_CASE("'{' with no keyword before it") {
    auto r = parse("{\n}\n");
    CHECK(has_error(r, 1, 1, "'{' does not follow a keyword that opens a block"));
}

TEST_CASE("blocks nested too deeply") {
    std::string text;
    for (int i = 0; i < 70; ++i) text += "a {\n";
    for (int i = 0; i < 70; ++i) text += "}\n";
    auto r = parse(text);
    CHECK(has_error(r, 66, 3, "blocks are nested too deeply (more than 64)"));
}

TEST_CASE("an include that matches no file is a warning at its pattern") {
    auto r = parse("include /nonexistent-vigil-dir/*.conf\n");
    CHECK(has_warning(r, 1, 9, "include '/nonexistent-vigil-dir/*.conf' matched no file"));
    auto a = parse("includea /nonexistent-vigil-dir/*.conf\n");
    CHECK(has_error(a, 1, 10, "matched no file"));
}

TEST_CASE("include can be turned off") {
    cfg::ParseOptions o;
    o.allow_include = false;
    auto r = parse("include x.conf\n", o);
    CHECK(has_error(r, 1, 1, "include is disabled here"));
}

TEST_CASE("~LST and ~SEQ with malformed arguments") {
    auto l = parse("~LST({A, B}, {1}) x\n");
    CHECK(has_error(l, 1, 1, "~LST value {1} does not give one value per variable"));
    auto s = parse("~SEQ(A, 1, 0, 5) x\n");
    CHECK(has_error(s, 1, 1, "~SEQ needs (VAR, [START, [STEP,]] END)"));
    auto c = parse("~SEQ(A, 1, 5 x\n");
    CHECK(has_error(c, 1, 1, "~SEQ( has no closing ')'"));
}

TEST_CASE("a global_defs keyword at the top level says where it belongs") {
    auto r = parse("router_id x\n");
    CHECK(has_warning(r, 1, 1, "'router_id' belongs inside global_defs { }"));
}

TEST_CASE("argument counts and blocks") {
    auto r = parse(
        "vrrp_instance V {\n"
        "    interface\n"
        "    virtual_router_id 1 2\n"
        "    state { }\n"
        "    virtual_ipaddress 10.0.0.1\n"
        "}\n");
    CHECK(has_error(r, 2, 5, "'interface' needs 1 argument"));
    CHECK(has_error(r, 3, 25, "'virtual_router_id' takes 1 argument; '2' is one too many"));
    CHECK(has_error(r, 4, 5, "'state' needs 1 argument"));
    CHECK(has_error(r, 5, 5, "'virtual_ipaddress' needs a { } block"));
}

TEST_CASE("checker blocks that lack their essential setting") {
    auto r = parse(
        "virtual_server 10.0.0.1 80 {\n"
        "    real_server 10.0.0.2 80 {\n"
        "        HTTP_GET {\n"
        "            url {\n"
        "                status_code 200\n"
        "            }\n"
        "        }\n"
        "        MISC_CHECK {\n"
        "        }\n"
        "    }\n"
        "}\n");
    CHECK(has_error(r, 4, 13, "url block has no 'path'"));
    CHECK(has_error(r, 8, 9, "MISC_CHECK has no 'misc_path'"));
}

TEST_CASE("a virtual server or real server without a port") {
    auto r = parse(
        "virtual_server 10.0.0.1 {\n}\nvirtual_server 10.0.0.2 80 {\n    real_server 10.0.0.3 { }\n}\n");
    CHECK(has_error(r, 1, 1, "virtual_server 10.0.0.1 needs a port"));
    CHECK(has_error(r, 4, 5, "real_server 10.0.0.3 needs a port"));
}

TEST_CASE("values of the wrong kind") {
    auto r = parse(
        "vrrp_script s {\n    interval soon\n}\n"
        "virtual_server 10.0.0.1 80 {\n    lb_algo fastest\n    lb_kind NATT\n    protocol ICMP\n"
        "    persistence_engine sip_but_much_longer\n}\n"
        "global_defs {\n    log_timestamp maybe\n    log_level loud\n}\n");
    CHECK(has_error(r, 2, 14, "'interval' expects a time in seconds, not 'soon'"));
    CHECK(has_error(r, 5, 13, "unknown IPVS scheduler 'fastest'"));
    CHECK(has_error(r, 6, 13, "lb_kind must be NAT, DR or TUN, not 'NATT'"));
    CHECK(has_error(r, 7, 14, "protocol must be TCP, UDP or SCTP, not 'ICMP'"));
    CHECK(
        has_error(r, 8, 24, "persistence_engine name 'sip_but_much_longer' is longer than the kernel's 15"));
    CHECK(has_error(r, 11, 19, "'log_timestamp' expects on|off|true|false|yes|no, not 'maybe'"));
    CHECK(has_error(r, 12, 15, "log_level must be one of"));
}

TEST_CASE("route and rule lines: bad addresses are located") {
    auto r = parse(
        "static_routes {\n    10.0.0.0/8 via 10.0.0.256\n}\nstatic_rules {\n    to 192.168.100./24 table "
        "1\n}\n");
    CHECK(has_error(r, 2, 20, "'10.0.0.256' is not an IPv4 or IPv6 address"));
    CHECK(has_error(r, 5, 8, "'192.168.100.' is not an IPv4 or IPv6 address"));
}

TEST_CASE("an instance in two sync groups") {
    auto r = parse(
        "vrrp_instance A {\n interface lo\n virtual_router_id 1\n}\n"
        "vrrp_sync_group G1 {\n group {\n A\n }\n}\n"
        "vrrp_sync_group G2 {\n group {\n A\n }\n}\n");
    CHECK(has_error(r, 10, 17, "vrrp_instance A is in two sync groups: G1 and G2"));
}

TEST_CASE("text that is not UTF-8 is a located error, so the model only holds valid strings") {
    auto r =
        parse("global_defs {\n    router_id ab\xff\n}\nvrrp_script s {\n    script \"/bin/x\\xff\"\n}\n");
    CHECK(has_error(r, 2, 17, "this line is not valid UTF-8 text"));
    CHECK(has_error(r, 5, 12, "an escape in this string makes it invalid UTF-8"));
    CHECK(r.config.global_defs().router_id() != "ab\xff");
}
