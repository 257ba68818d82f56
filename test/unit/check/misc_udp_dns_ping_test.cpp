// MISC_CHECK, check_script, FILE_CHECK, UDP_CHECK, DNS_CHECK and PING_CHECK against local programs, files and
// responders on loopback.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>

#include "checker_child/check_dns.hpp"
#include "checker_child/check_file.hpp"
#include "checker_child/check_misc.hpp"
#include "checker_child/check_ping.hpp"
#include "checker_child/check_udp.hpp"
#include "checker_child/script_runner.hpp"
#include "checker_child/timer_wheel.hpp"
#include "test/unit/check/support.hpp"

using namespace vigil::check;
using namespace vigil::check::test;
using namespace std::chrono_literals;
using asio::ip::udp;

namespace {

MiscParams misc(const std::string& path, Duration timeout = 5s, bool dynamic = false) {
    MiscParams p;
    p.path = path;
    p.timeout = timeout;
    p.dynamic = dynamic;
    return p;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("MISC_CHECK: exit 0 is up, exit 1 is down with reason 'exit 1'") {
    TempDir dir;
    asio::io_context io;
    MiscCheck ok(misc(dir.script("ok.sh", "exit 0")), "10.0.0.2:80");
    CHECK(run_check(io, ok).ok);
    MiscCheck bad(misc(dir.script("bad.sh", "exit 1")), "10.0.0.2:80");
    const auto r = run_check(io, bad);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "exit 1");
    CHECK_FALSE(r.timed_out);
}

TEST_CASE("MISC_CHECK: misc_dynamic maps exit 2-255 to weight status - 2; without it they are failures") {
    TempDir dir;
    asio::io_context io;
    const auto path = dir.script("seven.sh", "exit 7");
    MiscCheck dynamic(misc(path, 5s, true), "rs");
    const auto r = run_check(io, dynamic);
    CHECK(r.ok);
    REQUIRE(r.weight);
    CHECK(*r.weight == 5);
    MiscCheck fixed(misc(path, 5s, false), "rs");
    CHECK_FALSE(run_check(io, fixed).ok);
    CHECK_FALSE(misc_result({ScriptOutcome::Kind::kExited, 1, "exit 1"}, true).ok);
}

TEST_CASE("MISC_CHECK: a script that outlives misc_timeout is killed and reported as a timeout") {
    TempDir dir;
    asio::io_context io;
    ScriptRun run;
    MiscCheck slow(misc(dir.script("slow.sh", "trap '' TERM; sleep 30"), 300ms), "rs");
    const auto started = std::chrono::steady_clock::now();
    const auto r = run_check(io, slow);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "timeout after 0.3 s");
    CHECK(r.timed_out);
    // TERM is ignored by this script: KILL follows after the grace period, well before its 30 s sleep ends.
    CHECK(std::chrono::steady_clock::now() - started < 15s);
}

TEST_CASE("MISC_CHECK: a program that cannot be executed is a failure that says why") {
    asio::io_context io;
    MiscCheck missing(misc("/nonexistent/vigil-check"), "rs");
    const auto r = run_check(io, missing);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "cannot exec /nonexistent/vigil-check: No such file or directory");
}

TEST_CASE("MISC_CHECK: the script runs with no capabilities, arguments split from misc_path") {
    TempDir dir;
    asio::io_context io;
    const auto out = (dir.path / "out").string();
    const auto path = dir.script(
        "caps.sh", "grep -E '^Cap(Inh|Prm|Eff|Amb)' /proc/self/status > \"$1\"; echo \"$2\" >> \"$1\"");
    MiscCheck check(misc(path + " " + out + " 'two words'"), "rs");
    REQUIRE(run_check(io, check).ok);
    const auto text = slurp(out);
    CHECK(text.find("CapEff:\t0000000000000000") != std::string::npos);
    CHECK(text.find("CapPrm:\t0000000000000000") != std::string::npos);
    CHECK(text.find("CapInh:\t0000000000000000") != std::string::npos);
    CHECK(text.find("two words\n") != std::string::npos);
}

TEST_CASE("MISC_CHECK: runs as the configured user") {
    if (::geteuid() != 0) {
        WARN("skipped: changing user needs root");
        return;
    }
    TempDir dir;
    std::filesystem::permissions(dir.path, std::filesystem::perms::all);
    asio::io_context io;
    const auto out = (dir.path / "uid").string();
    auto p = misc(dir.script("uid.sh", "id -u > \"$1\"") + " " + out);
    p.user = "nobody";
    MiscCheck check(p, "rs");
    REQUIRE(run_check(io, check).ok);
    CHECK(slurp(out) == "65534\n");
}

TEST_CASE("check_script runs the vrrp_script with the real server's address and port") {
    TempDir dir;
    asio::io_context io;
    const auto out = (dir.path / "args").string();
    ScriptParams p;
    p.name = "chk_app";
    p.script = dir.script("chk.sh", "echo \"$@\" > " + out + "; [ \"$2\" = 8080 ]");
    p.timeout = 5s;
    ScriptCheck check(p, "10.1.2.3", 8080);
    CHECK(run_check(io, check).ok);
    CHECK(slurp(out) == "10.1.2.3 8080\n");
    ScriptCheck other(p, "10.1.2.3", 80);
    CHECK_FALSE(run_check(io, other).ok);
}

TEST_CASE("FILE_CHECK follows track_file rules") {
    TempDir dir;
    asio::io_context io;
    FileParams p;
    p.track_file = "tf";
    p.path = dir.file("value", "0\n");
    p.weight = 0;
    FileCheck zero_weight(p, 10);
    CHECK(run_check(io, zero_weight).ok);
    dir.file("value", "3\n");
    CHECK_FALSE(run_check(io, zero_weight).ok);

    p.weight = 2;
    p.dynamic = true;
    FileCheck dynamic(p, 10);
    auto r = run_check(io, dynamic);
    CHECK(r.ok);
    CHECK(r.weight == 16);
    p.reverse = true;
    dir.file("value", "6\n");
    FileCheck reversed(p, 10);
    r = run_check(io, reversed);
    CHECK_FALSE(r.ok);  // 10 - 12 < 0
    CHECK(r.reason == "value 6 in " + p.path + " makes weight -2");

    p.path = (dir.path / "missing").string();
    FileCheck missing(p, 10);
    CHECK(run_check(io, missing).ok);  // a missing file reads as 0
    dir.file("junk", "abc");
    p.path = (dir.path / "junk").string();
    FileCheck junk(p, 10);
    CHECK_FALSE(run_check(io, junk).ok);
}

namespace {

// Answers every datagram on `socket` with `reply(request)` (empty: no answer).
asio::awaitable<void> udp_responder(udp::socket& socket,
                                    std::function<std::vector<uint8_t>(const std::vector<uint8_t>&)> reply) {
    std::vector<uint8_t> buffer(2048);
    while (true) {
        udp::endpoint from;
        std::error_code ec;
        const auto n = co_await socket.async_receive_from(asio::buffer(buffer), from,
                                                          asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        const auto answer =
            reply(std::vector<uint8_t>(buffer.begin(), buffer.begin() + static_cast<long>(n)));
        if (!answer.empty()) socket.send_to(asio::buffer(answer), from, 0, ec);
    }
}

uint16_t closed_udp_port() {
    asio::io_context io;
    udp::socket s(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return s.local_endpoint().port();
}

}  // namespace

TEST_CASE("UDP_CHECK: a reply, silence and port unreachable, with and without require_reply") {
    asio::io_context io;
    udp::socket echo(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    udp::socket silent(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::co_spawn(io, udp_responder(echo, [](const auto& q) { return q; }), asio::detached);
    asio::co_spawn(io, udp_responder(silent, [](const auto&) { return std::vector<uint8_t>{}; }),
                   asio::detached);

    UdpParams p;
    REQUIRE(parse_hex_string("de ad be ef", p.payload, nullptr));
    UdpCheck to_echo(loopback(echo.local_endpoint().port()), 1s, p);
    CHECK(run_check(io, to_echo).ok);
    UdpCheck to_silent(loopback(silent.local_endpoint().port()), 300ms, p);
    auto r = run_check(io, to_silent);
    CHECK(r.ok);
    CHECK(r.reason == "no ICMP error within 0.3 s");
    CHECK_FALSE(r.timed_out);
    UdpCheck to_closed(loopback(closed_udp_port()), 1s, p);
    r = run_check(io, to_closed);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "port unreachable");
    CHECK_FALSE(r.timed_out);

    p.require_reply = true;
    UdpCheck silent_required(loopback(silent.local_endpoint().port()), 300ms, p);
    r = run_check(io, silent_required);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "no reply, timeout after 0.3 s");
    CHECK(r.timed_out);
    REQUIRE(parse_hex_string("dEaD bXeX", p.reply_pattern, &p.reply_mask));
    UdpCheck pattern(loopback(echo.local_endpoint().port()), 1s, p);
    CHECK(run_check(io, pattern).ok);
    REQUIRE(parse_hex_string("dead bf", p.reply_pattern, &p.reply_mask));
    UdpCheck wrong(loopback(echo.local_endpoint().port()), 1s, p);
    r = run_check(io, wrong);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "reply differs from require_reply at byte 2");
}

TEST_CASE("parse_hex_string reads keepalived's free-form hex") {
    std::vector<uint8_t> bytes;
    REQUIRE(parse_hex_string("Ab12f 3 456 546443123", bytes, nullptr));
    CHECK(bytes == std::vector<uint8_t>{0xAB, 0x12, 0x0F, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03});
    CHECK_FALSE(parse_hex_string("zz", bytes, nullptr));
}

TEST_CASE("DNS_CHECK: NOERROR is up, an error RCODE or no responder is down") {
    asio::io_context io;
    uint8_t rcode = 0;
    std::vector<uint8_t> last_query;
    udp::socket dns(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::co_spawn(io,
                   udp_responder(dns,
                                 [&](const std::vector<uint8_t>& q) {
                                     last_query = q;
                                     auto a = q;
                                     a[2] |= 0x80;  // QR
                                     a[3] = rcode;
                                     return a;
                                 }),
                   asio::detached);
    DnsParams p;
    p.type = "A";
    p.name = "www.example.org";
    DnsCheck check(loopback(dns.local_endpoint().port()), 1s, p);
    auto r = run_check(io, check);
    CHECK(r.ok);
    // The question: www.example.org, type A (1), class IN (1).
    const std::vector<uint8_t> question = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm', 'p', 'l',
                                           'e', 3,   'o', 'r', 'g', 0,   0,   1,   0,   1};
    REQUIRE(last_query.size() == 12 + question.size());
    CHECK(std::vector<uint8_t>(last_query.begin() + 12, last_query.end()) == question);

    rcode = 2;
    r = run_check(io, check);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "DNS RCODE 2 (SERVFAIL)");
    CHECK_FALSE(r.timed_out);

    DnsCheck nobody(loopback(closed_udp_port()), 1s, p);
    CHECK_FALSE(run_check(io, nobody).ok);
    CHECK(make_dns_query(1, ".", 6).size() == 12 + 5);
    CHECK(judge_dns_response(last_query.data(), last_query.size(), 0xffff) == "ignore");
}

TEST_CASE("PING_CHECK gets an echo reply from 127.0.0.1 and ::1") {
    asio::io_context io;
    PingCheck v4(loopback(0), 2s);
    const auto r4 = run_check(io, v4);
    if (r4.reason.rfind("cannot open an ICMP socket", 0) == 0) {
        WARN("skipped: this kernel forbids both datagram and raw ICMP sockets here: " << r4.reason);
        return;
    }
    CHECK(r4.ok);
    CHECK(r4.reason == "echo reply");
    PingCheck v6(loopback(0, "::1"), 2s);
    const auto r6 = run_check(io, v6);
    if (r6.reason.find("ddress not available") != std::string::npos ||
        r6.reason.find("etwork is unreachable") != std::string::npos) {
        WARN("skipped IPv6: no ::1 here: " << r6.reason);
    } else {
        CHECK(r6.ok);
    }
}

TEST_CASE("echo reply matching checks type, sequence and (raw sockets) id") {
    auto reply = make_echo_request(false, 0x1234, 7);
    CHECK(internet_checksum(reply.data(), reply.size()) == 0);
    reply[0] = 0;  // echo reply
    CHECK(is_echo_reply(reply.data(), reply.size(), false, false, true, 0x1234, 7));
    CHECK_FALSE(is_echo_reply(reply.data(), reply.size(), false, false, true, 0x1235, 7));
    CHECK(is_echo_reply(reply.data(), reply.size(), false, false, false, 0x1235, 7));
    CHECK_FALSE(is_echo_reply(reply.data(), reply.size(), false, false, true, 0x1234, 8));
}

TEST_CASE("a script forked inside a turn of the timer wheel leaves now() read after the fork") {
    asio::io_context io;
    auto& wheel = TimerWheel::of(io.get_executor());
    TimerWheel::Clock::time_point before_fork{}, seen{};
    TimerWheel::Entry entry([&] {
        before_fork = TimerWheel::Clock::now();
        ScriptRun run;
        run.argv = {"/bin/true"};
        run.timeout = 5s;
        spawn_script(io.get_executor(), std::move(run));
        seen = wheel.now();  // without a refresh, the turn's start: before before_fork
    });
    wheel.arm(entry, TimerWheel::Clock::now() + 10ms, io.get_executor());
    REQUIRE(run_until(io, [&] { return seen != TimerWheel::Clock::time_point{}; }));
    CHECK(seen >= before_fork);
    io.restart();
    io.run_for(200ms);  // the script ends and is reaped
}
