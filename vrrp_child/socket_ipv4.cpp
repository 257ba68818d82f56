#include "vrrp_child/socket_ipv4.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace vigil::vrrp {
namespace {

constexpr std::size_t kMinHeader = 20;

asio::ip::address_v4 address_at(std::span<const std::uint8_t> bytes, std::size_t offset) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), bytes.data() + offset, b.size());
    return asio::ip::address_v4(b);
}

}  // namespace

std::variant<Ipv4Datagram, std::string> split_ipv4_datagram(std::span<const std::uint8_t> datagram) {
    if (datagram.size() < kMinHeader) {
        return fmt::format("{} bytes: shorter than an IPv4 header", datagram.size());
    }
    const unsigned version = datagram[0] >> 4;
    if (version != 4) return fmt::format("IP version {} on an IPv4 socket", version);
    const std::size_t header = static_cast<std::size_t>(datagram[0] & 0x0f) * 4;
    if (header < kMinHeader || header > datagram.size()) {
        return fmt::format("IPv4 header length {} in a {}-byte datagram", header, datagram.size());
    }
    const std::size_t total = (static_cast<std::size_t>(datagram[2]) << 8) | datagram[3];
    if (total < header) return fmt::format("IPv4 total length {} below its header length {}", total, header);
    Ipv4Datagram d;
    d.ttl = datagram[8];
    d.source = address_at(datagram, 12);
    d.destination = address_at(datagram, 16);
    d.payload = datagram.subspan(header, std::min(total, datagram.size()) - header);
    return d;
}

}  // namespace vigil::vrrp
