#pragma once
// Netlink bytes written by hand from the numbers of linux/netlink.h, linux/genetlink.h and linux/ip_vs.h
// (spelled out here as numbers, not taken from the headers), to compare the codec's output against.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace golden {

using Bytes = std::vector<std::uint8_t>;

inline void le16(Bytes& b, std::uint16_t v) {
    b.push_back(v & 0xff);
    b.push_back(v >> 8);
}
inline void le32(Bytes& b, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back((v >> (8 * i)) & 0xff);
}
inline void pad4(Bytes& b) {
    while (b.size() % 4 != 0) b.push_back(0);
}

// One attribute: nla_len (header + payload, unpadded), nla_type, payload, padding to 4.
inline Bytes attr(std::uint16_t type, const Bytes& payload) {
    Bytes b;
    le16(b, static_cast<std::uint16_t>(4 + payload.size()));
    le16(b, type);
    b.insert(b.end(), payload.begin(), payload.end());
    pad4(b);
    return b;
}
inline Bytes u16(std::uint16_t v) {
    Bytes b;
    le16(b, v);
    return b;
}
inline Bytes be16(std::uint16_t v) {
    return Bytes{static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}
inline Bytes u32(std::uint32_t v) {
    Bytes b;
    le32(b, v);
    return b;
}
inline Bytes str(const std::string& s) {
    Bytes b(s.begin(), s.end());
    b.push_back(0);
    return b;
}
inline Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes b;
    for (const Bytes& p : parts) b.insert(b.end(), p.begin(), p.end());
    return b;
}
// A nested attribute: the type with NLA_F_NESTED (0x8000), as libmnl marks nests.
inline Bytes nest(std::uint16_t type, std::initializer_list<Bytes> attrs) {
    return attr(0x8000 | type, cat(attrs));
}

// nlmsghdr (len, type, flags, seq, pid 0) + genlmsghdr (cmd, version, reserved) + attributes.
inline Bytes genl(std::uint16_t type, std::uint16_t flags, std::uint32_t seq, std::uint8_t cmd,
                  std::uint8_t version, const Bytes& attrs) {
    Bytes b;
    le32(b, static_cast<std::uint32_t>(16 + 4 + attrs.size()));
    le16(b, type);
    le16(b, flags);
    le32(b, seq);
    le32(b, 0);
    b.push_back(cmd);
    b.push_back(version);
    le16(b, 0);
    b.insert(b.end(), attrs.begin(), attrs.end());
    return b;
}

// 16 bytes of union nf_inet_addr holding an IPv4 address.
inline Bytes v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    Bytes r(16, 0);
    r[0] = a;
    r[1] = b;
    r[2] = c;
    r[3] = d;
    return r;
}

}  // namespace golden
