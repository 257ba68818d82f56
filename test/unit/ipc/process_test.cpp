// run_child() as a real process: forked here, its channel on fd 3 as vigild arranges it, driven over the
// socketpair, judged by its exit status (and, as root, by the capabilities /proc shows while it runs).
#include <cap-ng.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/child/runtime.hpp"
#include "test/unit/ipc/ipc_test_util.hpp"

using namespace vigil::common;
using vigil::ipc::Envelope;
using vigil::test::ipc::run_until;

namespace {

struct IdleHandler : child::Handler {
    std::vector<std::string> prepare(std::uint64_t, const vigil::config::Config&) override { return {}; }
    void commit(std::uint64_t) override {}
    void abort(std::uint64_t) override {}
    void restore(const vigil::ipc::Snapshot&) override {}
    void fill_status(vigil::ipc::Status&) override {}
};

struct Forked {
    pid_t pid = -1;
    ipc::UniqueFd parent_end;
};

// Forks a child that (optionally) drops `drop_first` from its effective set, puts its end of a socketpair on
// fd 3 and runs run_child() with a spec requiring `required`.
Forked fork_child(std::vector<int> required, std::optional<int> drop_first = std::nullopt) {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        if (drop_first) {
            capng_get_caps_process();
            capng_update(CAPNG_DROP, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED),
                         static_cast<unsigned int>(*drop_first));
            capng_apply(CAPNG_SELECT_CAPS);
        }
        if (fds[1] != child::kChannelFd) {
            ::dup2(fds[1], child::kChannelFd);
            ::close(fds[1]);
        }
        child::ChildSpec spec;
        spec.ident = "vigil-test-child";
        spec.required_capabilities = [required](const child::ChildArguments&) { return required; };
        spec.make_handler = [](const child::ChildArguments&, asio::io_context&) {
            return std::make_unique<IdleHandler>();
        };
        char arg0[] = "vigil-test-child";
        char arg1[] = "-l";
        char arg2[] = "--log-level=warning";
        char* argv[] = {arg0, arg1, arg2, nullptr};
        ::_exit(child::run_child(3, argv, spec));
    }
    ::close(fds[1]);
    return {pid, ipc::UniqueFd(fds[0])};
}

int wait_exit(pid_t pid) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
}

std::string cap_eff_line(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("CapEff:", 0) == 0) return line;
    return {};
}

}  // namespace

TEST_CASE("child process: a missing capability ends it with the permanent-error status") {
    // As root the child first loses CAP_NET_RAW; as anyone else it never had it.
    auto forked = fork_child({CAP_NET_RAW}, CAP_NET_RAW);
    CHECK(wait_exit(forked.pid) == child::kExitPermanent);
}

TEST_CASE("child process: answers Ping and exits 0 when the parent closes the channel") {
    auto forked = fork_child({});
    asio::io_context io;
    std::vector<Envelope> got;
    ipc::Channel parent(
        io, std::move(forked.parent_end), ipc::Side::kParent,
        {.on_message = [&](Envelope&& e) { got.push_back(std::move(e)); }, .on_error = {}, .on_eof = {}});
    parent.start();
    Envelope ping;
    ping.mutable_ping();
    parent.send(ping);
    REQUIRE(run_until(io, [&] { return !got.empty(); }));
    CHECK(got[0].has_pong());
    parent.close();
    CHECK(wait_exit(forked.pid) == child::kExitOk);
}

TEST_CASE("child process: SIGTERM stops it with status 0") {
    auto forked = fork_child({});
    asio::io_context io;
    bool ponged = false;
    ipc::Channel parent(io, std::move(forked.parent_end), ipc::Side::kParent,
                        {.on_message = [&](Envelope&&) { ponged = true; }, .on_error = {}, .on_eof = {}});
    parent.start();
    Envelope ping;
    ping.mutable_ping();
    parent.send(ping);
    REQUIRE(run_until(io, [&] { return ponged; }));  // its loop (and signal handling) is up
    ::kill(forked.pid, SIGTERM);
    CHECK(wait_exit(forked.pid) == child::kExitOk);
}

TEST_CASE("child process: keeps exactly the capabilities it needs in its effective set") {
    if (geteuid() != 0) {
        WARN("not root: skipped");
        return;
    }
    auto forked = fork_child({CAP_NET_ADMIN});
    asio::io_context io;
    bool ponged = false;
    ipc::Channel parent(io, std::move(forked.parent_end), ipc::Side::kParent,
                        {.on_message = [&](Envelope&&) { ponged = true; }, .on_error = {}, .on_eof = {}});
    parent.start();
    Envelope ping;
    ping.mutable_ping();
    parent.send(ping);
    REQUIRE(run_until(io, [&] { return ponged; }));
    std::ostringstream want;
    want << "CapEff:\t" << std::hex;
    want.fill('0');
    want.width(16);
    want << (std::uint64_t{1} << CAP_NET_ADMIN);
    CHECK(cap_eff_line(forked.pid) == want.str());
    parent.close();
    CHECK(wait_exit(forked.pid) == child::kExitOk);
}

TEST_CASE("child process: without a channel on fd 3 it refuses to run (usage status)") {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(child::kChannelFd);
        child::ChildSpec spec;
        spec.ident = "vigil-test-child";
        spec.required_capabilities = [](const child::ChildArguments&) { return std::vector<int>{}; };
        spec.make_handler = [](const child::ChildArguments&, asio::io_context&) {
            return std::make_unique<IdleHandler>();
        };
        char arg0[] = "vigil-test-child";
        char arg1[] = "-l";
        char arg2[] = "--log-level=off";
        char* argv[] = {arg0, arg1, arg2, nullptr};
        ::_exit(child::run_child(3, argv, spec));
    }
    CHECK(wait_exit(pid) == child::kExitUsage);
}
