#include "vrrp_child/garp_frame.hpp"

namespace vigil::vrrp {
namespace {

constexpr std::uint16_t kEtherTypeArp = 0x0806;
constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr std::uint16_t kArpHardwareEthernet = 1;
constexpr std::uint16_t kArpProtocolIpv4 = 0x0800;
constexpr std::uint16_t kArpOpRequest = 1;
constexpr std::uint8_t kIpProtoIcmpv6 = 58;
constexpr std::uint8_t kIcmpv6NeighbourAdvert = 136;
constexpr std::uint8_t kNaFlagOverride = 0x20;
constexpr std::uint8_t kOptionTargetLinkLayer = 2;
constexpr std::uint8_t kHopLimit = 255;

struct Writer {
    std::vector<std::uint8_t> out;
    void u8(std::uint8_t v) { out.push_back(v); }
    void be16(std::uint16_t v) {
        u8(static_cast<std::uint8_t>(v >> 8));
        u8(static_cast<std::uint8_t>(v));
    }
    template <typename Range>
    void bytes(const Range& r) {
        out.insert(out.end(), r.begin(), r.end());
    }
    void fill(std::size_t n, std::uint8_t v) { out.insert(out.end(), n, v); }
};

std::uint32_t sum16(std::span<const std::uint8_t> data, std::uint32_t sum) {
    for (std::size_t i = 0; i + 1 < data.size(); i += 2) sum += (data[i] << 8) | data[i + 1];
    if (data.size() % 2 != 0) sum += data.back() << 8;
    return sum;
}

}  // namespace

std::vector<std::uint8_t> build_garp_frame(const MacAddress& mac, const asio::ip::address_v4& vip) {
    Writer w;
    w.fill(6, 0xff);  // Ethernet destination: broadcast
    w.bytes(mac);
    w.be16(kEtherTypeArp);
    w.be16(kArpHardwareEthernet);
    w.be16(kArpProtocolIpv4);
    w.u8(6);
    w.u8(4);
    w.be16(kArpOpRequest);
    w.bytes(mac);
    w.bytes(vip.to_bytes());
    w.fill(6, 0xff);  // target hardware: broadcast, as keepalived sends it
    w.bytes(vip.to_bytes());
    return w.out;
}

std::uint16_t icmpv6_checksum(const asio::ip::address_v6& source, const asio::ip::address_v6& destination,
                              std::span<const std::uint8_t> message) {
    std::uint32_t sum = 0;
    const auto s = source.to_bytes();
    const auto d = destination.to_bytes();
    sum = sum16(s, sum);
    sum = sum16(d, sum);
    const auto len = static_cast<std::uint32_t>(message.size());
    sum += len >> 16;
    sum += len & 0xffff;
    sum += kIpProtoIcmpv6;
    sum = sum16(message, sum);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

std::vector<std::uint8_t> build_unsolicited_na_frame(const MacAddress& mac,
                                                     const asio::ip::address_v6& target,
                                                     const asio::ip::address_v6& source) {
    const auto all_nodes = asio::ip::make_address_v6("ff02::1");

    Writer icmp;
    icmp.u8(kIcmpv6NeighbourAdvert);
    icmp.u8(0);    // code
    icmp.be16(0);  // checksum, filled in below
    icmp.u8(kNaFlagOverride);
    icmp.fill(3, 0);  // rest of the flags word, reserved
    icmp.bytes(target.to_bytes());
    icmp.u8(kOptionTargetLinkLayer);
    icmp.u8(1);  // option length in units of 8 bytes
    icmp.bytes(mac);
    const std::uint16_t checksum = icmpv6_checksum(source, all_nodes, icmp.out);
    icmp.out[2] = static_cast<std::uint8_t>(checksum >> 8);
    icmp.out[3] = static_cast<std::uint8_t>(checksum);

    Writer w;
    w.bytes(MacAddress{0x33, 0x33, 0x00, 0x00, 0x00, 0x01});  // multicast MAC of ff02::1 (RFC 2464)
    w.bytes(mac);
    w.be16(kEtherTypeIpv6);
    w.u8(0x60);  // version 6, traffic class 0, flow label 0
    w.fill(3, 0);
    w.be16(static_cast<std::uint16_t>(icmp.out.size()));
    w.u8(kIpProtoIcmpv6);
    w.u8(kHopLimit);
    w.bytes(source.to_bytes());
    w.bytes(all_nodes.to_bytes());
    w.bytes(icmp.out);
    return w.out;
}

}  // namespace vigil::vrrp
