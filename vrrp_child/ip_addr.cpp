#include "vrrp_child/ip_addr.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace vigil::vrrp {

std::string_view to_string(Family family) {
    return family == Family::kIpv4 ? "IPv4" : "IPv6";
}

IpAddr IpAddr::from_bytes(Family family, std::span<const std::uint8_t> raw) {
    IpAddr addr;
    addr.family = family;
    std::copy_n(raw.begin(), std::min(raw.size(), address_size(family)), addr.bytes.begin());
    return addr;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
    std::string s(text);
    IpAddr addr;
    if (inet_pton(AF_INET, s.c_str(), addr.bytes.data()) == 1) {
        addr.family = Family::kIpv4;
        return addr;
    }
    if (inet_pton(AF_INET6, s.c_str(), addr.bytes.data()) == 1) {
        addr.family = Family::kIpv6;
        return addr;
    }
    return std::nullopt;
}

IpAddr IpAddr::v4(std::uint32_t host_order) {
    IpAddr addr;
    addr.bytes[0] = static_cast<std::uint8_t>(host_order >> 24);
    addr.bytes[1] = static_cast<std::uint8_t>(host_order >> 16);
    addr.bytes[2] = static_cast<std::uint8_t>(host_order >> 8);
    addr.bytes[3] = static_cast<std::uint8_t>(host_order);
    return addr;
}

bool IpAddr::is_multicast() const {
    return family == Family::kIpv4 ? (bytes[0] & 0xf0) == 0xe0 : bytes[0] == 0xff;
}

std::string IpAddr::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family == Family::kIpv4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
    return buf;
}

IpAddr vrrp_group_v4() {
    return IpAddr::v4(0xe0000012);
}

IpAddr vrrp_group_v6() {
    IpAddr addr;
    addr.family = Family::kIpv6;
    addr.bytes[0] = 0xff;
    addr.bytes[1] = 0x02;
    addr.bytes[15] = 0x12;
    return addr;
}

}  // namespace vigil::vrrp
