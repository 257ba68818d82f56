#include "vrrp_child/instance_config.hpp"

namespace vigil::vrrp {

bool same_identity(const InstanceConfig& a, const InstanceConfig& b) {
    return a.name == b.name && a.interface == b.interface && a.vrid == b.vrid && a.family == b.family &&
           a.version == b.version;
}

}  // namespace vigil::vrrp

#include <fmt/format.h>

#include "common/ipc/keys.hpp"
#include "proto/config.pb.h"

namespace vigil::vrrp {
namespace {

namespace cfg = vigil::config;

struct Builder {
    InstanceConfigResult result;
    InstanceConfig c;

    void error(std::string text) { result.errors.push_back(std::move(text)); }

    std::optional<IpAddr> address(const std::string& text, const char* what) {
        auto a = IpAddr::parse(text);
        if (!a) error(fmt::format("{} '{}' is not an IP address", what, text));
        return a;
    }

    std::vector<VirtualAddress> addresses(const google::protobuf::RepeatedPtrField<cfg::IpAddress>& list,
                                          const char* what) {
        std::vector<VirtualAddress> out;
        for (const auto& a : list) {
            auto addr = address(a.address(), what);
            if (!addr) continue;
            const unsigned max_prefix = addr->family == Family::kIpv4 ? 32 : 128;
            unsigned prefix = a.prefix() == 0 ? max_prefix : a.prefix();
            if (prefix > max_prefix) {
                error(fmt::format("{} {}/{}: prefix longer than {}", what, a.address(), prefix, max_prefix));
                prefix = max_prefix;
            }
            out.push_back(VirtualAddress{*addr, static_cast<std::uint8_t>(prefix), a.dev(), a.label()});
        }
        return out;
    }

    void timing(const cfg::VrrpInstance& p) {
        const unsigned ms = p.advert_int_ms() == 0 ? 1000 : p.advert_int_ms();
        if (c.version == 2 && (ms % 1000 != 0 || ms < 1000 || ms > 255000))
            error(fmt::format("advert_int {} ms: VRRPv2 needs whole seconds from 1 to 255", ms));
        if (c.version == 3 && (ms % 10 != 0 || ms < 10 || ms > 40950))
            error(
                fmt::format("advert_int {} ms: VRRPv3 needs a multiple of 10 ms from 10 ms to 40.95 s", ms));
        c.advert_int = milliseconds(ms);
        c.preempt = !p.nopreempt();
        c.preempt_delay = milliseconds(p.preempt_delay_ms());
        c.garp.master_delay = milliseconds(p.garp_master_delay_ms());
        c.garp.master_repeat = p.garp_master_repeat() == 0 ? 5 : p.garp_master_repeat();
        c.garp.master_refresh = milliseconds(p.garp_master_refresh_ms());
        c.garp.master_refresh_repeat =
            p.garp_master_refresh_repeat() == 0 ? 1 : p.garp_master_refresh_repeat();
    }

    void auth(const cfg::VrrpInstance& p) {
        const auto& a = p.authentication();
        if (a.auth_type() == cfg::AUTH_NONE) return;
        if (c.version == 3) {
            result.warnings.push_back("authentication is not part of VRRPv3: ignored");
            return;
        }
        if (a.auth_type() == cfg::AUTH_AH) {
            error("auth_type AH (IPSEC-AH) is not supported; use PASS or none");
            return;
        }
        c.auth.type = AuthType::kPass;
        c.auth.password = a.auth_pass().substr(0, 8);
    }

    void tracking(const cfg::VrrpInstance& p) {
        for (const auto& t : p.track_interface()) c.track_interfaces.push_back({t.interface(), t.weight()});
        for (const auto& t : p.track_script())
            c.track_scripts.push_back({t.name(), t.has_weight() ? t.weight() : 0});
        for (const auto& t : p.track_virtual_server()) {
            const std::string proto = vigil::common::ipc::protocol_name(t.protocol());
            std::string key;
            if (!t.group().empty())
                key = fmt::format("group {} {}", t.group(), proto);
            else if (t.fwmark() != 0)
                key = fmt::format("fwmark {} {}", t.fwmark(), proto);
            else if (t.address().find(':') != std::string::npos)
                key = fmt::format("[{}]:{} {}", t.address(), t.port(), proto);
            else
                key = fmt::format("{}:{} {}", t.address(), t.port(), proto);
            c.track_virtual_servers.push_back({key, t.weight()});
        }
        for (const auto* list : {&c.track_interfaces, &c.track_scripts, &c.track_virtual_servers})
            for (const auto& t : *list)
                if (t.weight < -253 || t.weight > 253)
                    error(fmt::format("tracked {} weight {} outside -253..253", t.name, t.weight));
    }

    void family(const cfg::VrrpInstance& p) {
        if (p.family() == cfg::INET6)
            c.family = Family::kIpv6;
        else if (p.family() == cfg::INET)
            c.family = Family::kIpv4;
        else if (!c.vips.empty())
            c.family = c.vips.front().address.family;
        if (c.version == 2 && c.family == Family::kIpv6) error("VRRPv2 is IPv4 only; use version 3 for IPv6");
        for (const auto& v : c.vips)
            if (v.address.family != c.family)
                error("virtual_ipaddress " + v.address.to_string() +
                      " is not of the instance's address family");
    }
};

}  // namespace

InstanceConfigResult make_instance_config(const vigil::config::VrrpInstance& p) {
    Builder b;
    auto& c = b.c;
    c.name = p.name();
    c.interface = p.interface();
    if (c.interface.empty()) b.error("no interface");
    if (p.virtual_router_id() < 1 || p.virtual_router_id() > 255)
        b.error(fmt::format("virtual_router_id {} outside 1..255", p.virtual_router_id()));
    c.vrid = static_cast<std::uint8_t>(p.virtual_router_id());
    c.version = static_cast<std::uint8_t>(p.version() == 0 ? 2 : p.version());
    if (c.version != 2 && c.version != 3) b.error(fmt::format("version {}: only 2 and 3 exist", p.version()));
    c.initial_state = p.state() == cfg::MASTER ? InitialState::kMaster : InitialState::kBackup;
    // keepalived: with no priority, `state MASTER` means address owner.
    unsigned priority = p.priority() != 0 ? p.priority() : (p.state() == cfg::MASTER ? 255 : 100);
    if (priority > 255) b.error(fmt::format("priority {} outside 1..255", priority));
    c.priority = static_cast<std::uint8_t>(std::min(priority, 255u));
    c.vips = b.addresses(p.virtual_ipaddress(), "virtual_ipaddress");
    c.excluded_vips = b.addresses(p.virtual_ipaddress_excluded(), "virtual_ipaddress_excluded");
    if (c.vips.size() > 255)
        b.error("more than 255 virtual_ipaddress entries (use virtual_ipaddress_excluded)");
    b.family(p);
    b.timing(p);
    b.auth(p);
    b.tracking(p);
    if (!p.unicast_src_ip().empty()) c.unicast_src = b.address(p.unicast_src_ip(), "unicast_src_ip");
    for (const auto& peer : p.unicast_peer())
        if (auto a = b.address(peer, "unicast_peer")) c.unicast_peers.push_back(*a);
    c.checksum_mode = p.v3_checksum_as_v2() ? ChecksumMode::kAsV2 : ChecksumMode::kPseudoHeader;
    if (b.result.errors.empty()) b.result.config = std::move(c);
    return std::move(b.result);
}

}  // namespace vigil::vrrp
