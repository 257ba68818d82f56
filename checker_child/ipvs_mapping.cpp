#include "checker_child/ipvs_mapping.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace vigil::check {

namespace {

std::uint16_t ip_protocol(vigil::config::Protocol p) {
    switch (p) {
        case vigil::config::UDP:
            return IPPROTO_UDP;
        case vigil::config::SCTP:
            return IPPROTO_SCTP;
        default:
            return IPPROTO_TCP;
    }
}

Forward forward_of(vigil::config::LbKind k) {
    switch (k) {
        case vigil::config::DR:
            return Forward::kDirect;
        case vigil::config::TUN:
            return Forward::kTunnel;
        default:
            return Forward::kMasq;
    }
}

// The attributes every service of `vs` shares.
Service base_service(const vigil::config::VirtualServer& vs) {
    Service s;
    s.scheduler = vs.lb_algo().empty() ? "wlc" : vs.lb_algo();
    if (vs.persistence_timeout_s()) {
        s.flags |= kSvcFlagPersistent;
        s.timeout = vs.persistence_timeout_s();
    }
    if (vs.ops()) s.flags |= kSvcFlagOnePacket;
    for (const auto& f : vs.lb_flags()) {
        if (f == "flag-1" || f == "sh-fallback" || f == "mh-fallback") s.flags |= kSvcFlagSched1;
        if (f == "flag-2" || f == "sh-port" || f == "mh-port") s.flags |= kSvcFlagSched2;
        if (f == "flag-3") s.flags |= kSvcFlagSched3;
    }
    s.pe_name = vs.persistence_engine();
    return s;
}

void set_granularity(const vigil::config::VirtualServer& vs, Service& s) {
    const auto& g = vs.persistence_granularity();
    if (g.empty()) {
        s.netmask = s.key.family == AF_INET6 ? 128 : 0xffffffff;
        return;
    }
    if (s.key.family == AF_INET6) {
        s.netmask = static_cast<std::uint32_t>(std::stoul(g));
        return;
    }
    in_addr mask{};
    if (inet_pton(AF_INET, g.c_str(), &mask) == 1) s.netmask = ntohl(mask.s_addr);
}

bool is_v6(const std::string& address) {
    return address.find(':') != std::string::npos;
}

}  // namespace

MappedServices services_of(const vigil::config::VirtualServer& vs, const vigil::config::Config& config) {
    MappedServices out;
    Service base = base_service(vs);
    auto add = [&](const std::string& address, std::uint32_t port, std::uint32_t fwmark, bool v6) {
        Service s = base;
        s.key.family = v6 ? AF_INET6 : AF_INET;
        if (fwmark) {
            s.key.fwmark = fwmark;
        } else {
            auto ip = parse_ip(address);
            if (!ip) {
                out.error = "address " + address + " does not parse";
                return;
            }
            s.key.address = *ip;
            s.key.port = static_cast<std::uint16_t>(port);
            s.key.protocol = ip_protocol(vs.protocol());
        }
        set_granularity(vs, s);
        out.services.push_back(s);
    };
    if (vs.fwmark()) {
        add("", 0, vs.fwmark(), vs.ip_family() == vigil::config::INET6);
    } else if (!vs.group().empty()) {
        const vigil::config::VirtualServerGroup* group = nullptr;
        for (const auto& g : config.virtual_server_group())
            if (g.name() == vs.group()) group = &g;
        if (!group) {
            out.error = "virtual_server_group " + vs.group() + " is not defined";
            return out;
        }
        for (const auto& e : group->entries()) {
            if (e.fwmark()) {
                add("", 0, e.fwmark(), e.family() == vigil::config::INET6);
                continue;
            }
            auto first = parse_ip(e.address());
            if (!first) {
                out.error = "address " + e.address() + " does not parse";
                continue;
            }
            // A range `A.B.C.D-E` varies the last byte (IPv4) or the last 16 bits (IPv6).
            unsigned last =
                first->family == AF_INET ? first->bytes[3] : (first->bytes[14] << 8 | first->bytes[15]);
            unsigned end = e.range_end() ? e.range_end() : last;
            for (unsigned v = last; v <= end; ++v) {
                IpAddress ip = *first;
                if (ip.family == AF_INET) {
                    ip.bytes[3] = static_cast<std::uint8_t>(v);
                } else {
                    ip.bytes[14] = static_cast<std::uint8_t>(v >> 8);
                    ip.bytes[15] = static_cast<std::uint8_t>(v);
                }
                add(to_string(ip), e.port(), 0, ip.family == AF_INET6);
            }
        }
    } else {
        add(vs.address(), vs.port(), 0, is_v6(vs.address()));
    }
    return out;
}

Dest dest_of(const vigil::config::VirtualServer& vs, const DesiredDestination& d) {
    Dest dest;
    if (auto ip = parse_ip(d.ip)) dest.key.address = *ip;
    dest.key.port = d.port;
    dest.weight = static_cast<std::uint32_t>(d.weight < 0 ? 0 : d.weight);
    vigil::config::LbKind kind = vs.lb_kind();
    if (d.sorry) {
        if (vs.sorry_server().lb_kind() != vigil::config::LB_KIND_UNSPECIFIED)
            kind = vs.sorry_server().lb_kind();
    } else {
        for (const auto& rs : vs.real_server()) {
            if (rs.address() != d.ip || rs.port() != d.port) continue;
            if (rs.lb_kind() != vigil::config::LB_KIND_UNSPECIFIED) kind = rs.lb_kind();
            dest.upper_threshold = rs.uthreshold();
            dest.lower_threshold = rs.lthreshold();
        }
    }
    dest.forward = forward_of(kind);
    return dest;
}

void own_everything(const vigil::config::VirtualServer& vs, const std::vector<Service>& services,
                    Ownership& owned) {
    for (const auto& s : services) {
        owned.services.insert(s.key);
        for (const auto& rs : vs.real_server()) {
            if (auto ip = parse_ip(rs.address()))
                owned.dests.insert({s.key, DestKey{*ip, static_cast<std::uint16_t>(rs.port())}});
        }
        if (!vs.sorry_server().address().empty()) {
            if (auto ip = parse_ip(vs.sorry_server().address()))
                owned.dests.insert(
                    {s.key, DestKey{*ip, static_cast<std::uint16_t>(vs.sorry_server().port())}});
        }
    }
}

}  // namespace vigil::check
