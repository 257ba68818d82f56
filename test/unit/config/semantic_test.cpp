// Semantic checks with keepalived's limits: each one reported once, at the place that is wrong.

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "common/config/keywords.hpp"
#include "helpers.hpp"

using namespace vigil::test;

namespace {

std::string instance(const std::string& body, const std::string& name = "V") {
    return "vrrp_instance " + name + " {\n    interface lo\n" + body + "}\n";
}

}  // namespace

TEST_CASE("virtual_router_id must be 1..255") {
    auto r = parse(instance("    virtual_router_id 256\n"));
    CHECK(has_error(r, 3, 23, "virtual_router_id 256 is out of range 1..255"));
    auto z = parse(instance("    virtual_router_id 0\n"));
    CHECK(has_error(z, 3, 23, "out of range 1..255"));
}

TEST_CASE("a missing virtual_router_id is an error at the instance's name") {
    auto r = parse(instance(""));
    CHECK(has_error(r, 1, 15, "has no virtual_router_id"));
}

TEST_CASE("priority must be 1..255 and a number") {
    auto r = parse(instance("    virtual_router_id 1\n    priority 300\n"));
    CHECK(has_error(r, 4, 14, "priority 300 is out of range 1..255"));
    auto n = parse(instance("    virtual_router_id 1\n    priority high\n"));
    CHECK(has_error(n, 4, 14, "'priority' expects a number, not 'high'"));
}

TEST_CASE("advert_int: VRRPv2 takes whole seconds 1..255, VRRPv3 0.01..40.95") {
    auto v2 = parse(instance("    virtual_router_id 1\n    advert_int 0.5\n"));
    CHECK(has_error(v2, 4, 16, "not valid for VRRPv2"));
    auto v3 = parse(instance("    virtual_router_id 1\n    version 3\n    advert_int 41\n"));
    CHECK(has_error(v3, 5, 16, "out of range 0.01..40.95 seconds for VRRPv3"));
    auto small = parse(instance("    virtual_router_id 1\n    version 3\n    advert_int 0.001\n"));
    CHECK(has_error(small, 5, 16, "out of range 0.01..255 seconds"));
    auto ok = parse(instance("    virtual_router_id 1\n    version 3\n    advert_int 40.95\n"));
    CHECK(ok.ok());
}

TEST_CASE("at most 255 addresses in one advert") {
    std::string body = "    virtual_router_id 1\n    virtual_ipaddress {\n";
    for (int i = 0; i < 256; ++i)
        body += "        10.0." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1) + "\n";
    body += "    }\n";
    auto r = parse(instance(body));
    CHECK(has_error(r, 4, 5, "has 256 virtual addresses; one advert carries at most 255"));
}

TEST_CASE("one address family per instance") {
    auto r = parse(instance(
        "    virtual_router_id 1\n    virtual_ipaddress {\n        10.0.0.1\n        2001:db8::1\n    }\n"));
    CHECK(has_error(r, 6, 9, "mixes IPv4 and IPv6"));
}

TEST_CASE("auth_pass longer than 8 characters is truncated with a warning") {
    auto r =
        parse(instance("    virtual_router_id 1\n    authentication {\n        auth_type PASS\n"
                       "        auth_pass 0123456789\n    }\n"));
    REQUIRE(r.ok());
    CHECK(has_warning(r, 6, 19, "only the first 8 ('01234567') are used"));
    CHECK(r.config.vrrp_instance(0).authentication().auth_pass() == "01234567");
}

TEST_CASE("the same VRID twice on one interface is an error at the second") {
    auto r = parse(instance("    virtual_router_id 5\n", "A") + instance("    virtual_router_id 5\n", "B"));
    CHECK(has_error(r, 7, 23, "virtual_router_id 5 on interface lo is already used by vrrp_instance A"));
}

TEST_CASE("duplicate names are errors naming the first definition") {
    auto r = parse("vrrp_script s {\n script /bin/true\n}\nvrrp_script s {\n script /bin/true\n}\n");
    CHECK(has_error(r, 4, 13, "vrrp_script 's' is already defined at test.conf:1"));
}

TEST_CASE("references to undefined scripts, instances and groups are errors where they are used") {
    auto r = parse(instance("    virtual_router_id 1\n    track_script {\n        nosuch\n    }\n") +
                   "vrrp_sync_group G {\n    group {\n        V\n        ghost\n    }\n}\n"
                   "virtual_server group nogroup {\n}\n");
    CHECK(has_error(r, 5, 9, "no vrrp_script named 'nosuch' is defined"));
    CHECK(has_error(r, 11, 9, "no vrrp_instance named 'ghost' is defined"));
    CHECK(has_error(r, 14, 22, "no virtual_server_group named 'nogroup' is defined"));
}

TEST_CASE("the same real server twice in one virtual server is an error") {
    auto r = parse(
        "virtual_server 10.0.0.1 80 {\n    real_server 10.0.1.1 80 { }\n    real_server 10.0.1.1 80 { "
        "}\n}\n");
    CHECK(has_error(r, 3, 5, "real_server 10.0.1.1 80 is listed twice"));
}

TEST_CASE("weights and ports out of range") {
    auto r = parse(
        "virtual_server 10.0.0.1 70000 {\n}\nvirtual_server 10.0.0.2 80 {\n"
        "    real_server 10.0.1.1 80 {\n        weight -1\n    }\n}\n");
    CHECK(has_error(r, 1, 25, "out of range 0..65535"));
    CHECK(has_error(r, 5, 16, "weight -1 is out of range 0..65535"));
}

TEST_CASE("addresses and prefixes that do not parse") {
    auto r =
        parse(instance("    virtual_router_id 1\n    virtual_ipaddress {\n        192.168.100./24\n"
                       "        10.0.0.1/33\n    }\n"));
    CHECK(has_error(r, 5, 9, "'192.168.100.' is not an IPv4 or IPv6 address"));
    CHECK(has_error(r, 6, 9, "prefix /33 is longer than 32"));
}

TEST_CASE("nopreempt or preempt_delay with state MASTER: a warning, and cleared, as keepalived does") {
    auto r =
        parse(instance("    virtual_router_id 1\n    state MASTER\n    nopreempt\n    preempt_delay 5\n"));
    INFO(dump(r));
    CHECK(r.ok());
    CHECK(has_warning(r, 5, 5, "nopreempt does nothing with 'state MASTER'"));
    CHECK(has_warning(r, 6, 5, "preempt_delay does nothing with 'state MASTER'"));
    CHECK_FALSE(r.config.vrrp_instance(0).nopreempt());
    CHECK(r.config.vrrp_instance(0).preempt_delay_ms() == 0);
    auto ok =
        parse(instance("    virtual_router_id 1\n    state BACKUP\n    nopreempt\n    preempt_delay 5\n"));
    CHECK(ok.ok());
    CHECK(ok.diagnostics.empty());
    CHECK(ok.config.vrrp_instance(0).nopreempt());
    CHECK(ok.config.vrrp_instance(0).preempt_delay_ms() == 5000);
}

TEST_CASE("a missing interface or script is a warning under -t and an error for the daemon") {
    const std::string text =
        "vrrp_script s {\n    script /nonexistent/check.sh\n}\n"
        "vrrp_instance V {\n    interface vigil-nosuch0\n    virtual_router_id 1\n}\n";
    auto t = parse(text);
    CHECK(t.ok());
    CHECK(has_warning(t, 2, 12, "script '/nonexistent/check.sh' does not exist"));
    CHECK(has_warning(t, 5, 15, "interface 'vigil-nosuch0' does not exist on this host"));
    cfg::ParseOptions host;
    host.check_host = true;
    auto d = parse(text, host);
    CHECK(has_error(d, 2, 12, "does not exist"));
    CHECK(has_error(d, 5, 15, "does not exist on this host"));
}

TEST_CASE("several mistakes are all reported in one run") {
    auto r = parse(instance("    virtual_router_id 300\n    priority 0\n    state SLAVE\n"));
    CHECK(r.error_count() >= 3);
    CHECK(has_error(r, 3, 23, "out of range"));
    CHECK(has_error(r, 4, 14, "out of range"));
    CHECK(has_error(r, 5, 11, "state must be MASTER or BACKUP, not 'SLAVE'"));
}

TEST_CASE("docs/keywords.md is generated from the keyword table and matches it") {
    std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/keywords.md");
    REQUIRE(in);
    std::stringstream ss;
    ss << in.rdbuf();
    INFO("regenerate with: build/bin/vigil-keywords-doc > docs/keywords.md");
    CHECK(ss.str() == vigil::common::config::keywords_markdown());
}

TEST_CASE("the keyword table has every section's keywords once") {
    using namespace vigil::common::config;
    for (const auto& k : keyword_table()) {
        INFO(k.name);
        CHECK(find_keyword(k.section, k.name) == &k);
    }
    CHECK(find_keyword(Section::kVrrpInstance, "track_virtual_server")->extension);
    CHECK(find_keyword(Section::kRealServer, "rise")->status == Status::kSupported);
    CHECK(find_keyword(Section::kGlobalDefs, "vrrp_strict")->status == Status::kAccepted);
}
