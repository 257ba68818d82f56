#pragma once
// Gratuitous ARP and unsolicited neighbour advertisement frames, as pure functions (garp.hpp sends them).

#include <cstdint>
#include <span>
#include <vector>

#include <asio/ip/address_v4.hpp>
#include <asio/ip/address_v6.hpp>

#include "common/netlink/message.hpp"

namespace vigil::vrrp {

using common::netlink::MacAddress;

// A gratuitous ARP request as keepalived sends it: Ethernet broadcast from `mac`, ARP request with
// sender = target = `vip`, sender hardware = `mac`, target hardware = broadcast. 42 bytes.
std::vector<std::uint8_t> build_garp_frame(const MacAddress& mac, const asio::ip::address_v4& vip);

// An unsolicited neighbour advertisement (RFC 4861 7.2.6): Ethernet to 33:33:00:00:00:01, IPv6 from `source`
// to ff02::1 with hop limit 255, ICMPv6 type 136 with the override flag (not solicited), target `target`, and
// a target link-layer address option carrying `mac`; the ICMPv6 checksum is filled in. 86 bytes.
std::vector<std::uint8_t> build_unsolicited_na_frame(const MacAddress& mac,
                                                     const asio::ip::address_v6& target,
                                                     const asio::ip::address_v6& source);

// The ICMPv6 checksum of `message` (its checksum field zero) over the IPv6 pseudo-header (RFC 8200 8.1).
std::uint16_t icmpv6_checksum(const asio::ip::address_v6& source, const asio::ip::address_v6& destination,
                              std::span<const std::uint8_t> message);

}  // namespace vigil::vrrp
