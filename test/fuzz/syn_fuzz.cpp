// libFuzzer target: TCP_CHECK's raw-socket readers (checker_child/syn_packet.hpp) on arbitrary bytes, as an
// IPv4 raw socket delivers them (IP header first), as an IPv6 one does (TCP header first) and as an error
// queue quotes a SYN; then a SYN built from the bytes, which must read back as what was built and check out.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "checker_child/syn_packet.hpp"

using namespace vigil::check::syn;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (const auto r = parse_ipv4(data, size)) {
        // The TCP header it read lies inside the datagram, after an IP header of 20 to 60 bytes.
        const std::size_t header = static_cast<std::size_t>(data[0] & 0x0f) * 4;
        if (header < 20 || header + 14 > size) __builtin_trap();
        if (r->tcp.source_port != (data[header] << 8 | data[header + 1])) __builtin_trap();
    }
    if (const auto r = parse_tcp(data, size)) {
        if (size < 14) __builtin_trap();
        const std::uint8_t flags = data[13];
        if (r->kind == Reply::Kind::kListening && (flags & 0x17) != 0x12) __builtin_trap();
        if (r->kind == Reply::Kind::kRefused && (flags & 0x14) != 0x14) __builtin_trap();
    }
    (void)parse_quoted(data, size);

    if (size < 16) return 0;
    std::uint32_t source, destination, isn;
    std::uint16_t sport, dport;
    std::memcpy(&source, data, 4);
    std::memcpy(&destination, data + 4, 4);
    std::memcpy(&isn, data + 8, 4);
    std::memcpy(&sport, data + 12, 2);
    std::memcpy(&dport, data + 14, 2);
    std::array<std::uint8_t, kSynLength> syn{};
    build_syn(syn, sport, dport, isn, pseudo_header_sum_v4(source, destination, syn.size()));
    const auto back = parse_tcp(syn.data(), syn.size());
    if (!back || back->kind != Reply::Kind::kIgnored || back->source_port != sport ||
        back->destination_port != dport)
        __builtin_trap();
    const auto quoted = parse_quoted(syn.data(), syn.size());
    if (!quoted || quoted->sequence != isn) __builtin_trap();
    // The receiver's check: the pseudo-header and the segment with its checksum sum to zero.
    if (checksum(pseudo_header_sum_v4(source, destination, syn.size()), syn.data(), syn.size()) != 0)
        __builtin_trap();
    return 0;
}
