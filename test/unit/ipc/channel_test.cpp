// Channel over a real SOCK_SEQPACKET socketpair: framing, the memfd path, and how each failure is reported.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <optional>
#include <vector>

#include "common/ipc/channel.hpp"
#include "test/unit/ipc/ipc_test_util.hpp"

using namespace vigil::common::ipc;
using vigil::ipc::Envelope;
using vigil::test::ipc::big_configure;
using vigil::test::ipc::envelope_with;
using vigil::test::ipc::memfd_with;
using vigil::test::ipc::run_until;

namespace {

// One end of a socketpair wrapped in a Channel that records what it saw; the other end raw, for the test to
// write anything at all into it, or to wrap in a second Channel.
struct Recorder {
    std::vector<Envelope> messages;
    std::optional<Error> error;
    bool eof = false;

    Channel::Callbacks callbacks() {
        return {
            .on_message = [this](Envelope&& e) { messages.push_back(std::move(e)); },
            .on_error = [this](const Error& e) { error = e; },
            .on_eof = [this] { eof = true; },
        };
    }
};

struct Pair {
    UniqueFd a;
    UniqueFd b;
};

Pair socket_pair() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void send_raw(int fd, const std::string& bytes, int pass_fd = -1) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (pass_fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    REQUIRE(sendmsg(fd, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

std::string serialized(const Envelope& e) {
    return e.SerializeAsString();
}

// `count` Health messages of 1 kB each, weights 0, 1, 2...: 2,000 of them do not fit an AF_UNIX socket
// buffer.
void send_health_burst(Channel& channel, int count) {
    for (int i = 0; i < count; ++i) {
        Envelope e;
        e.mutable_health()->set_reason(std::string(1000, 'r'));
        e.mutable_health()->set_weight(static_cast<std::uint32_t>(i));
        channel.send(e);
    }
}

// Two Channels over one socketpair, the parent's side and the child's, each with its Recorder; the child's
// end reads from the start (a test starts the parent's when it wants replies).
struct Connected {
    asio::io_context io;
    Recorder parent_rec, child_rec;
    Channel parent;
    Channel child;

    Connected() : Connected(socket_pair()) {}

  private:
    explicit Connected(Pair fds)
        : parent(io, std::move(fds.a), Side::kParent, parent_rec.callbacks()),
          child(io, std::move(fds.b), Side::kChild, child_rec.callbacks()) {
        child.start();
    }
};

}  // namespace

TEST_CASE("channel: messages arrive in order, stamped with version and increasing sequence numbers") {
    Connected t;
    auto& [io, parent_rec, child_rec, parent, child] = t;
    parent.start();

    Envelope ping;
    ping.mutable_ping();
    CHECK(parent.send(ping) == 1);
    Envelope commit;
    commit.mutable_commit()->set_generation(3);
    CHECK(parent.send(commit) == 2);
    Envelope event;
    event.mutable_event()->set_text("VI_1 BACKUP -> MASTER");
    CHECK(child.send(event) == 1);

    REQUIRE(run_until(io, [&] { return child_rec.messages.size() == 2 && parent_rec.messages.size() == 1; }));
    CHECK(child_rec.messages[0].payload_case() == Envelope::kPing);
    CHECK(child_rec.messages[0].version() == kProtocolVersion);
    CHECK(child_rec.messages[0].seq() == 1);
    CHECK(child_rec.messages[1].commit().generation() == 3);
    CHECK(child_rec.messages[1].seq() == 2);
    CHECK(parent_rec.messages[0].event().text() == "VI_1 BACKUP -> MASTER");
    CHECK_FALSE(child_rec.error);
    CHECK_FALSE(parent_rec.error);
}

TEST_CASE("channel: a large Configure goes through a memfd and arrives whole") {
    Connected t;
    auto& [io, parent_rec, child_rec, parent, child] = t;

    Envelope big = big_configure(0, 5, 1024 * 1024);
    parent.send(big);
    REQUIRE(run_until(io, [&] { return !child_rec.messages.empty() || child_rec.error; }));
    REQUIRE_FALSE(child_rec.error);
    const auto& got = child_rec.messages.at(0).configure();
    CHECK(got.generation() == 5);
    CHECK(got.config().vrrp_instance_size() == big.configure().config().vrrp_instance_size());
    CHECK(got.config().SerializeAsString() == big.configure().config().SerializeAsString());
}

TEST_CASE("channel: many messages queue when the socket buffer is full and all arrive") {
    Connected t;
    auto& [io, parent_rec, child_rec, parent, child] = t;
    const int kCount = 2000;
    send_health_burst(parent, kCount);
    CHECK(parent.queued() > 0);  // 2 MB do not fit an AF_UNIX socket buffer
    REQUIRE(run_until(io, [&] { return child_rec.messages.size() == kCount || child_rec.error; }));
    REQUIRE_FALSE(child_rec.error);
    for (int i = 0; i < kCount; ++i)
        CHECK(child_rec.messages[i].health().weight() == static_cast<std::uint32_t>(i));
}

TEST_CASE("channel: an urgent message overtakes the queue, and sequence numbers still increase") {
    Connected t;
    auto& [io, parent_rec, child_rec, parent, child] = t;
    const int kCount = 2000;
    send_health_burst(parent, kCount);
    const auto waiting = parent.queued();
    REQUIRE(waiting > 100);
    Envelope ping;
    ping.mutable_ping();
    CHECK(parent.send(ping, Channel::Priority::kUrgent) == 0);  // queued, but first in line
    REQUIRE(run_until(io, [&] { return child_rec.messages.size() == kCount + 1 || child_rec.error; }));
    REQUIRE_FALSE(child_rec.error);  // the decoder refuses a sequence number that does not increase
    std::size_t at = 0;
    while (at < child_rec.messages.size() && !child_rec.messages[at].has_ping()) ++at;
    REQUIRE(at < child_rec.messages.size());
    // Only what was already in the socket buffer (or numbered for it) came before the Ping.
    CHECK(at <= static_cast<std::size_t>(kCount) - waiting + 1);
    for (std::size_t i = 1; i < child_rec.messages.size(); ++i)
        CHECK(child_rec.messages[i].seq() == child_rec.messages[i - 1].seq() + 1);
}

TEST_CASE("channel: the peer closing its end is reported as EOF, not as an error") {
    asio::io_context io;
    auto [p, c] = socket_pair();
    Recorder rec;
    Channel child(io, std::move(c), Side::kChild, rec.callbacks());
    child.start();
    p.reset();
    REQUIRE(run_until(io, [&] { return rec.eof || rec.error; }));
    CHECK(rec.eof);
    CHECK_FALSE(rec.error);
    CHECK_FALSE(child.is_open());
}

TEST_CASE("channel: messages sent before the peer closed are delivered before the EOF") {
    asio::io_context io;
    auto [p, c] = socket_pair();
    Recorder rec;
    Channel child(io, std::move(c), Side::kChild, rec.callbacks());
    send_raw(p.get(), serialized(envelope_with(1, [](Envelope& m) { m.mutable_shutdown(); })));
    p.reset();
    child.start();
    REQUIRE(run_until(io, [&] { return rec.eof || rec.error; }));
    REQUIRE(rec.messages.size() == 1);
    CHECK(rec.messages[0].has_shutdown());
    CHECK(rec.eof);
}

TEST_CASE("channel: an empty datagram is a truncated message, not an EOF") {
    asio::io_context io;
    auto [p, c] = socket_pair();
    Recorder rec;
    Channel child(io, std::move(c), Side::kChild, rec.callbacks());
    child.start();
    send_raw(p.get(), "");
    REQUIRE(run_until(io, [&] { return rec.eof || rec.error; }));
    REQUIRE(rec.error);
    CHECK(rec.error->code == ErrorCode::kTruncated);
    CHECK_FALSE(rec.eof);
}

TEST_CASE("channel: garbage is a protocol error, reported once, and the channel closes") {
    asio::io_context io;
    auto [p, c] = socket_pair();
    Recorder rec;
    Channel parent(io, std::move(p), Side::kParent, rec.callbacks());
    parent.start();
    send_raw(c.get(), "this is not protobuf \xff\xff\xff");
    send_raw(c.get(), serialized(envelope_with(1, [](Envelope& m) { m.mutable_pong(); })));
    REQUIRE(run_until(io, [&] { return rec.error.has_value(); }));
    CHECK(rec.error->code == ErrorCode::kBadProtobuf);
    CHECK(rec.messages.empty());
    CHECK_FALSE(parent.is_open());
    // The parent got nothing further, and sends are refused.
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
    CHECK(rec.messages.empty());
    Envelope ping;
    ping.mutable_ping();
    CHECK(parent.send(ping) == 0);
}

TEST_CASE("channel: a datagram above the limit is refused as oversized") {
    asio::io_context io;
    auto [p, c] = socket_pair();
    Recorder rec;
    Channel parent(io, std::move(p), Side::kParent, rec.callbacks(), 1024);
    parent.start();
    send_raw(c.get(), serialized(envelope_with(
                          1, [](Envelope& m) { m.mutable_event()->set_text(std::string(4000, 'x')); })));
    REQUIRE(run_until(io, [&] { return rec.error.has_value(); }));
    CHECK(rec.error->code == ErrorCode::kOversized);
}

TEST_CASE("channel: a repeated sequence number is refused") {
    asio::io_context io;
    auto [p, c] = socket_pair();
    Recorder rec;
    Channel parent(io, std::move(p), Side::kParent, rec.callbacks());
    parent.start();
    auto pong = serialized(envelope_with(4, [](Envelope& m) { m.mutable_pong(); }));
    send_raw(c.get(), pong);
    send_raw(c.get(), pong);
    REQUIRE(run_until(io, [&] { return rec.error.has_value(); }));
    CHECK(rec.messages.size() == 1);
    CHECK(rec.error->code == ErrorCode::kSequenceNotIncreasing);
}

TEST_CASE("channel: a payload the peer may not send is refused") {
    asio::io_context io;
    auto [p, c] = socket_pair();
    Recorder rec;
    Channel parent(io, std::move(p), Side::kParent, rec.callbacks());
    parent.start();
    send_raw(c.get(), serialized(envelope_with(1, [](Envelope& m) { m.mutable_configure(); })));
    REQUIRE(run_until(io, [&] { return rec.error.has_value(); }));
    CHECK(rec.error->code == ErrorCode::kUnexpectedPayload);
}

TEST_CASE("channel: an unsealed memfd passed by the peer is refused") {
    asio::io_context io;
    auto [p, c] = socket_pair();
    Recorder rec;
    Channel child(io, std::move(c), Side::kChild, rec.callbacks());
    child.start();
    std::string inner = serialized(envelope_with(1, [](Envelope& m) { m.mutable_ping(); }));
    UniqueFd unsealed = memfd_with(inner, false);
    auto marker =
        serialized(envelope_with(1, [&](Envelope& m) { m.mutable_memfd()->set_size(inner.size()); }));
    send_raw(p.get(), marker, unsealed.get());
    REQUIRE(run_until(io, [&] { return rec.error.has_value(); }));
    CHECK(rec.error->code == ErrorCode::kMemfdNotSealed);
}

TEST_CASE("channel: a send to a peer that is gone is reported as a send failure, after send() returned") {
    asio::io_context io;
    auto [p, c] = socket_pair();
    Recorder rec;
    Channel parent(io, std::move(p), Side::kParent, rec.callbacks());
    c.reset();
    Envelope ping;
    ping.mutable_ping();
    parent.send(ping);
    CHECK_FALSE(rec.error);  // never from inside send()
    REQUIRE(run_until(io, [&] { return rec.error.has_value(); }));
    CHECK(rec.error->code == ErrorCode::kSendFailed);
}

TEST_CASE("channel: the owner may destroy the channel from inside a callback") {
    asio::io_context io;
    auto [p, c] = socket_pair();
    std::unique_ptr<Channel> child;
    int messages = 0;
    child = std::make_unique<Channel>(io, std::move(c), Side::kChild,
                                      Channel::Callbacks{.on_message =
                                                             [&](Envelope&&) {
                                                                 ++messages;
                                                                 child.reset();
                                                             },
                                                         .on_error = {},
                                                         .on_eof = {}});
    child->start();
    send_raw(p.get(), serialized(envelope_with(1, [](Envelope& m) { m.mutable_ping(); })));
    send_raw(p.get(), serialized(envelope_with(2, [](Envelope& m) { m.mutable_ping(); })));
    REQUIRE(run_until(io, [&] { return messages > 0; }));
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
    CHECK(messages == 1);
    CHECK_FALSE(child);
}
