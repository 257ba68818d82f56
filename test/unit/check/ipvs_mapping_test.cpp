// From keepalived.conf's virtual_server to the IPVS service vigil programs (checker_child/ipvs_mapping.hpp):
// scheduler, persistence, its engine, flags and granularity as the kernel takes them.
#include <catch2/catch.hpp>

#include "checker_child/ipvs_mapping.hpp"
#include "common/config/config.hpp"

using namespace vigil;

namespace {

config::Config parse(const std::string& text) {
    common::config::ParseOptions options;
    auto parsed = common::config::parse_string(text, "test.conf", options);
    REQUIRE(parsed.ok());
    return parsed.config;
}

}  // namespace

TEST_CASE("a virtual server's scheduler, persistence, persistence engine and flags reach its service") {
    auto c = parse(
        "virtual_server 10.0.0.2 5060 {\n    protocol UDP\n    lb_algo sh\n    lb_kind DR\n"
        "    persistence_timeout 60\n    persistence_granularity 255.255.255.0\n"
        "    persistence_engine sip\n    ops\n    sh-port\n"
        "    real_server 10.0.1.1 5060 {\n    }\n}\n");
    REQUIRE(c.virtual_server_size() == 1);
    const auto mapped = check::services_of(c.virtual_server(0), c);
    REQUIRE(mapped.error.empty());
    REQUIRE(mapped.services.size() == 1);
    const check::Service& s = mapped.services[0];
    CHECK(check::to_string(s.key) == "UDP 10.0.0.2:5060");
    CHECK(s.scheduler == "sh");
    CHECK(s.timeout == 60);
    CHECK(s.pe_name == "sip");
    CHECK(s.netmask == 0xffffff00);
    CHECK(s.flags == (check::kSvcFlagPersistent | check::kSvcFlagOnePacket | check::kSvcFlagSched2));
}

TEST_CASE("without persistence_engine a service has none") {
    auto c = parse("virtual_server 10.0.0.2 80 {\n    real_server 10.0.1.1 80 {\n    }\n}\n");
    const auto mapped = check::services_of(c.virtual_server(0), c);
    REQUIRE(mapped.services.size() == 1);
    CHECK(mapped.services[0].pe_name.empty());
    CHECK(mapped.services[0].scheduler == "wlc");
    CHECK(mapped.services[0].flags == 0);
}
