// libFuzzer target: common/ipc's decode() on arbitrary datagrams, with or without an arbitrary (sealed or
// not) memfd. Layout of an input: byte 0 = flags (bit 0 pass a memfd, bit 1 seal it, bit 2 the sender is a
// child, bit 3 small limits), byte 1 = last seq, bytes 2-3 = datagram length (big endian), then the datagram,
// then the memfd's content.
#include <fcntl.h>
#include <google/protobuf/stubs/logging.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/ipc/codec.hpp"

using namespace vigil::common::ipc;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // protobuf logs invalid UTF-8 in strings; that is expected here, not a finding.
    google::protobuf::SetLogHandler(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    const std::uint8_t flags = data[0];
    const std::uint64_t last_seq = data[1];
    std::size_t datagram_len = (std::size_t{data[2]} << 8) | data[3];
    data += 4;
    size -= 4;
    if (datagram_len > size) datagram_len = size;

    Datagram d;
    d.bytes = std::span<const std::uint8_t>(data, datagram_len);
    if (flags & 1) {
        UniqueFd fd(memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING));
        if (!fd) abort();
        const std::size_t rest = size - datagram_len;
        if (rest > 0 && write(fd.get(), data + datagram_len, rest) != static_cast<ssize_t>(rest)) abort();
        if (flags & 2) fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
        d.fd = std::move(fd);
        d.fd_count = 1;
    }
    const Side sender = (flags & 4) ? Side::kChild : Side::kParent;
    const bool small = (flags & 8) != 0;
    DecodeResult r =
        decode(std::move(d), sender, last_seq, small ? 64 : kMaxDatagramSize, small ? 4096 : kMaxMessageSize);
    if (r.ok) {
        // Whatever decode accepts must be a well-formed message of this protocol.
        if (r.envelope.version() != kProtocolVersion || r.envelope.seq() <= last_seq) abort();
        if (!payload_allowed(sender, r.envelope.payload_case())) abort();
        // And it must survive our own encoder.
        Encoded e = encode(r.envelope);
        if (!e.ok) abort();
    } else if (to_string(r.error.code).empty()) {
        abort();
    }
    return 0;
}
