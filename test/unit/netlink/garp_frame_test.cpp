// Gratuitous ARP and unsolicited NA frames against golden bytes (RFC 826, RFC 5227, RFC 4861, RFC 2464).
// The NA checksum 0xa924 was computed independently (a few lines of Python over the pseudo-header).

#include <catch2/catch.hpp>

#include "test/unit/netlink/bytes.hpp"
#include "vrrp_child/garp_frame.hpp"

using namespace vigil::vrrp;
using vigil::test::ByteWriter;

namespace {
const MacAddress kMac{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
}

TEST_CASE("a gratuitous ARP is a broadcast request with sender and target both the VIP") {
    ByteWriter w;
    w.raw({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}).be16(0x0806);
    w.be16(1).be16(0x0800).u8(6).u8(4).be16(1 /* request */);
    w.raw({0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 10, 0, 0, 100});
    w.raw({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 10, 0, 0, 100});

    const auto frame = build_garp_frame(kMac, asio::ip::make_address_v4("10.0.0.100"));
    CHECK(frame.size() == 42);
    CHECK(frame == w.out);
}

TEST_CASE(
    "an unsolicited NA goes to all nodes with hop limit 255, override set, solicited clear, TLLA option") {
    const auto target = asio::ip::make_address_v6("2001:db8::100");
    const auto source = asio::ip::make_address_v6("fe80::1");
    ByteWriter w;
    w.raw({0x33, 0x33, 0, 0, 0, 1, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}).be16(0x86dd);
    w.raw({0x60, 0, 0, 0}).be16(32).u8(58).u8(255);
    w.raw({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    w.raw({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    w.u8(136).u8(0).be16(0xa924).raw({0x20, 0, 0, 0});
    w.raw({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00});
    w.u8(2).u8(1).raw({0x02, 0x00, 0x5e, 0x10, 0x20, 0x30});

    const auto frame = build_unsolicited_na_frame(kMac, target, source);
    CHECK(frame.size() == 86);
    CHECK(frame == w.out);
}

TEST_CASE("the ICMPv6 checksum of a message that carries its own checksum verifies to zero") {
    const auto source = asio::ip::make_address_v6("fe80::1");
    const auto frame = build_unsolicited_na_frame(kMac, asio::ip::make_address_v6("2001:db8::7"), source);
    const std::span<const std::uint8_t> icmp(frame.data() + 54, frame.size() - 54);
    CHECK(icmpv6_checksum(source, asio::ip::make_address_v6("ff02::1"), icmp) == 0);
    // A different source gives a different checksum: the pseudo-header is covered.
    CHECK(icmpv6_checksum(asio::ip::make_address_v6("fe80::2"), asio::ip::make_address_v6("ff02::1"), icmp) !=
          0);
}
