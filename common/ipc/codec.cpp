#include "common/ipc/codec.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace vigil::common::ipc {

namespace {

using vigil::ipc::Envelope;

// A memfd must be frozen before we trust its content: otherwise the sender could change it while we parse.
constexpr int kRequiredSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

DecodeResult refuse(ErrorCode code, std::string detail) {
    DecodeResult r;
    r.error = Error{code, std::move(detail)};
    return r;
}

Encoded encode_failure(ErrorCode code, std::string detail) {
    Encoded e;
    e.error = Error{code, std::move(detail)};
    return e;
}

std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

// Reads the sealed memfd into `out`, checking its seals and size first.
std::optional<Error> read_memfd(int fd, std::uint64_t declared, std::size_t max_message, std::string& out) {
    if (declared > max_message)
        return Error{ErrorCode::kOversized,
                     "memfd of " + std::to_string(declared) + " bytes, limit " + std::to_string(max_message)};
    int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0)
        return Error{ErrorCode::kMemfdNotSealed,
                     "descriptor is not a memfd (" + errno_text("F_GET_SEALS") + ")"};
    if ((seals & kRequiredSeals) != kRequiredSeals)
        return Error{ErrorCode::kMemfdNotSealed,
                     "memfd seals 0x" + std::to_string(seals) + " lack write/grow/shrink/seal"};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return Error{ErrorCode::kMemfdUnreadable, errno_text("fstat")};
    if (static_cast<std::uint64_t>(st.st_size) != declared)
        return Error{ErrorCode::kMemfdSizeMismatch, "memfd holds " + std::to_string(st.st_size) +
                                                        " bytes, marker says " + std::to_string(declared)};
    out.resize(declared);
    std::size_t done = 0;
    while (done < declared) {
        ssize_t n = ::pread(fd, out.data() + done, declared - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error{ErrorCode::kMemfdUnreadable, errno_text("pread")};
        if (n == 0) return Error{ErrorCode::kMemfdSizeMismatch, "memfd ended at " + std::to_string(done)};
        done += static_cast<std::size_t>(n);
    }
    return std::nullopt;
}

// Replaces a Memfd marker by the Envelope the memfd holds.
std::optional<Error> resolve_memfd(Envelope& envelope, int fd, std::size_t max_message) {
    std::string bytes;
    if (auto err = read_memfd(fd, envelope.memfd().size(), max_message, bytes)) return err;
    Envelope inner;
    if (!inner.ParseFromString(bytes))
        return Error{ErrorCode::kBadProtobuf, "memfd content (" + std::to_string(bytes.size()) + " bytes)"};
    if (inner.version() != envelope.version() || inner.seq() != envelope.seq())
        return Error{ErrorCode::kMemfdEnvelopeMismatch,
                     "inside: version " + std::to_string(inner.version()) + " seq " +
                         std::to_string(inner.seq()) + ", marker: version " +
                         std::to_string(envelope.version()) + " seq " + std::to_string(envelope.seq())};
    if (inner.payload_case() == Envelope::kMemfd)
        return Error{ErrorCode::kMemfdEnvelopeMismatch, "memfd holds another memfd marker"};
    envelope = std::move(inner);
    return std::nullopt;
}

}  // namespace

std::string_view to_string(ErrorCode code) {
    switch (code) {
        case ErrorCode::kTruncated:
            return "truncated";
        case ErrorCode::kOversized:
            return "oversized";
        case ErrorCode::kBadProtobuf:
            return "bad protobuf";
        case ErrorCode::kWrongVersion:
            return "wrong version";
        case ErrorCode::kNoPayload:
            return "no payload";
        case ErrorCode::kUnexpectedPayload:
            return "unexpected payload";
        case ErrorCode::kSequenceNotIncreasing:
            return "sequence not increasing";
        case ErrorCode::kUnexpectedFd:
            return "unexpected descriptor";
        case ErrorCode::kMemfdMissing:
            return "memfd missing";
        case ErrorCode::kMemfdNotSealed:
            return "memfd not sealed";
        case ErrorCode::kMemfdSizeMismatch:
            return "memfd size mismatch";
        case ErrorCode::kMemfdUnreadable:
            return "memfd unreadable";
        case ErrorCode::kMemfdEnvelopeMismatch:
            return "memfd envelope mismatch";
        case ErrorCode::kEncodeFailed:
            return "encode failed";
        case ErrorCode::kSendFailed:
            return "send failed";
        case ErrorCode::kReceiveFailed:
            return "receive failed";
    }
    return "unknown";
}

std::string Error::to_string() const {
    std::string s(ipc::to_string(code));
    if (!detail.empty()) s += ": " + detail;
    return s;
}

std::string_view payload_name(Envelope::PayloadCase payload) {
    switch (payload) {
        case Envelope::kConfigure:
            return "configure";
        case Envelope::kConfigResult:
            return "config_result";
        case Envelope::kCommit:
            return "commit";
        case Envelope::kAbort:
            return "abort";
        case Envelope::kRestore:
            return "restore";
        case Envelope::kPing:
            return "ping";
        case Envelope::kPong:
            return "pong";
        case Envelope::kVrrpState:
            return "vrrp_state";
        case Envelope::kHealth:
            return "health";
        case Envelope::kStatusRequest:
            return "status_request";
        case Envelope::kStatus:
            return "status";
        case Envelope::kEvent:
            return "event";
        case Envelope::kShutdown:
            return "shutdown";
        case Envelope::kMemfd:
            return "memfd";
        case Envelope::PAYLOAD_NOT_SET:
            return "none";
    }
    return "unknown";
}

bool payload_allowed(Side sender, Envelope::PayloadCase payload) {
    // Ping/Pong go both ways; VrrpState and Health go up from their child and down, forwarded, to the other.
    switch (payload) {
        case Envelope::kPing:
        case Envelope::kPong:
        case Envelope::kVrrpState:
        case Envelope::kHealth:
            return true;
        case Envelope::kConfigure:
        case Envelope::kCommit:
        case Envelope::kAbort:
        case Envelope::kRestore:
        case Envelope::kStatusRequest:
        case Envelope::kShutdown:
            return sender == Side::kParent;
        case Envelope::kConfigResult:
        case Envelope::kStatus:
        case Envelope::kEvent:
            return sender == Side::kChild;
        case Envelope::kMemfd:
        case Envelope::PAYLOAD_NOT_SET:
            return false;
    }
    return false;
}

DecodeResult decode(Datagram datagram, Side sender, std::uint64_t last_seq, std::size_t max_datagram,
                    std::size_t max_message) {
    if (datagram.truncated)
        return refuse(ErrorCode::kOversized,
                      "datagram larger than " + std::to_string(max_datagram) + " bytes");
    if (datagram.bytes.size() > max_datagram)
        return refuse(ErrorCode::kOversized, "datagram of " + std::to_string(datagram.bytes.size()) +
                                                 " bytes, limit " + std::to_string(max_datagram));
    if (datagram.control_truncated) return refuse(ErrorCode::kTruncated, "ancillary data cut by the kernel");
    if (datagram.bytes.empty()) return refuse(ErrorCode::kTruncated, "empty datagram");
    if (datagram.fd_count > 1)
        return refuse(ErrorCode::kUnexpectedFd,
                      std::to_string(datagram.fd_count) + " descriptors in one message");

    DecodeResult r;
    Envelope& e = r.envelope;
    if (!e.ParseFromArray(datagram.bytes.data(), static_cast<int>(datagram.bytes.size())))
        return refuse(ErrorCode::kBadProtobuf, std::to_string(datagram.bytes.size()) + " bytes do not parse");
    if (e.version() != kProtocolVersion)
        return refuse(ErrorCode::kWrongVersion, "version " + std::to_string(e.version()) + ", expected " +
                                                    std::to_string(kProtocolVersion));
    if (e.seq() <= last_seq)
        return refuse(ErrorCode::kSequenceNotIncreasing,
                      "seq " + std::to_string(e.seq()) + " after " + std::to_string(last_seq));
    if (e.payload_case() == Envelope::kMemfd) {
        if (!datagram.fd) return refuse(ErrorCode::kMemfdMissing, "memfd marker without a descriptor");
        if (auto err = resolve_memfd(e, datagram.fd.get(), max_message)) {
            r.error = std::move(*err);
            return r;
        }
    } else if (datagram.fd) {
        return refuse(ErrorCode::kUnexpectedFd, std::string("descriptor with a ") +
                                                    std::string(payload_name(e.payload_case())) + " message");
    }
    if (e.payload_case() == Envelope::PAYLOAD_NOT_SET)
        return refuse(ErrorCode::kNoPayload, "seq " + std::to_string(e.seq()) + " carries no known payload");
    if (!payload_allowed(sender, e.payload_case()))
        return refuse(ErrorCode::kUnexpectedPayload, std::string(payload_name(e.payload_case())) +
                                                         " from the " +
                                                         (sender == Side::kParent ? "parent" : "child"));
    r.ok = true;
    return r;
}

Encoded encode(const Envelope& envelope, std::size_t max_datagram, std::size_t max_message) {
    Encoded out;
    std::size_t size = envelope.ByteSizeLong();
    if (size > max_message)
        return encode_failure(ErrorCode::kOversized, std::string(payload_name(envelope.payload_case())) +
                                                         " of " + std::to_string(size) + " bytes, limit " +
                                                         std::to_string(max_message));
    if (!envelope.SerializeToString(&out.bytes))
        return encode_failure(ErrorCode::kEncodeFailed, "serialization");
    if (out.bytes.size() <= max_datagram) {
        out.ok = true;
        return out;
    }

    UniqueFd fd(::memfd_create("vigil-ipc", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) return encode_failure(ErrorCode::kEncodeFailed, errno_text("memfd_create"));
    std::size_t done = 0;
    while (done < out.bytes.size()) {
        ssize_t n = ::write(fd.get(), out.bytes.data() + done, out.bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return encode_failure(ErrorCode::kEncodeFailed, errno_text("memfd write"));
        done += static_cast<std::size_t>(n);
    }
    if (::fcntl(fd.get(), F_ADD_SEALS, kRequiredSeals) != 0)
        return encode_failure(ErrorCode::kEncodeFailed, errno_text("F_ADD_SEALS"));

    Envelope marker;
    marker.set_version(envelope.version());
    marker.set_seq(envelope.seq());
    marker.mutable_memfd()->set_size(out.bytes.size());
    out.bytes.clear();
    if (!marker.SerializeToString(&out.bytes)) return encode_failure(ErrorCode::kEncodeFailed, "marker");
    out.memfd = std::move(fd);
    out.ok = true;
    return out;
}

}  // namespace vigil::common::ipc
