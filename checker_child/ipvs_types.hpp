#pragma once
// The plain model of the kernel's IPVS table: virtual services and their destinations (real servers), with
// the attributes vigil programs. Shared by the message codec (ipvs_msg), the reconciler (ipvs_table) and the
// I/O side (ipvs_backend). Addresses are kept as 16 bytes in network order (IPv4 in the first 4), as the
// kernel does.

#include <netinet/in.h>

#include <array>
#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace vigil::check {

// An IPv4 or IPv6 address in network byte order; IPv4 uses the first 4 bytes, the rest are zero.
struct IpAddress {
    std::uint16_t family = AF_INET;  // AF_INET or AF_INET6
    std::array<std::uint8_t, 16> bytes{};

    // The order of the defaulted comparison (family, then the bytes one by one), compared as two big-endian
    // words: every lookup in the reconciler's maps compares keys, and the array's own comparison calls
    // memcmp for each of them (a sixth of the work of building a 10,000-destination table).
    std::strong_ordering operator<=>(const IpAddress& other) const {
        if (family != other.family) return family <=> other.family;
        for (std::size_t half = 0; half < 16; half += 8) {
            std::uint64_t a, b;
            std::memcpy(&a, bytes.data() + half, 8);
            std::memcpy(&b, other.bytes.data() + half, 8);
            if (a == b) continue;
            if constexpr (std::endian::native == std::endian::little) {
                a = __builtin_bswap64(a);
                b = __builtin_bswap64(b);
            }
            return a <=> b;
        }
        return std::strong_ordering::equal;
    }
    bool operator==(const IpAddress& other) const {
        return family == other.family && std::memcmp(bytes.data(), other.bytes.data(), 16) == 0;
    }
};

// Parses "10.0.0.1" or "fd00::1"; nullopt when the text is neither.
std::optional<IpAddress> parse_ip(const std::string& text);

// The address as text ("10.0.0.1", "fd00::1").
std::string to_string(const IpAddress& address);

// What identifies a virtual service in the kernel: protocol + address + port, or a firewall mark.
struct ServiceKey {
    std::uint16_t family = AF_INET;  // AF_INET or AF_INET6 (also for fwmark services)
    std::uint16_t protocol = 0;      // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP; 0 for a fwmark service
    IpAddress address;               // unused (zero) for a fwmark service
    std::uint16_t port = 0;          // host order; 0 for a fwmark service
    std::uint32_t fwmark = 0;        // non-zero for a fwmark service

    auto operator<=>(const ServiceKey&) const = default;
};

// Service flags (linux/ip_vs.h IP_VS_SVC_F_*).
inline constexpr std::uint32_t kSvcFlagPersistent = 0x0001;
inline constexpr std::uint32_t kSvcFlagHashed = 0x0002;  // set by the kernel on every service it holds
inline constexpr std::uint32_t kSvcFlagOnePacket = 0x0004;
inline constexpr std::uint32_t kSvcFlagSched1 = 0x0008;
inline constexpr std::uint32_t kSvcFlagSched2 = 0x0010;
inline constexpr std::uint32_t kSvcFlagSched3 = 0x0020;

// A virtual service and its attributes.
struct Service {
    ServiceKey key;
    std::string scheduler = "wlc";  // lb_algo / lvs_sched
    std::uint32_t flags = 0;        // kSvcFlag*
    std::uint32_t timeout = 0;      // persistence_timeout, seconds
    // persistence_granularity: for IPv4 a mask in host order (0xffffff00 for a /24; 0xffffffff by default);
    // for IPv6 a prefix length (128 by default). The codec converts to the kernel's network order.
    // An IPv6 service's value above 128 (the IPv4 default left in place) means 128: see effective_netmask().
    std::uint32_t netmask = 0xffffffff;
    std::string pe_name;  // persistence engine ("sip"); empty for none

    // The granularity as the kernel holds it: an IPv6 prefix length is at most 128 (it refuses more).
    std::uint32_t effective_netmask() const {
        return key.family == AF_INET6 && (netmask == 0 || netmask > 128) ? 128 : netmask;
    }

    // Attributes compared by the reconciler; the kernel's own HASHED flag is not one of them.
    bool same_attributes(const Service& other) const {
        return scheduler == other.scheduler && (flags & ~kSvcFlagHashed) == (other.flags & ~kSvcFlagHashed) &&
               timeout == other.timeout && effective_netmask() == other.effective_netmask() &&
               pe_name == other.pe_name;
    }
};

// Forwarding methods (linux/ip_vs.h IP_VS_CONN_F_*), what lb_kind / lvs_method select.
enum class Forward : std::uint32_t {
    kMasq = 0x0000,    // NAT
    kLocal = 0x0001,   // local node (the kernel reports it for local addresses)
    kTunnel = 0x0002,  // TUN
    kDirect = 0x0003,  // DR
    kBypass = 0x0004,
};

// What identifies a destination inside its service.
struct DestKey {
    IpAddress address;
    std::uint16_t port = 0;  // host order

    auto operator<=>(const DestKey&) const = default;
};

// A destination (real server) and its attributes.
struct Dest {
    DestKey key;
    Forward forward = Forward::kMasq;
    std::uint32_t weight = 1;
    std::uint32_t upper_threshold = 0;  // uthreshold; 0 = none
    std::uint32_t lower_threshold = 0;  // lthreshold; 0 = none

    // Attributes compared by the reconciler.
    bool same_attributes(const Dest& other) const {
        return forward == other.forward && weight == other.weight &&
               upper_threshold == other.upper_threshold && lower_threshold == other.lower_threshold;
    }
};

// A value or the reason there is none: what the decoders return.
template <typename T>
class Result {
  public:
    Result(T value) : value_(std::move(value)) {}
    static Result failure(std::string reason) {
        Result r;
        r.reason_ = std::move(reason);
        return r;
    }
    bool ok() const { return value_.has_value(); }
    explicit operator bool() const { return ok(); }
    const T& value() const { return *value_; }
    T& value() { return *value_; }
    const T& operator*() const { return *value_; }
    const T* operator->() const { return &*value_; }
    // Why there is no value; empty when there is one.
    const std::string& reason() const { return reason_; }

  private:
    Result() = default;
    std::optional<T> value_;
    std::string reason_;
};

// "TCP 10.0.0.1:80", "UDP [fd00::1]:53", "FWM 7": how logs name a service.
std::string to_string(const ServiceKey& key);

// "10.0.0.2:80", "[fd00::2]:80".
std::string to_string(const DestKey& key);

}  // namespace vigil::check
