// The child runtime in-process: a Runtime with a fake handler on one end of a socketpair, the test playing
// the parent with a Channel on the other end.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <optional>
#include <vector>

#include "common/child/protocol.hpp"
#include "common/child/runtime.hpp"
#include "test/unit/ipc/ipc_test_util.hpp"

using namespace vigil::common;
using vigil::ipc::Envelope;
using vigil::test::ipc::run_until;

namespace {

// Records every call; refuses configs whose source_file is "bad".
struct FakeHandler : child::Handler {
    std::vector<std::string> calls;
    child::Uplink* uplink = nullptr;
    std::function<void()> pending_stop;
    bool defer_stop = false;

    void start(child::Uplink& u) override { uplink = &u; }
    std::vector<std::string> prepare(std::uint64_t g, const vigil::config::Config& config) override {
        calls.push_back("prepare " + std::to_string(g));
        if (config.source_file() == "bad") return {"[VI_1] interface eth9 does not exist on this host"};
        return {};
    }
    void commit(std::uint64_t g) override { calls.push_back("commit " + std::to_string(g)); }
    void abort(std::uint64_t g) override { calls.push_back("abort " + std::to_string(g)); }
    void restore(const vigil::ipc::Snapshot& s) override {
        calls.push_back("restore " + std::to_string(s.vrrp_instances_size()));
    }
    void fill_status(vigil::ipc::Status& status) override {
        auto* vi = status.add_vrrp_instances();
        vi->set_name("VI_1");
        vi->set_state(vigil::status::VrrpInstanceStatus::BACKUP);
    }
    void on_peer_message(const Envelope& e) override {
        calls.push_back(std::string("peer ") + std::string(ipc::payload_name(e.payload_case())));
    }
    void stop(std::function<void()> done) override {
        calls.push_back("stop");
        if (defer_stop)
            pending_stop = std::move(done);
        else
            done();
    }
};

// The parent's end: a Channel that records what the child sent.
struct Harness {
    asio::io_context io;
    FakeHandler handler;
    std::unique_ptr<child::Runtime> runtime;
    std::unique_ptr<ipc::Channel> parent;
    std::vector<Envelope> received;
    std::optional<ipc::Error> error;
    bool eof = false;
    bool finished = false;

    Harness() {
        int fds[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
        parent = std::make_unique<ipc::Channel>(
            io, ipc::UniqueFd(fds[0]), ipc::Side::kParent,
            ipc::Channel::Callbacks{.on_message = [this](Envelope&& e) { received.push_back(std::move(e)); },
                                    .on_error = [this](const ipc::Error& e) { error = e; },
                                    .on_eof = [this] { eof = true; }});
        runtime = std::make_unique<child::Runtime>(io, ipc::UniqueFd(fds[1]), handler);
        runtime->on_finished([this] { finished = true; });
        parent->start();
        runtime->start();
    }

    void send(const std::function<void(Envelope&)>& fill) {
        Envelope e;
        fill(e);
        parent->send(std::move(e));
    }

    // Waits for the child's next message of this kind.
    const Envelope& await(Envelope::PayloadCase kind) {
        std::size_t from = received.size();
        auto found = [&]() -> const Envelope* {
            for (std::size_t i = from; i < received.size(); ++i)
                if (received[i].payload_case() == kind) return &received[i];
            return nullptr;
        };
        REQUIRE(run_until(io, [&] { return found() != nullptr || eof || error; }));
        REQUIRE(found() != nullptr);
        return *found();
    }

    void configure(std::uint64_t g, const std::string& source) {
        send([&](Envelope& e) {
            e.mutable_configure()->set_generation(g);
            e.mutable_configure()->mutable_config()->set_source_file(source);
        });
    }
};

}  // namespace

TEST_CASE("runtime: answers each Ping with a Pong naming the Ping's sequence number") {
    Harness h;
    h.send([](Envelope& e) { e.mutable_ping(); });
    h.send([](Envelope& e) { e.mutable_ping(); });
    h.await(Envelope::kPong);
    REQUIRE(run_until(h.io, [&] { return h.received.size() == 2; }));
    CHECK(h.received[0].pong().ping_seq() == 1);
    CHECK(h.received[1].pong().ping_seq() == 2);
}

TEST_CASE(
    "runtime: a Ping that wants status is answered with a Pong, then a Status; a plain one only a Pong") {
    Harness h;
    h.send([](Envelope& e) { e.mutable_ping()->set_want_status(true); });
    h.send([](Envelope& e) { e.mutable_ping(); });
    REQUIRE(run_until(h.io, [&] { return h.received.size() >= 3; }));
    h.io.restart();
    h.io.run_for(std::chrono::milliseconds(50));  // nothing more comes
    REQUIRE(h.received.size() == 3);
    CHECK(h.received[0].pong().ping_seq() == 1);
    CHECK(h.received[1].payload_case() == Envelope::kStatus);
    CHECK(h.received[1].status().generation() == 0);
    CHECK(h.received[2].pong().ping_seq() == 2);
}

TEST_CASE("runtime: Configure then Commit prepares, acks, applies and reports status") {
    Harness h;
    h.configure(1, "good");
    const auto& result = h.await(Envelope::kConfigResult);
    CHECK(result.config_result().generation() == 1);
    CHECK(result.config_result().ok());
    CHECK(result.config_result().errors().empty());

    h.send([](Envelope& e) { e.mutable_commit()->set_generation(1); });
    const auto& status = h.await(Envelope::kStatus);
    CHECK(status.status().generation() == 1);
    CHECK(status.status().vrrp_instances(0).name() == "VI_1");
    CHECK(h.handler.calls == std::vector<std::string>{"prepare 1", "commit 1"});
    CHECK(h.runtime->committed_generation() == 1);
    CHECK_FALSE(h.finished);
}

TEST_CASE("runtime: a refused Configure carries the reasons, and Abort drops it") {
    Harness h;
    h.configure(1, "bad");
    const auto& result = h.await(Envelope::kConfigResult);
    CHECK_FALSE(result.config_result().ok());
    REQUIRE(result.config_result().errors_size() == 1);
    CHECK(result.config_result().errors(0) == "[VI_1] interface eth9 does not exist on this host");

    h.send([](Envelope& e) { e.mutable_abort()->set_generation(1); });
    h.send([](Envelope& e) { e.mutable_ping(); });
    h.await(Envelope::kPong);
    CHECK(h.handler.calls == std::vector<std::string>{"prepare 1", "abort 1"});
    CHECK(h.runtime->committed_generation() == 0);
    CHECK_FALSE(h.finished);
}

TEST_CASE("runtime: a Commit of a generation that was not prepared is a protocol error") {
    Harness h;
    h.send([](Envelope& e) { e.mutable_commit()->set_generation(7); });
    REQUIRE(run_until(h.io, [&] { return h.finished && h.eof; }));
    CHECK(h.runtime->exit_status() == child::kExitProtocol);
    CHECK(h.handler.calls.empty());  // no stop: like a crash, whatever the child holds stays in place
}

TEST_CASE("runtime: a Commit of a refused generation is a protocol error") {
    Harness h;
    h.configure(2, "bad");
    h.await(Envelope::kConfigResult);
    h.send([](Envelope& e) { e.mutable_commit()->set_generation(2); });
    REQUIRE(run_until(h.io, [&] { return h.finished; }));
    CHECK(h.runtime->exit_status() == child::kExitProtocol);
    CHECK(h.handler.calls == std::vector<std::string>{"prepare 2"});
}

TEST_CASE("runtime: a Configure of a generation not above the running one is a protocol error") {
    Harness h;
    h.configure(3, "good");
    h.await(Envelope::kConfigResult);
    h.send([](Envelope& e) { e.mutable_commit()->set_generation(3); });
    h.await(Envelope::kStatus);
    h.configure(3, "good");
    REQUIRE(run_until(h.io, [&] { return h.finished; }));
    CHECK(h.runtime->exit_status() == child::kExitProtocol);
}

TEST_CASE("runtime: Restore, StatusRequest and forwarded peer messages reach the handler") {
    Harness h;
    h.send([](Envelope& e) {
        auto* s = e.mutable_restore()->mutable_snapshot();
        s->add_vrrp_instances()->set_name("VI_1");
        s->add_vrrp_instances()->set_name("VI_2");
    });
    h.send([](Envelope& e) { e.mutable_health()->set_up(true); });
    h.send([](Envelope& e) { e.mutable_vrrp_state()->set_instance("VI_1"); });
    h.send([](Envelope& e) { e.mutable_status_request(); });
    const auto& status = h.await(Envelope::kStatus);
    CHECK(status.status().generation() == 0);
    CHECK(status.status().vrrp_instances(0).state() == vigil::status::VrrpInstanceStatus::BACKUP);
    CHECK(h.handler.calls == std::vector<std::string>{"restore 2", "peer health", "peer vrrp_state"});
}

TEST_CASE("runtime: the handler can send events and status up through its uplink") {
    Harness h;
    REQUIRE(h.handler.uplink != nullptr);
    Envelope e;
    e.mutable_event()->set_subject("VI_1");
    e.mutable_event()->set_text("BACKUP -> MASTER");
    h.handler.uplink->send(e);
    const auto& event = h.await(Envelope::kEvent);
    CHECK(event.event().subject() == "VI_1");

    Envelope bad;
    bad.mutable_configure();  // not a child's message: dropped, the channel stays up
    h.handler.uplink->send(bad);
    h.handler.uplink->send_status();
    h.await(Envelope::kStatus);
    CHECK_FALSE(h.error);
}

TEST_CASE("runtime: Shutdown stops the handler, then the child finishes with status 0") {
    Harness h;
    h.handler.defer_stop = true;
    h.send([](Envelope& e) { e.mutable_shutdown(); });
    REQUIRE(run_until(h.io, [&] { return !h.handler.calls.empty(); }));
    CHECK(h.handler.calls == std::vector<std::string>{"stop"});
    // Still answering the parent's Pings while the handler stops, but with no Status: what a stopping
    // handler holds is on its way out.
    const std::size_t before = h.received.size();
    h.send([](Envelope& e) { e.mutable_ping()->set_want_status(true); });
    h.await(Envelope::kPong);
    h.io.restart();
    h.io.run_for(std::chrono::milliseconds(50));  // a Status would follow its Pong at once
    REQUIRE(h.received.size() == before + 1);
    CHECK(h.received.back().payload_case() == Envelope::kPong);
    CHECK_FALSE(h.finished);

    h.handler.pending_stop();
    REQUIRE(run_until(h.io, [&] { return h.finished && h.eof; }));
    CHECK(h.runtime->exit_status() == child::kExitOk);
}

TEST_CASE("runtime: EOF from the parent (it died) stops the handler gracefully") {
    Harness h;
    h.parent.reset();
    REQUIRE(run_until(h.io, [&] { return h.finished; }));
    CHECK(h.handler.calls == std::vector<std::string>{"stop"});
    CHECK(h.runtime->exit_status() == child::kExitOk);
}

TEST_CASE("runtime: garbage from the parent ends the child with the protocol exit status") {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
    FakeHandler handler;
    asio::io_context io;
    child::Runtime runtime(io, ipc::UniqueFd(fds[1]), handler);
    bool finished = false;
    runtime.on_finished([&] { finished = true; });
    runtime.start();
    const char garbage[] = "\x08\x01\x10";
    REQUIRE(::send(fds[0], garbage, sizeof(garbage) - 1, MSG_NOSIGNAL) > 0);
    REQUIRE(run_until(io, [&] { return finished; }));
    CHECK(runtime.exit_status() == child::kExitProtocol);
    CHECK(handler.calls.empty());
    ::close(fds[0]);
}

TEST_CASE("runtime: SIGTERM (request_stop) stops gracefully; a second one exits at once") {
    Harness h;
    h.handler.defer_stop = true;
    h.runtime->request_stop("SIGTERM");
    CHECK(h.handler.calls == std::vector<std::string>{"stop"});
    CHECK_FALSE(h.finished);
    h.runtime->request_stop("SIGTERM");
    CHECK(h.finished);
    CHECK(h.runtime->exit_status() == child::kExitFailure);
}

TEST_CASE("child arguments: what the parent writes, the child reads back") {
    child::ChildArguments a;
    a.log.console = true;
    a.log.syslog_facility = "local3";
    a.log.file = "/var/log/vigil.log";
    a.log.level = "debug";
    a.log.timestamps = false;
    a.need_net_raw = true;
    a.raw_tcp = true;
    a.channel_fd = 5;
    auto words = child::child_arguments(a);
    std::vector<std::string> argv_text{"vigil-checker"};
    argv_text.insert(argv_text.end(), words.begin(), words.end());
    std::vector<char*> argv;
    for (auto& w : argv_text) argv.push_back(w.data());
    argv.push_back(nullptr);
    auto parsed = child::parse_child_arguments(static_cast<int>(argv.size() - 1), argv.data());
    REQUIRE(parsed.error.empty());
    CHECK(parsed.args.log.console);
    CHECK(parsed.args.log.syslog_facility == std::optional<std::string>("local3"));
    CHECK(parsed.args.log.file == std::optional<std::string>("/var/log/vigil.log"));
    CHECK(parsed.args.log.level == "debug");
    CHECK_FALSE(parsed.args.log.timestamps);
    CHECK(parsed.args.need_net_raw);
    CHECK(parsed.args.raw_tcp);
    CHECK(parsed.args.channel_fd == 5);
}

TEST_CASE("child arguments: unknown flags and stray words are usage errors") {
    std::vector<std::string> words{"vigil-vrrp", "--bogus"};
    std::vector<char*> argv{words[0].data(), words[1].data(), nullptr};
    CHECK_FALSE(child::parse_child_arguments(2, argv.data()).error.empty());
    std::vector<std::string> words2{"vigil-vrrp", "--channel-fd=x"};
    std::vector<char*> argv2{words2[0].data(), words2[1].data(), nullptr};
    CHECK_FALSE(child::parse_child_arguments(2, argv2.data()).error.empty());
}
