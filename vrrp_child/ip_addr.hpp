#pragma once
// An IPv4 or IPv6 address as plain bytes: what VRRP carries on the wire and compares, with no socket types.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vigil::vrrp {

enum class Family : std::uint8_t { kIpv4, kIpv6 };

// "IPv4" or "IPv6".
std::string_view to_string(Family family);

// Bytes on the wire of one address of `family`: 4 or 16.
constexpr std::size_t address_size(Family family) {
    return family == Family::kIpv4 ? 4 : 16;
}

struct IpAddr {
    Family family = Family::kIpv4;
    // Network byte order; only the first address_size(family) bytes are used, the rest stay zero.
    std::array<std::uint8_t, 16> bytes{};

    // Builds an address from address_size(family) bytes in network order.
    static IpAddr from_bytes(Family family, std::span<const std::uint8_t> raw);
    // Parses dotted-quad IPv4 or textual IPv6 (no prefix length); nullopt when it is neither.
    static std::optional<IpAddr> parse(std::string_view text);
    // Builds an IPv4 address from a host-order 32-bit value (convenient in tests: 0x0a000001 is 10.0.0.1).
    static IpAddr v4(std::uint32_t host_order);

    // The used bytes, network order.
    std::span<const std::uint8_t> span() const { return {bytes.data(), address_size(family)}; }
    // True for 224.0.0.0/4 or ff00::/8.
    bool is_multicast() const;
    // Canonical text (inet_ntop).
    std::string to_string() const;

    // Orders IPv4 before IPv6, then numerically, as VRRP compares primary addresses.
    auto operator<=>(const IpAddr&) const = default;
};

// 224.0.0.18, the VRRP IPv4 multicast group.
IpAddr vrrp_group_v4();
// ff02::12, the VRRP IPv6 multicast group.
IpAddr vrrp_group_v6();

}  // namespace vigil::vrrp
