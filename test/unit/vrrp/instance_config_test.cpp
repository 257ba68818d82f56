// Building the core's InstanceConfig from config.proto's VrrpInstance.

#include <catch2/catch.hpp>

#include "proto/config.pb.h"
#include "vrrp_child/instance_config.hpp"

using namespace vigil::vrrp;
namespace cfg = vigil::config;

namespace {

cfg::VrrpInstance base() {
    cfg::VrrpInstance p;
    p.set_name("VI_1");
    p.set_interface("eth0");
    p.set_virtual_router_id(51);
    p.set_priority(150);
    p.set_advert_int_ms(1000);
    p.set_version(2);
    p.set_family(cfg::INET);
    p.set_state(cfg::MASTER);
    auto* vip = p.add_virtual_ipaddress();
    vip->set_address("10.0.0.100");
    vip->set_prefix(24);
    auto* ex = p.add_virtual_ipaddress_excluded();
    ex->set_address("2001:db8::1");
    p.mutable_authentication()->set_auth_type(cfg::AUTH_PASS);
    p.mutable_authentication()->set_auth_pass("secret");
    p.set_garp_master_delay_ms(5000);
    p.set_garp_master_repeat(3);
    p.set_preempt_delay_ms(2000);
    return p;
}

}  // namespace

TEST_CASE("a keepalived-style v2 instance maps field by field", "[vrrp][config]") {
    auto r = make_instance_config(base());
    REQUIRE(r.errors.empty());
    REQUIRE(r.config);
    const InstanceConfig& c = *r.config;
    CHECK(c.name == "VI_1");
    CHECK(c.interface == "eth0");
    CHECK(c.vrid == 51);
    CHECK(c.version == 2);
    CHECK(c.priority == 150);
    CHECK(c.family == Family::kIpv4);
    CHECK(c.initial_state == InitialState::kMaster);
    CHECK(c.advert_int == std::chrono::milliseconds(1000));
    REQUIRE(c.vips.size() == 1);
    CHECK(c.vips[0].address == *IpAddr::parse("10.0.0.100"));
    CHECK(c.vips[0].prefix_len == 24);
    REQUIRE(c.excluded_vips.size() == 1);
    CHECK(c.excluded_vips[0].prefix_len == 128);
    CHECK(c.auth == AuthConfig{AuthType::kPass, "secret"});
    CHECK(c.garp.master_repeat == 3);
    CHECK(c.preempt);
    CHECK(c.preempt_delay == std::chrono::milliseconds(2000));
    CHECK(c.checksum_mode == ChecksumMode::kPseudoHeader);
}

TEST_CASE("invalid instances report every error", "[vrrp][config]") {
    auto p = base();
    p.set_virtual_router_id(0);
    p.set_advert_int_ms(1500);  // v2 needs whole seconds
    p.mutable_authentication()->set_auth_type(cfg::AUTH_AH);
    auto r = make_instance_config(p);
    CHECK_FALSE(r.config);
    CHECK(r.errors.size() == 3);
}

TEST_CASE("v3 takes centisecond intervals, ignores authentication with a warning", "[vrrp][config]") {
    auto p = base();
    p.set_version(3);
    p.set_advert_int_ms(50);
    p.set_nopreempt(true);
    p.set_v3_checksum_as_v2(true);
    auto r = make_instance_config(p);
    REQUIRE(r.config);
    CHECK(r.config->advert_int == std::chrono::milliseconds(50));
    CHECK(r.config->auth.type == AuthType::kNone);
    CHECK(r.warnings.size() == 1);
    CHECK_FALSE(r.config->preempt);
    CHECK(r.config->checksum_mode == ChecksumMode::kAsV2);
    p.set_advert_int_ms(55);
    CHECK_FALSE(make_instance_config(p).config);
}

TEST_CASE("VRRPv2 over IPv6 is refused, unset family follows the addresses", "[vrrp][config]") {
    cfg::VrrpInstance p;
    p.set_name("VI_6");
    p.set_interface("eth0");
    p.set_virtual_router_id(7);
    p.set_version(2);
    p.add_virtual_ipaddress()->set_address("2001:db8::100");
    auto r = make_instance_config(p);
    CHECK_FALSE(r.config);
    p.set_version(3);
    p.set_advert_int_ms(1000);
    r = make_instance_config(p);
    REQUIRE(r.config);
    CHECK(r.config->family == Family::kIpv6);
    CHECK(r.config->priority == 100);
}

TEST_CASE("tracking and unicast settings carry over", "[vrrp][config]") {
    auto p = base();
    auto* ti = p.add_track_interface();
    ti->set_interface("eth1");
    ti->set_weight(-30);
    auto* ts = p.add_track_script();
    ts->set_name("chk");
    ts->set_weight(10);
    auto* tv = p.add_track_virtual_server();
    tv->set_address("10.0.0.1");
    tv->set_port(80);
    p.set_unicast_src_ip("10.0.0.1");
    p.add_unicast_peer("10.0.0.2");
    auto r = make_instance_config(p);
    REQUIRE(r.config);
    CHECK(r.config->track_interfaces == std::vector<Tracked>{{"eth1", -30}});
    CHECK(r.config->track_scripts == std::vector<Tracked>{{"chk", 10}});
    CHECK(r.config->track_virtual_servers == std::vector<Tracked>{{"10.0.0.1:80 TCP", 0}});
    CHECK(r.config->unicast_src == IpAddr::parse("10.0.0.1"));
    CHECK(r.config->unicast_peers == std::vector<IpAddr>{*IpAddr::parse("10.0.0.2")});
    CHECK(r.config->unicast());
}
