// TCP_CHECK and SMTP_CHECK against listeners on 127.0.0.1 that the tests start.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <thread>

#include "checker_child/check_smtp.hpp"
#include "checker_child/check_tcp.hpp"
#include "checker_child/net_util.hpp"
#include "test/unit/check/support.hpp"

using namespace vigil::check;
using namespace vigil::check::test;
using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

uint16_t free_port_then_closed(const std::string& ip = "127.0.0.1") {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address(ip), 0));
    return a.local_endpoint().port();  // closed when `a` goes: nothing listens there
}

// Takes every connection waiting in `acceptor`'s queue without blocking; returns how many there were.
int accept_all(asio::io_context& io, tcp::acceptor& acceptor) {
    int accepted = 0;
    acceptor.non_blocking(true);
    for (;;) {
        tcp::socket peer(io);
        std::error_code ec;
        acceptor.accept(peer, ec);
        if (ec) return accepted;
        ++accepted;
    }
}

// Longer than the delayed-ACK timer (200 ms) on which a half-open check's last ACK waits: a handshake that
// was going to complete has completed by then.
constexpr auto kPastDelayedAck = 300ms;

// One TCP_CHECK against a listener that accepts: it succeeds.
void check_accepting_listener(asio::io_context& io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    TcpCheck check(loopback(acceptor.local_endpoint().port()), 2s);
    const auto r = run_check(io, check);
    CHECK(r.ok);
    CHECK(r.reason == "connected");
}

}  // namespace

TEST_CASE("TCP_CHECK succeeds when the server accepts") {
    asio::io_context io;
    check_accepting_listener(io);
}

TEST_CASE("TCP_CHECK fails with 'connection refused' when nothing listens") {
    asio::io_context io;
    TcpCheck check(loopback(free_port_then_closed()), 2s);
    const auto r = run_check(io, check);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "connection refused");
    CHECK_FALSE(r.timed_out);
}

TEST_CASE("a connect the kernel gave up on (ETIMEDOUT) is a timeout; any other error a failure") {
    const auto kernel = failure(std::error_code(ETIMEDOUT, std::system_category()), "connection timed out");
    CHECK_FALSE(kernel.ok);
    CHECK(kernel.timed_out);
    CHECK(kernel.reason == "connection timed out");
    const auto refused = failure(std::error_code(ECONNREFUSED, std::system_category()), "connection refused");
    CHECK_FALSE(refused.ok);
    CHECK_FALSE(refused.timed_out);
    CHECK_FALSE(failure(asio::error::host_unreachable, "no route to host").timed_out);
}

TEST_CASE("TCP_CHECK times out after connect_timeout when the server's accept queue is full") {
    asio::io_context io;
    BlackHole hole(io);
    TcpCheck check(loopback(hole.port), 500ms);
    const auto started = std::chrono::steady_clock::now();
    const auto r = run_check(io, check);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "timeout after 0.5 s");
    CHECK(r.timed_out);
    CHECK(std::chrono::steady_clock::now() - started >= 450ms);
}

TEST_CASE("TCP_CHECK destroyed while it connects calls nothing back, and its socket goes back to the pool") {
    asio::io_context io;
    BlackHole hole(io);
    auto& pool = TcpProber::of(io.get_executor());
    const auto idle_before = pool.idle();
    int called = 0;
    {
        TcpCheck check(loopback(hole.port), 10s);
        REQUIRE(check.start(io.get_executor(), [&](const CheckResult&) { ++called; }));
        io.restart();
        io.run_for(50ms);  // the SYN is out and unanswered
        CHECK(pool.idle() == idle_before);
    }
    CHECK(pool.idle() == idle_before + 1);
    io.restart();
    io.run_for(100ms);
    CHECK(called == 0);
    // The socket it left serves the next check as if new.
    check_accepting_listener(io);
    CHECK(pool.idle() == idle_before + 1);
}

TEST_CASE("TCP_CHECK without a descriptor to use fails from the loop, and calls nothing once destroyed") {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor.local_endpoint().port();
    rlimit saved{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rlimit none = saved;
    none.rlim_cur = 1;  // every new descriptor fails with EMFILE; the open ones stay
    int destroyed_called = 0;
    std::optional<CheckResult> result;
    // Everything is built before the limit is lowered, and nothing but start() runs under it: UBSan's vptr
    // check opens files, and fails on objects built while it cannot. One check first makes the prober, its
    // epoll set and the wheel's timer, and leaves one idle socket, which `warm` takes.
    check_accepting_listener(io);
    TcpCheck warm(loopback(port), 2s);
    TcpCheck kept(loopback(port), 2s);
    auto gone = std::make_unique<TcpCheck>(loopback(port), 2s);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &none) == 0);
    const bool warm_started = warm.start(io.get_executor(), [](const CheckResult&) {});
    const bool gone_started = gone->start(io.get_executor(), [&](const CheckResult&) { ++destroyed_called; });
    const bool kept_started = kept.start(io.get_executor(), [&](const CheckResult& r) { result = r; });
    setrlimit(RLIMIT_NOFILE, &saved);
    CHECK(warm_started);
    CHECK(gone_started);
    CHECK(kept_started);
    CHECK_FALSE(result);  // never from inside start()
    gone.reset();         // destroyed (a reload) before the loop reports its failure
    REQUIRE(test::run_until(io, [&] { return result.has_value(); }));
    io.restart();
    io.run_for(50ms);
    CHECK(destroyed_called == 0);
    CHECK_FALSE(result->ok);
    CHECK(result->reason == "too many open files");
}

TEST_CASE("TCP_CHECK ends at the SYN-ACK: the server's application never gets a connection to accept") {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    TcpCheck check(loopback(acceptor.local_endpoint().port()), 2s);
    const auto r = run_check(io, check);
    REQUIRE(r.ok);
    CHECK(r.reason == "connected");
    std::this_thread::sleep_for(kPastDelayedAck);
    CHECK(accept_all(io, acceptor) == 0);
}

TEST_CASE("TCP_CHECK reuses one pooled socket, and each check reports only its own outcome") {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    TcpCheck up(loopback(acceptor.local_endpoint().port()), 2s);
    TcpCheck refused(loopback(free_port_then_closed()), 2s);
    auto& pool = TcpProber::of(io.get_executor());
    CHECK(pool.idle() == 0);
    for (int round = 0; round < 3; ++round) {
        for (int twice = 0; twice < 2; ++twice) {
            const auto a = run_check(io, up);
            CHECK(a.ok);
            CHECK(pool.idle() == 1);
        }
        // The RST that ended the last connection is not this check's result, nor the refusal the next one's.
        const auto b = run_check(io, refused);
        CHECK_FALSE(b.ok);
        CHECK(b.reason == "connection refused");
        CHECK(pool.idle() == 1);
    }
    // Each of the six successes stopped at the SYN-ACK, the pooled socket's too: nothing waits to be
    // accepted.
    std::this_thread::sleep_for(kPastDelayedAck);
    CHECK(accept_all(io, acceptor) == 0);
}

TEST_CASE("TCP_CHECK over IPv6 reuses its pooled socket through a refusal, each check with its own outcome") {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("::1"), 0));
    TcpCheck up(loopback(acceptor.local_endpoint().port(), "::1"), 2s);
    TcpCheck refused(loopback(free_port_then_closed("::1"), "::1"), 2s);
    auto& pool = TcpProber::of(io.get_executor());
    for (int round = 0; round < 2; ++round) {
        CHECK(run_check(io, up).ok);
        const auto r = run_check(io, refused);
        CHECK_FALSE(r.ok);
        CHECK(r.reason == "connection refused");
        CHECK(pool.idle() == 1);
    }
    CHECK(run_check(io, up).ok);
    std::this_thread::sleep_for(kPastDelayedAck);
    CHECK(accept_all(io, acceptor) == 0);
}

TEST_CASE("TCP_CHECK with bind options uses its own socket, not the pool, and ends at the SYN-ACK too") {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto target = loopback(acceptor.local_endpoint().port());
    target.bindto = "127.0.0.1";
    TcpCheck check(target, 2s);
    REQUIRE(run_check(io, check).ok);
    CHECK(TcpProber::of(io.get_executor()).idle() == 0);
    std::this_thread::sleep_for(kPastDelayedAck);
    CHECK(accept_all(io, acceptor) == 0);
}

TEST_CASE("TCP_CHECK binds to bindto and bind_port") {
    // The server never sees a half-open check's source, so the bind shows where it collides: a listener on
    // 127.0.0.2:P makes a check bound to that address and port fail, and only that one.
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const uint16_t bind_port = free_port_then_closed();
    tcp::acceptor holder(io, tcp::endpoint(asio::ip::make_address("127.0.0.2"), bind_port));
    auto target = loopback(acceptor.local_endpoint().port());
    target.bind_port = bind_port;
    target.bindto = "127.0.0.2";
    TcpCheck taken(target, 2s);
    const auto r = run_check(io, taken);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "address already in use");
    target.bindto = "127.0.0.3";
    TcpCheck free(target, 2s);
    CHECK(run_check(io, free).ok);
}

namespace {

// A one-connection SMTP server: sends `banner`, answers HELO with `helo_reply`, records what it received.
asio::awaitable<void> smtp_server(tcp::acceptor& acceptor, std::string banner, std::string helo_reply,
                                  std::string& received) {
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    co_await asio::async_write(socket, asio::buffer(banner), asio::use_awaitable);
    std::string line;
    co_await asio::async_read_until(socket, asio::dynamic_buffer(line), "\r\n", asio::use_awaitable);
    received = line;
    co_await asio::async_write(socket, asio::buffer(helo_reply), asio::use_awaitable);
    std::error_code ec;
    std::string rest;
    co_await asio::async_read_until(socket, asio::dynamic_buffer(rest), "\r\n",
                                    asio::redirect_error(asio::use_awaitable, ec));
    received += rest;
}

}  // namespace

TEST_CASE("SMTP_CHECK succeeds on a 220 banner and a 250 reply to HELO, sending helo_name") {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::string received;
    asio::co_spawn(
        io, smtp_server(acceptor, "220-mail.example ESMTP\r\n220 ready\r\n", "250 hello\r\n", received),
        asio::detached);
    SmtpCheck check(loopback(acceptor.local_endpoint().port()), 2s, SmtpParams{"checker.example"});
    const auto r = run_check(io, check);
    CHECK(r.ok);
    run_until(io, [&] { return received.find("QUIT") != std::string::npos; });
    CHECK(received == "HELO checker.example\r\nQUIT\r\n");
}

TEST_CASE("SMTP_CHECK fails on a banner other than 220") {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::string received;
    asio::co_spawn(io, smtp_server(acceptor, "554 go away\r\n", "250 hello\r\n", received), asio::detached);
    SmtpCheck check(loopback(acceptor.local_endpoint().port()), 2s, SmtpParams{});
    const auto r = run_check(io, check);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "SMTP banner 554, expected 220");
}

TEST_CASE("SMTP_CHECK fails when HELO is refused") {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::string received;
    asio::co_spawn(io, smtp_server(acceptor, "220 ready\r\n", "501 bad\r\n", received), asio::detached);
    SmtpCheck check(loopback(acceptor.local_endpoint().port()), 2s, SmtpParams{});
    const auto r = run_check(io, check);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "SMTP HELO answered 501, expected 250");
}

TEST_CASE("smtp_reply_code waits for the last line of a multi-line reply") {
    CHECK(smtp_reply_code("220-a\r\n") == -1);
    CHECK(smtp_reply_code("220-a\r\n220 b\r\n") == 220);
    CHECK(smtp_reply_code("hello\r\n") == -2);
}
