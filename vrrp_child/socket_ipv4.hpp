#pragma once
// The IPv4 header in front of what a raw IPv4 socket receives, as a pure function (unit-tested without root).

#include <cstdint>
#include <span>
#include <string>
#include <variant>

#include <asio/ip/address_v4.hpp>

namespace vigil::vrrp {

// What the IPv4 header of a received datagram says, and where the VRRP bytes are.
struct Ipv4Datagram {
    std::span<const std::uint8_t> payload;  // the bytes after the header, cut to the header's total length
    asio::ip::address_v4 source;
    asio::ip::address_v4 destination;
    std::uint8_t ttl = 0;
};

// Splits a datagram read from a raw IPv4 socket into header facts and payload, or says why it cannot:
// shorter than a header, not version 4, a header length below 20 or beyond the datagram, or a total length
// below the header length. Trailing bytes beyond the total length (link padding) are not payload.
std::variant<Ipv4Datagram, std::string> split_ipv4_datagram(std::span<const std::uint8_t> datagram);

}  // namespace vigil::vrrp
