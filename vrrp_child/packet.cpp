#include "vrrp_child/packet.hpp"

#include <algorithm>

#include "vrrp_child/instance_config.hpp"

namespace vigil::vrrp {
namespace {

std::uint32_t add_bytes(std::span<const std::uint8_t> bytes, std::uint32_t sum) {
    std::size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) sum += static_cast<std::uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    if (i < bytes.size()) sum += static_cast<std::uint32_t>(bytes[i] << 8);
    return sum;
}

// The partial sum of the pseudo-header of RFC 768 (IPv4) or RFC 8200 section 8.1 (IPv6) for a VRRP message of
// `length` bytes. Both reduce to: addresses, the length, and the protocol number, all summed as 16-bit words.
std::uint32_t pseudo_header_sum(const IpAddr& source, const IpAddr& destination, std::size_t length) {
    std::uint32_t sum = add_bytes(source.span(), 0);
    sum = add_bytes(destination.span(), sum);
    sum += static_cast<std::uint32_t>(length & 0xffff) + static_cast<std::uint32_t>(length >> 16);
    return sum + kIpProtoVrrp;
}

std::size_t message_size(std::uint8_t version, Family family, std::size_t count) {
    return kHeaderSize + count * address_size(family) + (version == 2 ? kV2AuthSize : 0);
}

bool checksum_ok(std::span<const std::uint8_t> msg, const IpFacts& facts, std::uint8_t version,
                 ChecksumMode mode) {
    if (version == 2) return internet_checksum(msg) == 0;
    const bool with_pseudo =
        internet_checksum(msg, pseudo_header_sum(facts.source, facts.destination, msg.size())) == 0;
    if (facts.family == Family::kIpv6 || mode == ChecksumMode::kPseudoHeader) return with_pseudo;
    // v3_checksum_as_v2: peers of either convention are understood, as keepalived does with that option.
    return with_pseudo || internet_checksum(msg) == 0;
}

}  // namespace

Duration Advert::interval() const {
    if (version == 2) return std::chrono::seconds(interval_field);
    return std::chrono::milliseconds(10 * static_cast<int>(interval_field));
}

std::string_view to_string(Reason reason) {
    switch (reason) {
        case Reason::kNone:
            return "accepted";
        case Reason::kTooShort:
            return "packet shorter than the VRRP header";
        case Reason::kBadVersion:
            return "VRRP version is neither 2 nor 3";
        case Reason::kBadType:
            return "type is not ADVERTISEMENT";
        case Reason::kLengthMismatch:
            return "packet length does not match the address count";
        case Reason::kBadChecksum:
            return "checksum does not verify";
        case Reason::kBadTtl:
            return "TTL / hop limit is not 255";
        case Reason::kWrongFamily:
            return "advert of the wrong address family";
        case Reason::kZeroInterval:
            return "advertisement interval is 0";
        case Reason::kVersionMismatch:
            return "VRRP version differs from ours";
        case Reason::kVridNotOurs:
            return "VRID is not one of ours";
        case Reason::kAuthTypeMismatch:
            return "authentication type differs from ours";
        case Reason::kAuthUnsupported:
            return "IP Authentication Header is not supported";
        case Reason::kPasswordMismatch:
            return "authentication password mismatch";
        case Reason::kAddressCountMismatch:
            return "virtual address count differs from ours";
        case Reason::kAddressListMismatch:
            return "virtual address list differs from ours";
        case Reason::kIntervalMismatch:
            return "advertisement interval differs from ours";
        case Reason::kCastMismatch:
            return "multicast/unicast differs from our configuration";
        case Reason::kNotUnicastPeer:
            return "source is not a configured unicast peer";
    }
    return "unknown reason";
}

std::uint16_t internet_checksum(std::span<const std::uint8_t> bytes, std::uint32_t sum) {
    sum = add_bytes(bytes, sum);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

Parsed parse(const IpFacts& facts, std::span<const std::uint8_t> bytes, ChecksumMode mode) {
    auto fail = [](Reason r) { return Parsed{std::nullopt, r}; };
    if (bytes.size() < kHeaderSize) return fail(Reason::kTooShort);
    if (facts.multicast && facts.ttl != kVrrpTtl) return fail(Reason::kBadTtl);
    const std::uint8_t version = bytes[0] >> 4;
    if (version != 2 && version != 3) return fail(Reason::kBadVersion);
    if (version == 2 && facts.family == Family::kIpv6) return fail(Reason::kWrongFamily);
    if ((bytes[0] & 0x0f) != kTypeAdvertisement) return fail(Reason::kBadType);
    const std::size_t count = bytes[3];
    if (bytes.size() != message_size(version, facts.family, count)) return fail(Reason::kLengthMismatch);
    if (!checksum_ok(bytes, facts, version, mode)) return fail(Reason::kBadChecksum);

    Advert ad;
    ad.version = version;
    ad.family = facts.family;
    ad.vrid = bytes[1];
    ad.priority = bytes[2];
    if (version == 2) {
        ad.auth_type = static_cast<AuthType>(bytes[4]);
        ad.interval_field = bytes[5];
    } else {
        ad.interval_field = static_cast<std::uint16_t>((bytes[4] & 0x0f) << 8 | bytes[5]);
    }
    if (ad.interval_field == 0) return fail(Reason::kZeroInterval);
    ad.checksum = static_cast<std::uint16_t>(bytes[6] << 8 | bytes[7]);
    const std::size_t asize = address_size(facts.family);
    ad.addresses.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
        ad.addresses.push_back(
            IpAddr::from_bytes(facts.family, bytes.subspan(kHeaderSize + i * asize, asize)));
    if (version == 2)
        std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(kHeaderSize + count * asize), kV2AuthSize,
                    ad.auth_data.begin());
    return Parsed{std::move(ad), Reason::kNone};
}

namespace {

std::array<std::uint8_t, kV2AuthSize> password_bytes(const std::string& password) {
    std::array<std::uint8_t, kV2AuthSize> out{};
    std::copy_n(password.begin(), std::min(password.size(), out.size()), out.begin());
    return out;
}

Verdict reject(Reason r) {
    return Verdict{false, r};
}

Verdict check_auth(const InstanceConfig& config, const Advert& advert) {
    if (advert.auth_type == AuthType::kAh) return reject(Reason::kAuthUnsupported);
    if (advert.auth_type != config.auth.type) return reject(Reason::kAuthTypeMismatch);
    if (advert.auth_type == AuthType::kPass && advert.auth_data != password_bytes(config.auth.password))
        return reject(Reason::kPasswordMismatch);
    return Verdict{true, Reason::kNone};
}

Reason check_addresses(const InstanceConfig& config, const Advert& advert) {
    if (advert.addresses.size() != config.vips.size()) return Reason::kAddressCountMismatch;
    for (const auto& vip : config.vips)
        if (std::find(advert.addresses.begin(), advert.addresses.end(), vip.address) ==
            advert.addresses.end())
            return Reason::kAddressListMismatch;
    return Reason::kNone;
}

}  // namespace

Verdict validate(const InstanceConfig& config, const Advert& advert, const IpFacts& facts) {
    if (advert.family != config.family || facts.family != config.family) return reject(Reason::kWrongFamily);
    if (advert.version != config.version) return reject(Reason::kVersionMismatch);
    if (advert.vrid != config.vrid) return reject(Reason::kVridNotOurs);
    if (facts.multicast == config.unicast()) return reject(Reason::kCastMismatch);
    if (config.unicast() && std::find(config.unicast_peers.begin(), config.unicast_peers.end(),
                                      facts.source) == config.unicast_peers.end())
        return reject(Reason::kNotUnicastPeer);
    if (advert.version == 2) {
        if (auto v = check_auth(config, advert); !v.accepted) return v;
        if (advert.interval() != config.advert_int) return reject(Reason::kIntervalMismatch);
    }
    // RFC 5798 7.1: a wrong address list is logged, not fatal (keepalived accepts such adverts too).
    return Verdict{true, check_addresses(config, advert)};
}

std::vector<std::uint8_t> encode(const Advert& advert, const IpAddr& source, const IpAddr& destination,
                                 ChecksumMode mode) {
    std::vector<std::uint8_t> out;
    encode_into(advert, source, destination, mode, out);
    return out;
}

void encode_into(const Advert& advert, const IpAddr& source, const IpAddr& destination, ChecksumMode mode,
                 std::vector<std::uint8_t>& out) {
    const std::size_t count = std::min<std::size_t>(advert.addresses.size(), 255);
    out.assign(message_size(advert.version, advert.family, count), 0);
    out[0] = static_cast<std::uint8_t>(advert.version << 4 | kTypeAdvertisement);
    out[1] = advert.vrid;
    out[2] = advert.priority;
    out[3] = static_cast<std::uint8_t>(count);
    if (advert.version == 2) {
        out[4] = static_cast<std::uint8_t>(advert.auth_type);
        out[5] = static_cast<std::uint8_t>(advert.interval_field);
    } else {
        const auto cs = std::min(advert.interval_field, kV3MaxIntervalCs);
        out[4] = static_cast<std::uint8_t>(cs >> 8);
        out[5] = static_cast<std::uint8_t>(cs & 0xff);
    }
    const std::size_t asize = address_size(advert.family);
    for (std::size_t i = 0; i < count; ++i) {
        auto raw = advert.addresses[i].span();
        std::copy_n(raw.begin(), std::min(raw.size(), asize),
                    out.begin() + static_cast<std::ptrdiff_t>(8 + i * asize));
    }
    if (advert.version == 2)
        std::copy(advert.auth_data.begin(), advert.auth_data.end(),
                  out.begin() + static_cast<std::ptrdiff_t>(kHeaderSize + count * asize));
    std::uint32_t sum = 0;
    if (advert.version == 3 && (advert.family == Family::kIpv6 || mode == ChecksumMode::kPseudoHeader))
        sum = pseudo_header_sum(source, destination, out.size());
    const std::uint16_t checksum = internet_checksum(out, sum);
    out[6] = static_cast<std::uint8_t>(checksum >> 8);
    out[7] = static_cast<std::uint8_t>(checksum & 0xff);
}

}  // namespace vigil::vrrp
