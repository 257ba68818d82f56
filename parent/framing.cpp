#include "parent/framing.hpp"

namespace vigil::parent {

std::string frame(std::string_view payload) {
    const auto n = static_cast<std::uint32_t>(payload.size());
    std::string out;
    out.reserve(4 + payload.size());
    out.push_back(static_cast<char>((n >> 24) & 0xff));
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    out.push_back(static_cast<char>(n & 0xff));
    out.append(payload);
    return out;
}

void FrameReader::feed(std::string_view bytes) {
    if (error_.empty()) buf_.append(bytes);
}

std::optional<std::string> FrameReader::next() {
    if (!error_.empty() || buf_.size() < 4) return std::nullopt;
    const auto* p = reinterpret_cast<const unsigned char*>(buf_.data());
    const std::size_t n =
        (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
    if (n > kMaxFrame) {
        error_ = "frame of " + std::to_string(n) + " bytes exceeds the limit of " + std::to_string(kMaxFrame);
        buf_.clear();
        return std::nullopt;
    }
    if (buf_.size() < 4 + n) return std::nullopt;
    std::string payload = buf_.substr(4, n);
    buf_.erase(0, 4 + n);
    return payload;
}

}  // namespace vigil::parent
