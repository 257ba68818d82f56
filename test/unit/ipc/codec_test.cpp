// The wire format: what encode() produces, what decode() accepts, and the reason for everything it refuses.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/ipc/codec.hpp"
#include "test/unit/ipc/ipc_test_util.hpp"

using namespace vigil::common::ipc;
using vigil::ipc::Envelope;
using vigil::test::ipc::big_configure;
using vigil::test::ipc::envelope_with;
using vigil::test::ipc::memfd_with;

namespace {

Datagram datagram_of(const std::string& bytes, UniqueFd fd = {}) {
    Datagram d;
    d.bytes =
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    if (fd) d.fd_count = 1;
    d.fd = std::move(fd);
    return d;
}

std::string serialized(const Envelope& e) {
    std::string s;
    REQUIRE(e.SerializeToString(&s));
    return s;
}

ErrorCode refusal(const std::string& bytes, Side sender = Side::kParent, std::uint64_t last_seq = 0,
                  UniqueFd fd = {}) {
    auto r = decode(datagram_of(bytes, std::move(fd)), sender, last_seq);
    REQUIRE_FALSE(r.ok);
    INFO(r.error.to_string());
    return r.error.code;
}

}  // namespace

TEST_CASE("a small envelope round-trips in one datagram without a memfd") {
    Envelope e = envelope_with(7, [](Envelope& m) { m.mutable_commit()->set_generation(42); });
    auto enc = encode(e);
    REQUIRE(enc.ok);
    CHECK_FALSE(enc.memfd);
    auto r = decode(datagram_of(enc.bytes), Side::kParent, 6);
    REQUIRE(r.ok);
    CHECK(r.envelope.seq() == 7);
    CHECK(r.envelope.commit().generation() == 42);
}

TEST_CASE("a Configure larger than a datagram travels in a sealed memfd and comes back whole") {
    Envelope e = big_configure(3, 9, 200 * 1024);
    auto enc = encode(e);
    REQUIRE(enc.ok);
    REQUIRE(enc.memfd);
    CHECK(enc.bytes.size() < 64);
    int seals = fcntl(enc.memfd.get(), F_GET_SEALS);
    CHECK((seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)) ==
          (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL));

    auto r = decode(datagram_of(enc.bytes, std::move(enc.memfd)), Side::kParent, 2);
    REQUIRE(r.ok);
    CHECK(r.envelope.payload_case() == Envelope::kConfigure);
    CHECK(r.envelope.configure().generation() == 9);
    CHECK(r.envelope.configure().config().source_file() == e.configure().config().source_file());
    CHECK(r.envelope.configure().config().SerializeAsString() == e.configure().config().SerializeAsString());
}

TEST_CASE("the datagram limit decides when the memfd is used") {
    Envelope e = envelope_with(1, [](Envelope& m) { m.mutable_event()->set_text(std::string(500, 'x')); });
    CHECK_FALSE(encode(e, 4096).memfd);
    auto enc = encode(e, 100);
    REQUIRE(enc.ok);
    CHECK(enc.memfd);
    auto r = decode(datagram_of(enc.bytes, std::move(enc.memfd)), Side::kChild, 0, 100);
    REQUIRE(r.ok);
    CHECK(r.envelope.event().text().size() == 500);
}

TEST_CASE("encode refuses a message above the message limit") {
    Envelope e = big_configure(1, 1, 5000);
    auto enc = encode(e, 100, 1000);
    REQUIRE_FALSE(enc.ok);
    CHECK(enc.error.code == ErrorCode::kOversized);
    CHECK_FALSE(enc.memfd);
}

TEST_CASE("decode refuses an empty datagram or lost ancillary data as truncated") {
    CHECK(refusal("") == ErrorCode::kTruncated);
    Envelope e = envelope_with(1, [](Envelope& m) { m.mutable_ping(); });
    std::string bytes = serialized(e);
    Datagram d = datagram_of(bytes);
    d.control_truncated = true;
    auto r = decode(std::move(d), Side::kParent, 0);
    REQUIRE_FALSE(r.ok);
    CHECK(r.error.code == ErrorCode::kTruncated);
}

TEST_CASE("decode refuses a datagram cut by the kernel or above the limit as oversized") {
    std::string bytes = serialized(envelope_with(1, [](Envelope& m) { m.mutable_ping(); }));
    Datagram d = datagram_of(bytes);
    d.truncated = true;
    auto r = decode(std::move(d), Side::kParent, 0);
    REQUIRE_FALSE(r.ok);
    CHECK(r.error.code == ErrorCode::kOversized);

    auto big = decode(datagram_of(std::string(200, 'a')), Side::kParent, 0, 100);
    REQUIRE_FALSE(big.ok);
    CHECK(big.error.code == ErrorCode::kOversized);
}

TEST_CASE("decode refuses bytes that are not an Envelope") {
    CHECK(refusal("\xff\xff\xff\xff") == ErrorCode::kBadProtobuf);
    // A length-delimited field that claims more bytes than there are.
    CHECK(refusal(std::string("\x52\x10\x08", 3)) == ErrorCode::kBadProtobuf);
}

TEST_CASE("decode refuses another protocol version") {
    Envelope e = envelope_with(1, [](Envelope& m) { m.mutable_ping(); });
    e.set_version(kProtocolVersion + 1);
    CHECK(refusal(serialized(e)) == ErrorCode::kWrongVersion);
    e.set_version(0);
    CHECK(refusal(serialized(e)) == ErrorCode::kWrongVersion);
}

TEST_CASE("decode refuses an envelope with no payload") {
    Envelope e = envelope_with(1, [](Envelope&) {});
    CHECK(refusal(serialized(e)) == ErrorCode::kNoPayload);
}

TEST_CASE("decode refuses a payload that this sender may not send") {
    auto configure =
        serialized(envelope_with(1, [](Envelope& m) { m.mutable_configure()->set_generation(1); }));
    CHECK(refusal(configure, Side::kChild) == ErrorCode::kUnexpectedPayload);
    auto status = serialized(envelope_with(1, [](Envelope& m) { m.mutable_status(); }));
    CHECK(refusal(status, Side::kParent) == ErrorCode::kUnexpectedPayload);
    auto shutdown = serialized(envelope_with(1, [](Envelope& m) { m.mutable_shutdown(); }));
    CHECK(refusal(shutdown, Side::kChild) == ErrorCode::kUnexpectedPayload);
    auto result = serialized(envelope_with(1, [](Envelope& m) { m.mutable_config_result(); }));
    CHECK(refusal(result, Side::kParent) == ErrorCode::kUnexpectedPayload);
}

TEST_CASE("each side may send exactly what DESIGN.md's message table says") {
    using P = Envelope::PayloadCase;
    for (P p : {Envelope::kConfigure, Envelope::kCommit, Envelope::kAbort, Envelope::kRestore,
                Envelope::kStatusRequest, Envelope::kShutdown}) {
        CHECK(payload_allowed(Side::kParent, p));
        CHECK_FALSE(payload_allowed(Side::kChild, p));
    }
    for (P p : {Envelope::kConfigResult, Envelope::kStatus, Envelope::kEvent}) {
        CHECK(payload_allowed(Side::kChild, p));
        CHECK_FALSE(payload_allowed(Side::kParent, p));
    }
    for (P p : {Envelope::kPing, Envelope::kPong, Envelope::kVrrpState, Envelope::kHealth}) {
        CHECK(payload_allowed(Side::kChild, p));
        CHECK(payload_allowed(Side::kParent, p));
    }
    CHECK_FALSE(payload_allowed(Side::kParent, Envelope::kMemfd));
    CHECK_FALSE(payload_allowed(Side::kChild, Envelope::PAYLOAD_NOT_SET));
}

TEST_CASE("decode requires each sequence number to be above the previous one") {
    auto five = serialized(envelope_with(5, [](Envelope& m) { m.mutable_ping(); }));
    CHECK(decode(datagram_of(five), Side::kParent, 4).ok);
    CHECK(decode(datagram_of(five), Side::kParent, 1).ok);  // gaps are fine
    CHECK(refusal(five, Side::kParent, 5) == ErrorCode::kSequenceNotIncreasing);
    CHECK(refusal(five, Side::kParent, 9) == ErrorCode::kSequenceNotIncreasing);
    auto zero = serialized(envelope_with(0, [](Envelope& m) { m.mutable_ping(); }));
    CHECK(refusal(zero) == ErrorCode::kSequenceNotIncreasing);
}

TEST_CASE("decode refuses a descriptor that comes without a memfd marker, or more than one") {
    auto ping = serialized(envelope_with(1, [](Envelope& m) { m.mutable_ping(); }));
    CHECK(refusal(ping, Side::kParent, 0, memfd_with("x", true)) == ErrorCode::kUnexpectedFd);

    auto enc = encode(big_configure(1, 1, 100 * 1024));
    Datagram d = datagram_of(enc.bytes, std::move(enc.memfd));
    d.fd_count = 2;
    auto r = decode(std::move(d), Side::kParent, 0);
    REQUIRE_FALSE(r.ok);
    CHECK(r.error.code == ErrorCode::kUnexpectedFd);
}

TEST_CASE("decode refuses a memfd marker without its descriptor") {
    auto enc = encode(big_configure(1, 1, 100 * 1024));
    REQUIRE(enc.memfd);
    CHECK(refusal(enc.bytes) == ErrorCode::kMemfdMissing);
}

namespace {

// A marker for `inner` whose memfd is built by the test, to break one property at a time.
std::string marker_for(std::uint64_t seq, std::uint64_t size) {
    return serialized(envelope_with(seq, [&](Envelope& m) { m.mutable_memfd()->set_size(size); }));
}

}  // namespace

TEST_CASE("decode refuses a memfd that is not sealed, or a descriptor that is not a memfd") {
    std::string inner = serialized(envelope_with(1, [](Envelope& m) { m.mutable_ping(); }));
    CHECK(refusal(marker_for(1, inner.size()), Side::kParent, 0, memfd_with(inner, false)) ==
          ErrorCode::kMemfdNotSealed);

    int p[2];
    REQUIRE(pipe(p) == 0);
    UniqueFd keep(p[1]);
    CHECK(refusal(marker_for(1, inner.size()), Side::kParent, 0, UniqueFd(p[0])) ==
          ErrorCode::kMemfdNotSealed);
}

TEST_CASE("decode refuses a memfd whose size differs from the marker's") {
    std::string inner = serialized(envelope_with(1, [](Envelope& m) { m.mutable_ping(); }));
    CHECK(refusal(marker_for(1, inner.size() + 1), Side::kParent, 0, memfd_with(inner, true)) ==
          ErrorCode::kMemfdSizeMismatch);
}

TEST_CASE("decode refuses a memfd above the message limit before reading it") {
    std::string inner(2000, 'a');
    auto r = decode(datagram_of(marker_for(1, inner.size()), memfd_with(inner, true)), Side::kParent, 0,
                    kMaxDatagramSize, 1000);
    REQUIRE_FALSE(r.ok);
    CHECK(r.error.code == ErrorCode::kOversized);
}

TEST_CASE("decode refuses a memfd whose content disagrees with its marker") {
    std::string other_seq = serialized(envelope_with(2, [](Envelope& m) { m.mutable_ping(); }));
    CHECK(refusal(marker_for(1, other_seq.size()), Side::kParent, 0, memfd_with(other_seq, true)) ==
          ErrorCode::kMemfdEnvelopeMismatch);

    std::string nested = marker_for(1, 10);
    CHECK(refusal(marker_for(1, nested.size()), Side::kParent, 0, memfd_with(nested, true)) ==
          ErrorCode::kMemfdEnvelopeMismatch);

    std::string garbage = "\xff\xff\xff\xff";
    CHECK(refusal(marker_for(1, garbage.size()), Side::kParent, 0, memfd_with(garbage, true)) ==
          ErrorCode::kBadProtobuf);
}

TEST_CASE("the payload inside a memfd is still checked against its sender") {
    auto enc = encode(big_configure(1, 1, 100 * 1024));
    REQUIRE(enc.memfd);
    auto r = decode(datagram_of(enc.bytes, std::move(enc.memfd)), Side::kChild, 0);
    REQUIRE_FALSE(r.ok);
    CHECK(r.error.code == ErrorCode::kUnexpectedPayload);
}

TEST_CASE("every error code has a distinct readable name") {
    CHECK(to_string(ErrorCode::kSequenceNotIncreasing) == "sequence not increasing");
    CHECK(to_string(ErrorCode::kMemfdNotSealed) == "memfd not sealed");
    CHECK(Error{ErrorCode::kTruncated, "empty datagram"}.to_string() == "truncated: empty datagram");
}
