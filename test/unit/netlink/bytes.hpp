#pragma once
// Writes golden messages field by field, little-endian as the kernel's netlink headers are on x86 and arm.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace vigil::test {

struct ByteWriter {
    std::vector<std::uint8_t> out;

    ByteWriter& u8(std::uint8_t v) {
        out.push_back(v);
        return *this;
    }
    ByteWriter& u16(std::uint16_t v) { return u8(v & 0xff).u8(v >> 8); }
    ByteWriter& u32(std::uint32_t v) { return u16(v & 0xffff).u16(v >> 16); }
    ByteWriter& be16(std::uint16_t v) { return u8(v >> 8).u8(v & 0xff); }
    ByteWriter& raw(std::initializer_list<std::uint8_t> bytes) {
        out.insert(out.end(), bytes);
        return *this;
    }
    ByteWriter& str(const std::string& s) {
        out.insert(out.end(), s.begin(), s.end());
        return *this;
    }
    ByteWriter& zeros(std::size_t n) {
        out.insert(out.end(), n, 0);
        return *this;
    }
    // A netlink attribute: length (header included, unpadded), type, payload, padding to 4 bytes.
    ByteWriter& attr(std::uint16_t type, const std::vector<std::uint8_t>& payload) {
        u16(static_cast<std::uint16_t>(4 + payload.size())).u16(type);
        out.insert(out.end(), payload.begin(), payload.end());
        return zeros((4 - payload.size() % 4) % 4);
    }
    // Patches the nlmsghdr length at the front to the current size.
    ByteWriter& fix_length() {
        const auto n = static_cast<std::uint32_t>(out.size());
        for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(n >> (8 * i));
        return *this;
    }
};

inline std::vector<std::uint8_t> cstr(const std::string& s) {
    std::vector<std::uint8_t> v(s.begin(), s.end());
    v.push_back(0);
    return v;
}

}  // namespace vigil::test
