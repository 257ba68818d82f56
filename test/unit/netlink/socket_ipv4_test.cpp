// What a raw IPv4 socket hands up is split into header facts and the VRRP bytes; junk is refused with a
// reason.

#include <catch2/catch.hpp>

#include "test/unit/netlink/bytes.hpp"
#include "vrrp_child/socket_ipv4.hpp"

using namespace vigil::vrrp;
using vigil::test::ByteWriter;

namespace {

// An IPv4 header (20 bytes, or more with `options`), protocol 112, TTL `ttl`, 10.0.0.1 -> 224.0.0.18.
ByteWriter header(std::size_t payload, std::uint8_t ttl = 255, std::size_t options = 0) {
    ByteWriter w;
    const auto ihl = static_cast<std::uint8_t>((20 + options) / 4);
    w.u8(0x40 | ihl).u8(0xc0).be16(static_cast<std::uint16_t>(20 + options + payload));
    w.be16(0).be16(0).u8(ttl).u8(112).be16(0);
    w.raw({10, 0, 0, 1, 224, 0, 0, 18});
    w.zeros(options);
    return w;
}

std::string reason_of(const std::variant<Ipv4Datagram, std::string>& r) {
    REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
}

}  // namespace

TEST_CASE("a VRRP datagram gives its payload, TTL, source and destination") {
    ByteWriter w = header(8, 254);
    w.raw({0x31, 51, 100, 1, 0, 100, 0xab, 0xcd});
    auto r = split_ipv4_datagram(w.out);
    REQUIRE(std::holds_alternative<Ipv4Datagram>(r));
    const auto& d = std::get<Ipv4Datagram>(r);
    CHECK(d.ttl == 254);
    CHECK(d.source == asio::ip::make_address_v4("10.0.0.1"));
    CHECK(d.destination == asio::ip::make_address_v4("224.0.0.18"));
    CHECK(std::vector<std::uint8_t>(d.payload.begin(), d.payload.end()) ==
          std::vector<std::uint8_t>{0x31, 51, 100, 1, 0, 100, 0xab, 0xcd});
}

TEST_CASE("IP options are skipped by the header length; padding after the total length is not payload") {
    ByteWriter w = header(4, 255, 4);
    w.raw({1, 2, 3, 4});
    w.raw({0, 0, 0});  // link-layer padding
    auto r = split_ipv4_datagram(w.out);
    REQUIRE(std::holds_alternative<Ipv4Datagram>(r));
    const auto& d = std::get<Ipv4Datagram>(r);
    CHECK(std::vector<std::uint8_t>(d.payload.begin(), d.payload.end()) ==
          std::vector<std::uint8_t>{1, 2, 3, 4});
}

TEST_CASE("malformed datagrams are refused with a reason") {
    SECTION("shorter than a header") {
        ByteWriter w = header(0);
        w.out.resize(19);
        CHECK_THAT(reason_of(split_ipv4_datagram(w.out)), Catch::Contains("shorter than an IPv4 header"));
    }
    SECTION("not version 4") {
        ByteWriter w = header(0);
        w.out[0] = 0x65;
        CHECK_THAT(reason_of(split_ipv4_datagram(w.out)), Catch::Contains("IP version 6"));
    }
    SECTION("header length below 20") {
        ByteWriter w = header(0);
        w.out[0] = 0x44;
        CHECK_THAT(reason_of(split_ipv4_datagram(w.out)), Catch::Contains("header length 16"));
    }
    SECTION("header length beyond the datagram") {
        ByteWriter w = header(0);
        w.out[0] = 0x4f;
        CHECK_THAT(reason_of(split_ipv4_datagram(w.out)), Catch::Contains("header length 60"));
    }
    SECTION("total length below the header length") {
        ByteWriter w = header(0);
        w.out[2] = 0;
        w.out[3] = 12;
        CHECK_THAT(reason_of(split_ipv4_datagram(w.out)), Catch::Contains("total length 12"));
    }
}
