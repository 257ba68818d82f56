#include "checker_child/syn_packet.hpp"

namespace vigil::check::syn {

namespace {

std::uint16_t get16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

std::uint32_t get32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}

void put32(std::uint8_t* p, std::uint32_t v) {
    put16(p, static_cast<std::uint16_t>(v >> 16));
    put16(p + 2, static_cast<std::uint16_t>(v));
}

constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;

}  // namespace

std::uint32_t pseudo_header_sum_v4(std::uint32_t source_be, std::uint32_t destination_be,
                                   std::size_t length) {
    // The addresses' bytes as they are on the wire, summed as 16-bit big-endian words.
    std::uint8_t b[8];
    std::uint32_t s = source_be, d = destination_be;
    for (int i = 0; i < 4; ++i) {
        b[i] = reinterpret_cast<const std::uint8_t*>(&s)[i];
        b[4 + i] = reinterpret_cast<const std::uint8_t*>(&d)[i];
    }
    std::uint32_t sum = 0;
    for (int i = 0; i < 8; i += 2) sum += get16(b + i);
    return sum + 6 /* protocol TCP */ + static_cast<std::uint32_t>(length);
}

std::uint16_t checksum(std::uint32_t sum, const std::uint8_t* data, std::size_t length) {
    std::uint64_t s = sum;
    std::size_t i = 0;
    for (; i + 1 < length; i += 2) s += get16(data + i);
    if (i < length) s += std::uint32_t{data[i]} << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(~s);
}

void build_syn(std::array<std::uint8_t, kSynLength>& out, std::uint16_t source_port,
               std::uint16_t destination_port, std::uint32_t isn, std::optional<std::uint32_t> pseudo_sum) {
    out.fill(0);
    put16(&out[0], source_port);
    put16(&out[2], destination_port);
    put32(&out[4], isn);
    // ACK number 0; data offset 6 words (20 bytes and the 4-byte MSS option); flags SYN.
    out[12] = static_cast<std::uint8_t>((kSynLength / 4) << 4);
    out[13] = kSyn;
    put16(&out[14], 64240);  // the window Linux offers in a SYN
    // Checksum (16) and urgent pointer (18) stay 0; the MSS option: kind 2, length 4.
    out[20] = 2;
    out[21] = 4;
    put16(&out[22], kMss);
    if (pseudo_sum) put16(&out[16], checksum(*pseudo_sum, out.data(), out.size()));
}

std::optional<Reply> parse_tcp(const std::uint8_t* data, std::size_t length) {
    if (length < 14) return std::nullopt;
    Reply r;
    r.source_port = get16(data);
    r.destination_port = get16(data + 2);
    r.acknowledged = get32(data + 8);
    const std::uint8_t flags = data[13];
    if (flags & kAck) {
        if ((flags & (kSyn | kRst | kFin)) == kSyn)
            r.kind = Reply::Kind::kListening;
        else if (flags & kRst)
            r.kind = Reply::Kind::kRefused;
    }
    return r;
}

std::optional<Ipv4Reply> parse_ipv4(const std::uint8_t* data, std::size_t length) {
    if (length < 20 || data[0] >> 4 != 4) return std::nullopt;
    const std::size_t header = static_cast<std::size_t>(data[0] & 0x0f) * 4;
    const bool later_fragment = (get16(data + 6) & 0x1fff) != 0;
    if (header < 20 || header > length || data[9] != 6 || later_fragment) return std::nullopt;
    auto tcp = parse_tcp(data + header, length - header);
    if (!tcp) return std::nullopt;
    Ipv4Reply r;
    for (int i = 0; i < 4; ++i) reinterpret_cast<std::uint8_t*>(&r.source_be)[i] = data[12 + i];
    r.tcp = *tcp;
    return r;
}

std::optional<Quoted> parse_quoted(const std::uint8_t* data, std::size_t length) {
    if (length < 8) return std::nullopt;
    return Quoted{get16(data), get16(data + 2), get32(data + 4)};
}

}  // namespace vigil::check::syn
