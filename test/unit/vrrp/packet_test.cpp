// The VRRP codec against packets laid out by hand from RFC 3768 section 5.1 and RFC 5798 section 5.1. The
// checksums below were computed independently and confirmed with tshark (vrrp.checksum.status == Good).

#include <catch2/catch.hpp>
#include <set>

#include "vrrp_child/instance_config.hpp"
#include "vrrp_child/packet.hpp"

using namespace vigil::vrrp;

namespace {

IpAddr ip(const char* text) {
    return *IpAddr::parse(text);
}

using Bytes = std::vector<std::uint8_t>;

// RFC 3768: version 2, type 1, VRID 51, priority 100, 1 address, auth type 1 (simple text), adver int 1 s,
// checksum, 192.168.1.10, "secret" padded to 8 bytes.
const Bytes kV2Golden = {0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0x7b, 0xcb, 0xc0, 0xa8,
                         0x01, 0x0a, 's',  'e',  'c',  'r',  'e',  't',  0x00, 0x00};

// RFC 5798 over IPv4: version 3, type 1, VRID 1, priority 100, 1 address, rsvd 0, max adver int 100 cs,
// checksum over the pseudo-header 192.168.1.1 -> 224.0.0.18, 192.168.1.10.
const Bytes kV3Golden = {0x31, 0x01, 0x64, 0x01, 0x00, 0x64, 0x06, 0xae, 0xc0, 0xa8, 0x01, 0x0a};
// The same with the checksum over the VRRP message only (v3_checksum_as_v2, RFC 9568 peers).
const Bytes kV3AsV2Golden = {0x31, 0x01, 0x64, 0x01, 0x00, 0x64, 0xa8, 0xe6, 0xc0, 0xa8, 0x01, 0x0a};

// RFC 5798 over IPv6: VRID 1, priority 200, 1 address 2001:db8::100, 100 cs, fe80::1 -> ff02::12.
const Bytes kV6Golden = {0x31, 0x01, 0xc8, 0x01, 0x00, 0x64, 0xd9, 0xc0, 0x20, 0x01, 0x0d, 0xb8,
                         0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0x01, 0x00};

IpFacts v4_facts() {
    return IpFacts{Family::kIpv4, ip("192.168.1.1"), ip("224.0.0.18"), 255, true};
}
IpFacts v6_facts() {
    return IpFacts{Family::kIpv6, ip("fe80::1"), ip("ff02::12"), 255, true};
}

Advert v2_advert() {
    Advert ad;
    ad.version = 2;
    ad.vrid = 51;
    ad.priority = 100;
    ad.interval_field = 1;
    ad.auth_type = AuthType::kPass;
    ad.auth_data = {'s', 'e', 'c', 'r', 'e', 't', 0, 0};
    ad.addresses = {ip("192.168.1.10")};
    return ad;
}

Advert v3_advert() {
    Advert ad;
    ad.version = 3;
    ad.vrid = 1;
    ad.priority = 100;
    ad.interval_field = 100;
    ad.addresses = {ip("192.168.1.10")};
    return ad;
}

InstanceConfig v2_config() {
    InstanceConfig c;
    c.name = "VI_1";
    c.interface = "eth0";
    c.vrid = 51;
    c.version = 2;
    c.advert_int = std::chrono::milliseconds(1000);
    c.vips = {VirtualAddress{ip("192.168.1.10"), 24, "", ""}};
    c.auth = AuthConfig{AuthType::kPass, "secret"};
    return c;
}

Reason parse_reason(const Bytes& b, const IpFacts& f = v4_facts()) {
    return parse(f, b).reason;
}

}  // namespace

TEST_CASE("VRRPv2 advert encodes to the RFC 3768 layout with its checksum", "[vrrp][packet]") {
    CHECK(encode(v2_advert(), ip("192.168.1.1"), ip("224.0.0.18")) == kV2Golden);
}

TEST_CASE("VRRPv3 IPv4 advert encodes with the pseudo-header checksum", "[vrrp][packet]") {
    CHECK(encode(v3_advert(), ip("192.168.1.1"), ip("224.0.0.18")) == kV3Golden);
}

TEST_CASE("VRRPv3 IPv4 advert encodes without pseudo-header in as-v2 mode", "[vrrp][packet]") {
    CHECK(encode(v3_advert(), ip("192.168.1.1"), ip("224.0.0.18"), ChecksumMode::kAsV2) == kV3AsV2Golden);
}

TEST_CASE("encoding into a used buffer gives the same bytes as a fresh encode", "[vrrp][packet]") {
    // The engine keeps one buffer for every advert it sends: what an earlier, longer one left must not show.
    std::vector<std::uint8_t> buffer(64, 0xee);
    Advert longer = v2_advert();
    longer.addresses.push_back(ip("192.168.1.200"));
    encode_into(longer, ip("192.168.1.1"), ip("224.0.0.18"), ChecksumMode::kPseudoHeader, buffer);
    CHECK(buffer.size() > kV3Golden.size());
    encode_into(v3_advert(), ip("192.168.1.1"), ip("224.0.0.18"), ChecksumMode::kPseudoHeader, buffer);
    CHECK(buffer == kV3Golden);
    encode_into(v2_advert(), ip("192.168.1.1"), ip("224.0.0.18"), ChecksumMode::kPseudoHeader, buffer);
    CHECK(buffer == kV2Golden);
}

TEST_CASE("VRRPv3 IPv6 advert encodes with the IPv6 pseudo-header checksum", "[vrrp][packet]") {
    Advert ad = v3_advert();
    ad.family = Family::kIpv6;
    ad.priority = 200;
    ad.addresses = {ip("2001:db8::100")};
    CHECK(encode(ad, ip("fe80::1"), ip("ff02::12")) == kV6Golden);
}

TEST_CASE("golden packets decode to their fields", "[vrrp][packet]") {
    SECTION("v2") {
        auto p = parse(v4_facts(), kV2Golden);
        REQUIRE(p);
        Advert want = v2_advert();
        want.checksum = 0x7bcb;
        CHECK(*p.advert == want);
        CHECK(p.advert->interval() == std::chrono::seconds(1));
    }
    SECTION("v3 IPv4") {
        auto p = parse(v4_facts(), kV3Golden);
        REQUIRE(p);
        CHECK(p.advert->vrid == 1);
        CHECK(p.advert->priority == 100);
        CHECK(p.advert->interval() == std::chrono::milliseconds(1000));
        CHECK(p.advert->addresses == InlineVector<IpAddr, 8>{ip("192.168.1.10")});
    }
    SECTION("v3 IPv6") {
        auto p = parse(v6_facts(), kV6Golden);
        REQUIRE(p);
        CHECK(p.advert->family == Family::kIpv6);
        CHECK(p.advert->priority == 200);
        CHECK(p.advert->addresses == InlineVector<IpAddr, 8>{ip("2001:db8::100")});
    }
}

TEST_CASE("v3 max advert int is 12 bits of centiseconds, the reserved bits are ignored", "[vrrp][packet]") {
    Advert ad = v3_advert();
    ad.interval_field = 0x0fff;
    Bytes b = encode(ad, ip("192.168.1.1"), ip("224.0.0.18"));
    CHECK(b[4] == 0x0f);
    CHECK(b[5] == 0xff);
    auto p = parse(v4_facts(), b);
    REQUIRE(p);
    CHECK(p.advert->interval() == std::chrono::milliseconds(40950));
    ad.interval_field = 1;  // 10 ms, v3's minimum
    p = parse(v4_facts(), encode(ad, ip("192.168.1.1"), ip("224.0.0.18")));
    REQUIRE(p);
    CHECK(p.advert->interval() == std::chrono::milliseconds(10));
}

TEST_CASE("as-v2 checksum mode accepts both conventions, RFC mode only the pseudo-header", "[vrrp][packet]") {
    CHECK(parse(v4_facts(), kV3AsV2Golden, ChecksumMode::kAsV2));
    CHECK(parse(v4_facts(), kV3Golden, ChecksumMode::kAsV2));
    CHECK(parse_reason(kV3AsV2Golden) == Reason::kBadChecksum);
}

TEST_CASE("parse rejects malformed packets with a typed reason", "[vrrp][packet]") {
    CHECK(parse_reason({0x31, 0x01, 0x64}) == Reason::kTooShort);
    CHECK(parse_reason({}) == Reason::kTooShort);

    Bytes b = kV3Golden;
    b[0] = 0x41;
    CHECK(parse_reason(b) == Reason::kBadVersion);
    b[0] = 0x11;
    CHECK(parse_reason(b) == Reason::kBadVersion);
    b[0] = 0x32;
    CHECK(parse_reason(b) == Reason::kBadType);

    b = kV3Golden;
    b[3] = 2;  // claims two addresses, carries one
    CHECK(parse_reason(b) == Reason::kLengthMismatch);
    b = kV3Golden;
    b.push_back(0);
    CHECK(parse_reason(b) == Reason::kLengthMismatch);

    b = kV3Golden;
    b[11] ^= 1;
    CHECK(parse_reason(b) == Reason::kBadChecksum);
    b = kV2Golden;
    b[12] = 'S';
    CHECK(parse_reason(b) == Reason::kBadChecksum);
    // The v3 checksum covers the pseudo-header: another source address breaks it.
    IpFacts other = v4_facts();
    other.source = ip("192.168.1.2");
    CHECK(parse_reason(kV3Golden, other) == Reason::kBadChecksum);
}

TEST_CASE("multicast adverts need TTL / hop limit 255", "[vrrp][packet]") {
    IpFacts f = v4_facts();
    f.ttl = 254;
    CHECK(parse_reason(kV3Golden, f) == Reason::kBadTtl);
    IpFacts f6 = v6_facts();
    f6.ttl = 1;
    CHECK(parse_reason(kV6Golden, f6) == Reason::kBadTtl);
    // Unicast TTL is not the decoder's business (keepalived lets unicast_ttl differ).
    f.multicast = false;
    f.destination = ip("192.168.1.2");
    Bytes b = encode(v3_advert(), f.source, f.destination);
    CHECK(parse(f, b));
}

TEST_CASE("VRRPv2 over IPv6 is the wrong family, a zero interval is refused", "[vrrp][packet]") {
    Bytes b = kV2Golden;
    CHECK(parse_reason(b, v6_facts()) == Reason::kWrongFamily);
    Advert ad = v3_advert();
    ad.interval_field = 0;
    CHECK(parse_reason(encode(ad, ip("192.168.1.1"), ip("224.0.0.18"))) == Reason::kZeroInterval);
}

TEST_CASE("validate compares a parsed v2 advert with the instance", "[vrrp][packet]") {
    const IpFacts f = v4_facts();
    const Advert good = *parse(f, kV2Golden).advert;
    InstanceConfig c = v2_config();
    CHECK(validate(c, good, f).accepted);
    CHECK(validate(c, good, f).reason == Reason::kNone);

    SECTION("VRID not ours") {
        c.vrid = 52;
        CHECK(validate(c, good, f).reason == Reason::kVridNotOurs);
        CHECK_FALSE(validate(c, good, f).accepted);
    }
    SECTION("version differs") {
        c.version = 3;
        CHECK(validate(c, good, f).reason == Reason::kVersionMismatch);
    }
    SECTION("auth type differs") {
        c.auth = AuthConfig{};
        CHECK(validate(c, good, f).reason == Reason::kAuthTypeMismatch);
    }
    SECTION("AH is refused") {
        Advert ah = good;
        ah.auth_type = AuthType::kAh;
        CHECK(validate(c, ah, f).reason == Reason::kAuthUnsupported);
    }
    SECTION("password differs") {
        c.auth.password = "secreT";
        CHECK(validate(c, good, f).reason == Reason::kPasswordMismatch);
    }
    SECTION("password longer than 8 bytes compares on its first 8") {
        c.auth.password = std::string("secret\0\0", 8) + "tail";
        CHECK(validate(c, good, f).accepted);
    }
    SECTION("advert interval differs (v2 does not learn it)") {
        c.advert_int = std::chrono::milliseconds(2000);
        CHECK(validate(c, good, f).reason == Reason::kIntervalMismatch);
    }
    SECTION("address count differs: accepted with a warning, as keepalived") {
        c.vips.push_back(VirtualAddress{ip("192.168.1.11"), 24, "", ""});
        auto v = validate(c, good, f);
        CHECK(v.accepted);
        CHECK(v.reason == Reason::kAddressCountMismatch);
    }
    SECTION("address list differs: accepted with a warning") {
        c.vips = {VirtualAddress{ip("192.168.1.99"), 24, "", ""}};
        auto v = validate(c, good, f);
        CHECK(v.accepted);
        CHECK(v.reason == Reason::kAddressListMismatch);
    }
    SECTION("instance of the other family") {
        c.family = Family::kIpv6;
        CHECK(validate(c, good, f).reason == Reason::kWrongFamily);
    }
    SECTION("multicast advert to a unicast instance") {
        c.unicast_peers = {ip("192.168.1.1")};
        CHECK(validate(c, good, f).reason == Reason::kCastMismatch);
    }
}

TEST_CASE("validate: v3 learns the interval, unicast needs a known peer", "[vrrp][packet]") {
    InstanceConfig c = v2_config();
    c.version = 3;
    c.vrid = 1;
    c.auth = AuthConfig{};
    c.advert_int = std::chrono::milliseconds(300);  // differs from the packet's 1 s
    const Advert ad = *parse(v4_facts(), kV3Golden).advert;
    CHECK(validate(c, ad, v4_facts()).accepted);

    c.unicast_peers = {ip("192.168.1.7")};
    IpFacts uni{Family::kIpv4, ip("192.168.1.1"), ip("192.168.1.2"), 255, false};
    CHECK(validate(c, ad, uni).reason == Reason::kNotUnicastPeer);
    c.unicast_peers.push_back(ip("192.168.1.1"));
    CHECK(validate(c, ad, uni).accepted);
}

TEST_CASE("every reason has its own human sentence", "[vrrp][packet]") {
    std::set<std::string> seen;
    for (int r = 0; r <= static_cast<int>(Reason::kNotUnicastPeer); ++r) {
        auto text = std::string(to_string(static_cast<Reason>(r)));
        CHECK_FALSE(text.empty());
        CHECK(seen.insert(text).second);
    }
}

TEST_CASE("encode then parse round-trips many addresses in both families", "[vrrp][packet]") {
    for (Family fam : {Family::kIpv4, Family::kIpv6}) {
        Advert ad = v3_advert();
        ad.family = fam;
        ad.addresses.clear();
        for (int i = 0; i < 20; ++i)
            ad.addresses.push_back(
                *IpAddr::parse((fam == Family::kIpv4 ? "10.0.0." : "2001:db8::") + std::to_string(i + 1)));
        IpFacts f = fam == Family::kIpv4 ? v4_facts() : v6_facts();
        auto bytes = encode(ad, f.source, f.destination);
        auto p = parse(f, bytes);
        REQUIRE(p);
        CHECK(p.advert->addresses == ad.addresses);
    }
}
