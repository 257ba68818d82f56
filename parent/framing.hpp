#pragma once
// The control socket's framing: a 4-byte big-endian length, then that many bytes of one serialized message.
// Sans-IO: bytes in, whole messages out, so the server, vigilctl and the tests share it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::parent {

// Larger frames are refused: a status of thousands of real servers stays far below it.
inline constexpr std::size_t kMaxFrame = 16 * 1024 * 1024;

// The length prefix and the payload, ready to write.
std::string frame(std::string_view payload);

// Accumulates bytes from a stream and cuts them into frames.
class FrameReader {
  public:
    // Appends bytes read from the stream.
    void feed(std::string_view bytes);
    // The next whole frame's payload, if one is complete. After an error, always empty.
    std::optional<std::string> next();
    // Non-empty once the stream announced a frame larger than kMaxFrame: the connection must be closed.
    const std::string& error() const { return error_; }
    // Bytes received but not yet part of a returned frame.
    std::size_t buffered() const { return buf_.size(); }

  private:
    std::string buf_;
    std::string error_;
};

}  // namespace vigil::parent
