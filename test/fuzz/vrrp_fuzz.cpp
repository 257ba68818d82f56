// libFuzzer target: the VRRP decoder on arbitrary bytes, for both families and both VRRP versions (the
// version comes from the bytes), both checksum modes, multicast and unicast; then validation against an
// instance and a re-encode of whatever parsed, which must parse again to the same advert.

#include <cstddef>
#include <cstdint>
#include <span>

#include "vrrp_child/instance_config.hpp"
#include "vrrp_child/packet.hpp"

using namespace vigil::vrrp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    // The first byte picks the IP-level facts; the rest is the VRRP payload.
    const std::uint8_t mode = data[0];
    std::span<const std::uint8_t> bytes(data + 1, size - 1);
    const Family family = (mode & 1) ? Family::kIpv6 : Family::kIpv4;
    IpFacts facts;
    facts.family = family;
    facts.source = family == Family::kIpv4 ? IpAddr::v4(0xc0a80101) : *IpAddr::parse("fe80::1");
    facts.multicast = (mode & 2) == 0;
    facts.destination = facts.multicast
                            ? (family == Family::kIpv4 ? vrrp_group_v4() : vrrp_group_v6())
                            : (family == Family::kIpv4 ? IpAddr::v4(0xc0a80102) : *IpAddr::parse("fe80::2"));
    facts.ttl = (mode & 4) ? 64 : 255;
    const ChecksumMode checksum = (mode & 8) ? ChecksumMode::kAsV2 : ChecksumMode::kPseudoHeader;

    const Parsed parsed = parse(facts, bytes, checksum);
    if (!parsed) return 0;
    const Advert& ad = *parsed.advert;

    InstanceConfig config;
    config.name = "VI_FUZZ";
    config.interface = "eth0";
    config.vrid = ad.vrid;
    config.version = ad.version;
    config.family = family;
    config.auth = AuthConfig{AuthType::kPass, "secret"};
    if (!ad.addresses.empty()) config.vips.push_back(VirtualAddress{ad.addresses.front(), 24, "", ""});
    if (!facts.multicast) config.unicast_peers.push_back(facts.source);
    (void)validate(config, ad, facts);
    (void)to_string(validate(config, ad, facts).reason);

    const auto again = encode(ad, facts.source, facts.destination, checksum);
    const Parsed reparsed = parse(facts, again, checksum);
    if (!reparsed) __builtin_trap();
    Advert a = ad, b = *reparsed.advert;
    // The reserved nibble of v3 and the incoming checksum are not carried over.
    a.checksum = b.checksum = 0;
    if (!(a == b)) __builtin_trap();
    return 0;
}
