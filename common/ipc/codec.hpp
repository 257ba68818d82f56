#pragma once
// The wire format between vigild and its children, without I/O: an Envelope (proto/ipc.proto) per
// SOCK_SEQPACKET datagram; an Envelope larger than a datagram is written to a sealed memfd and the datagram
// carries only a `Memfd{size}` marker plus the descriptor (SCM_RIGHTS). decode() judges what a peer sent and
// names what is wrong with it; it is the libFuzzer target (test/fuzz/ipc_fuzz.cpp).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/ipc/unique_fd.hpp"
#include "proto/ipc.pb.h"

namespace vigil::common::ipc {

// Envelope.version of this build. Parent and children are always the same build, so a mismatch is a bug or an
// upgrade in progress: either way a protocol error.
inline constexpr std::uint32_t kProtocolVersion = 1;
// Largest datagram; a larger Envelope goes through a memfd. Well under the AF_UNIX default socket buffer.
inline constexpr std::size_t kMaxDatagramSize = 64 * 1024;
// Largest Envelope at all (memfd included): a config of this size is a mistake, not a load balancer.
inline constexpr std::size_t kMaxMessageSize = 64 * 1024 * 1024;

// The two ends of a channel. Each end accepts only what the other end may send (DESIGN.md's message table).
enum class Side { kParent, kChild };

// The other side.
constexpr Side peer_of(Side side) {
    return side == Side::kParent ? Side::kChild : Side::kParent;
}

// Every way a message can be refused, plus transport failures of a Channel.
enum class ErrorCode {
    kTruncated,              // empty datagram, or ancillary data cut by the kernel
    kOversized,              // above the datagram or message limit
    kBadProtobuf,            // bytes that do not parse as an Envelope
    kWrongVersion,           // Envelope.version != kProtocolVersion
    kNoPayload,              // the oneof is empty (or holds a field this build does not know)
    kUnexpectedPayload,      // a payload this sender may not send (e.g. a child sending Configure)
    kSequenceNotIncreasing,  // seq not above the previous one from the same sender
    kUnexpectedFd,           // a descriptor without a Memfd marker, or more than one descriptor
    kMemfdMissing,           // a Memfd marker without a descriptor
    kMemfdNotSealed,         // the descriptor is not a memfd sealed against write, grow, shrink and sealing
    kMemfdSizeMismatch,      // its size differs from the marker's
    kMemfdUnreadable,        // reading it failed
    kMemfdEnvelopeMismatch,  // the Envelope inside disagrees with the marker (version, seq, nested marker)
    kEncodeFailed,           // sending side: serialization or memfd creation failed
    kSendFailed,             // sending side: sendmsg failed (peer gone, buffer full for too long)
    kReceiveFailed,          // recvmsg failed
};

// A short stable name: "truncated", "oversized", "bad protobuf", ...
std::string_view to_string(ErrorCode code);

// What went wrong and the specifics ("seq 4 after 7", "payload configure from child").
struct Error {
    ErrorCode code = ErrorCode::kBadProtobuf;
    std::string detail;

    // "CODE: detail".
    std::string to_string() const;
};

// One received datagram, as recvmsg returned it.
struct Datagram {
    std::span<const std::uint8_t> bytes;
    bool truncated = false;          // MSG_TRUNC: the datagram was larger than the buffer
    bool control_truncated = false;  // MSG_CTRUNC: descriptors were lost
    UniqueFd fd;                     // the first descriptor passed, if any
    int fd_count = 0;                // how many descriptors came (the channel closes all but the first)
};

// The result of decode(): an Envelope, or the reason it was refused.
struct DecodeResult {
    vigil::ipc::Envelope envelope;
    bool ok = false;
    Error error;
};

// Judges a datagram sent by `sender`, whose previous message had sequence number `last_seq` (0 before the
// first). A Memfd marker is resolved: the returned Envelope holds the real payload. `max_datagram` /
// `max_message` are the limits (tests lower them).
DecodeResult decode(Datagram datagram, Side sender, std::uint64_t last_seq,
                    std::size_t max_datagram = kMaxDatagramSize, std::size_t max_message = kMaxMessageSize);

// True when `sender` may send this payload (DESIGN.md's table; Ping/Pong go both ways).
bool payload_allowed(Side sender, vigil::ipc::Envelope::PayloadCase payload);

// The wire form of one Envelope: the datagram bytes, and the sealed memfd to pass with them when the Envelope
// did not fit a datagram.
struct Encoded {
    std::string bytes;
    UniqueFd memfd;
    bool ok = false;
    Error error;
};

// Serializes `envelope` (version and seq already set). Above `max_datagram` bytes it goes into a sealed
// memfd; above `max_message` it is refused (kOversized).
Encoded encode(const vigil::ipc::Envelope& envelope, std::size_t max_datagram = kMaxDatagramSize,
               std::size_t max_message = kMaxMessageSize);

// The name of a payload case as logs show it: "configure", "pong", ...
std::string_view payload_name(vigil::ipc::Envelope::PayloadCase payload);

}  // namespace vigil::common::ipc
