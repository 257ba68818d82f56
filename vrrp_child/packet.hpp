#pragma once
// The VRRP advertisement codec: VRRPv2 (RFC 3768) over IPv4 and VRRPv3 (RFC 5798) over IPv4 and IPv6.
//
// Decoding is two steps. parse() is pure: it checks what the bytes and the IP-level facts alone can prove
// (length, version, type, checksum, TTL) and is what the fuzzer drives. validate() then compares a parsed
// advert with the instance it was addressed to (VRID, authentication, interval, address list). Encoding
// builds the VRRP part only; the socket layer sends it with TTL / hop limit 255.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "vrrp_child/clock.hpp"
#include "vrrp_child/inline_vector.hpp"
#include "vrrp_child/ip_addr.hpp"

namespace vigil::vrrp {

struct InstanceConfig;

inline constexpr std::uint8_t kIpProtoVrrp = 112;
inline constexpr std::uint8_t kVrrpTtl = 255;
inline constexpr std::uint8_t kTypeAdvertisement = 1;
inline constexpr std::uint8_t kPriorityOwner = 255;
inline constexpr std::uint8_t kPriorityStop = 0;
inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kV2AuthSize = 8;
// VRRPv3's Max Advert Int is 12 bits of centiseconds.
inline constexpr std::uint16_t kV3MaxIntervalCs = 0x0fff;

enum class AuthType : std::uint8_t { kNone = 0, kPass = 1, kAh = 2 };

// One advertisement, as decoded or to be encoded.
struct Advert {
    std::uint8_t version = 3;  // 2 or 3
    Family family = Family::kIpv4;
    std::uint8_t vrid = 0;
    std::uint8_t priority = 0;
    // v3: Max Advert Int in centiseconds (12 bits). v2: Adver Int in seconds (8 bits).
    std::uint16_t interval_field = 0;
    // v2 only: Auth Type and the 8 bytes of Authentication Data (a simple-text password, zero padded).
    AuthType auth_type = AuthType::kNone;
    std::array<std::uint8_t, kV2AuthSize> auth_data{};
    // A few per instance: kept inline, so that building the advert of an idle master allocates nothing.
    InlineVector<IpAddr, 8> addresses;
    // As received (decode) or as computed (encode).
    std::uint16_t checksum = 0;

    // The advertisement interval the packet announces.
    Duration interval() const;
    bool operator==(const Advert&) const = default;
};

// What the socket layer knows about the IP packet that carried the VRRP bytes.
struct IpFacts {
    Family family = Family::kIpv4;
    IpAddr source;
    IpAddr destination;
    std::uint8_t ttl = kVrrpTtl;  // TTL (IPv4) or hop limit (IPv6)
    bool multicast = true;        // arrived addressed to the VRRP multicast group
};

// Every reason an advertisement is refused (or, for the address checks, accepted with a warning).
enum class Reason : std::uint8_t {
    kNone = 0,              // accepted
    kTooShort,              // fewer bytes than the fixed header
    kBadVersion,            // version field neither 2 nor 3
    kBadType,               // type field not ADVERTISEMENT
    kLengthMismatch,        // byte count disagrees with Count IPvX Addr (and v2's auth data)
    kBadChecksum,           // checksum does not verify
    kBadTtl,                // multicast TTL / hop limit not 255
    kWrongFamily,           // VRRPv2 over IPv6, or an advert of the other family than the instance
    kZeroInterval,          // advertisement interval of 0
    kVersionMismatch,       // a valid packet of the other VRRP version than the instance runs
    kVridNotOurs,           // no instance on this interface has this VRID
    kAuthTypeMismatch,      // v2 auth type differs from ours
    kAuthUnsupported,       // v2 IP Authentication Header (type 2): not supported
    kPasswordMismatch,      // v2 PASS with another password
    kAddressCountMismatch,  // Count IPvX Addr differs from our virtual_ipaddress count
    kAddressListMismatch,   // same count, different addresses
    kIntervalMismatch,      // v2 Adver Int differs from our advert_int
    kCastMismatch,          // multicast received by a unicast instance or the reverse
    kNotUnicastPeer,        // unicast advert from an address not in unicast_peer
};

// A human sentence for `reason` ("checksum does not verify").
std::string_view to_string(Reason reason);

// The outcome of parse(): an advert, or the reason there is none.
struct Parsed {
    std::optional<Advert> advert;
    Reason reason = Reason::kNone;
    explicit operator bool() const { return advert.has_value(); }
};

// How the VRRPv3-over-IPv4 checksum is computed.
enum class ChecksumMode : std::uint8_t {
    kPseudoHeader,  // RFC 5798: over the IPv4 pseudo-header and the VRRP message
    kAsV2,  // RFC 9568 / keepalived `v3_checksum_as_v2`: over the VRRP message only; both accepted on receipt
};

// Decodes the VRRP bytes (the IP payload) of one packet. Pure; never reads past `bytes`.
Parsed parse(const IpFacts& facts, std::span<const std::uint8_t> bytes,
             ChecksumMode mode = ChecksumMode::kPseudoHeader);

// The verdict of validate(): accepted or not; an accepted advert may still carry a warning reason
// (address count or list mismatch: the RFCs say log it, keepalived accepts the advert, and so do we).
struct Verdict {
    bool accepted = false;
    Reason reason = Reason::kNone;
};

// Checks a parsed advert against the instance it is meant for.
Verdict validate(const InstanceConfig& config, const Advert& advert, const IpFacts& facts);

// Encodes `advert` (its checksum field is ignored and computed). `source` and `destination` are the IP
// addresses it will be sent from and to, needed for v3's pseudo-header.
std::vector<std::uint8_t> encode(const Advert& advert, const IpAddr& source, const IpAddr& destination,
                                 ChecksumMode mode = ChecksumMode::kPseudoHeader);
// The same into `out`, whose capacity is reused: an idle master encodes 100 adverts a second.
void encode_into(const Advert& advert, const IpAddr& source, const IpAddr& destination, ChecksumMode mode,
                 std::vector<std::uint8_t>& out);

// The Internet checksum (RFC 1071) of `bytes` continuing from partial sum `sum`; returns the folded
// complement.
std::uint16_t internet_checksum(std::span<const std::uint8_t> bytes, std::uint32_t sum = 0);

}  // namespace vigil::vrrp
