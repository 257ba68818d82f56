#pragma once
// The segments of a raw-socket TCP_CHECK (syn_prober.hpp): the SYN it sends and the answers it reads.
// Sans-IO: bytes in, bytes out, unit-tested without a network.
//
// A probe is a SYN whose sequence number is random; the answers that count acknowledge exactly that number
// plus one (RFC 9293 3.10.7.3: in SYN-SENT an ACK must acknowledge our SYN, and a RST counts only with such
// an ACK): a SYN-ACK means the server listens, a RST-ACK that it refuses. Anything else is ignored.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace vigil::check::syn {

// A SYN's TCP header: 20 bytes and the MSS option, as a connect() would send (a SYN without options is
// valid, but some filters drop it).
constexpr std::size_t kSynLength = 24;
constexpr std::uint16_t kMss = 1460;

// The one's-complement sum of the pseudo-header of RFC 9293 3.1 (IPv4: addresses in network byte order)
// and RFC 8200 8.1 (IPv6), for a TCP segment of `length` bytes. Not folded.
std::uint32_t pseudo_header_sum_v4(std::uint32_t source_be, std::uint32_t destination_be, std::size_t length);
// Folds `sum` plus the one's-complement sum of `data` into a checksum (complemented).
std::uint16_t checksum(std::uint32_t sum, const std::uint8_t* data, std::size_t length);

// Writes a SYN from `source_port` to `destination_port` with sequence number `isn` into `out`. Its checksum
// is left 0 when `pseudo_sum` is empty (an IPv6 raw socket with IPV6_CHECKSUM fills it in); otherwise it is
// computed over the pseudo-header sum given.
void build_syn(std::array<std::uint8_t, kSynLength>& out, std::uint16_t source_port,
               std::uint16_t destination_port, std::uint32_t isn, std::optional<std::uint32_t> pseudo_sum);

// What a TCP segment addressed to the probes' port says.
struct Reply {
    std::uint16_t source_port = 0;       // the real server's port
    std::uint16_t destination_port = 0;  // ours
    std::uint32_t acknowledged = 0;      // the ACK field: the probe's ISN + 1 when it answers a probe
    enum class Kind {
        kIgnored,    // neither a SYN-ACK nor a RST with ACK: not an answer to a SYN
        kListening,  // SYN-ACK
        kRefused,    // RST-ACK
    } kind = Kind::kIgnored;
};

// Reads the first bytes of a TCP header (at least 14: ports, sequence, ACK, flags). Empty when shorter.
std::optional<Reply> parse_tcp(const std::uint8_t* data, std::size_t length);

// An IPv4 datagram as an IPv4 raw socket delivers it (IP header first): the sender's address (network byte
// order) and the TCP header after the IP header. Empty when it is not a whole-enough IPv4 TCP datagram, or a
// fragment after the first.
struct Ipv4Reply {
    std::uint32_t source_be = 0;
    Reply tcp;
};
std::optional<Ipv4Reply> parse_ipv4(const std::uint8_t* data, std::size_t length);

// Which probe an ICMP error is about: the TCP header of the SYN it quotes (an error queue's payload starts
// there). Empty when shorter than 8 bytes.
struct Quoted {
    std::uint16_t source_port = 0;
    std::uint16_t destination_port = 0;
    std::uint32_t sequence = 0;
};
std::optional<Quoted> parse_quoted(const std::uint8_t* data, std::size_t length);

}  // namespace vigil::check::syn
