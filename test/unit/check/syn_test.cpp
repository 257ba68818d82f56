// TCP_CHECK's raw SYNs: the segments (syn_packet.hpp) from bytes, and the prober (syn_prober.hpp) against
// listeners on 127.0.0.1 and ::1. The prober's cases need CAP_NET_RAW (the suite runs as root) and are
// skipped with a warning without it.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "checker_child/check_tcp.hpp"
#include "checker_child/syn_packet.hpp"
#include "checker_child/syn_prober.hpp"
#include "test/unit/check/support.hpp"

using namespace vigil::check;
using namespace vigil::check::test;
using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

// RFC 1071's sum, written out separately from syn_packet.cpp: 16-bit big-endian words, carries folded.
std::uint16_t rfc1071(const std::vector<std::uint8_t>& bytes) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < bytes.size(); i += 2)
        sum += static_cast<std::uint32_t>(bytes[i] << 8 | (i + 1 < bytes.size() ? bytes[i + 1] : 0));
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

std::uint32_t be(const char* dotted) {
    in_addr a{};
    inet_pton(AF_INET, dotted, &a);
    return a.s_addr;
}

std::vector<std::uint8_t> tcp_header(std::uint16_t sport, std::uint16_t dport, std::uint32_t ack,
                                     std::uint8_t flags) {
    std::vector<std::uint8_t> h(20, 0);
    h[0] = static_cast<std::uint8_t>(sport >> 8), h[1] = static_cast<std::uint8_t>(sport);
    h[2] = static_cast<std::uint8_t>(dport >> 8), h[3] = static_cast<std::uint8_t>(dport);
    for (int i = 0; i < 4; ++i) h[8 + i] = static_cast<std::uint8_t>(ack >> (24 - 8 * i));
    h[12] = 5 << 4;
    h[13] = flags;
    return h;
}

constexpr std::uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10;

bool have_raw_sockets() {
    close_raw_tcp_sockets();
    open_raw_tcp_sockets();
    if (raw_tcp_socket_error(false).empty() && raw_tcp_socket_error(true).empty()) return true;
    WARN("skipped: " << raw_tcp_socket_error(false) << " / " << raw_tcp_socket_error(true));
    close_raw_tcp_sockets();
    return false;
}

// Leaves no raw socket behind for the other tests' loops (their TCP_CHECKs then connect sockets).
struct RawSocketsClosed {
    ~RawSocketsClosed() { close_raw_tcp_sockets(); }
};

std::optional<CheckResult> probe(asio::io_context& io, SynProber& prober, const tcp::endpoint& remote,
                                 Duration timeout = 5s) {
    REQUIRE(prober.available(remote.address().is_v6()));
    SynProber::Probe p;
    std::optional<CheckResult> result;
    REQUIRE(prober.start(p, remote, timeout, io.get_executor(), [&](const CheckResult& r) { result = r; }));
    CHECK(p.local_port() != 0);
    CHECK_FALSE(result);  // never from inside start()
    run_until(io, [&] { return result.has_value(); });
    CHECK_FALSE(p.running());
    return result;
}

// The half-open requests (state SYN_RECV, 03) on local port `port`, IPv4 and IPv6.
int half_open(std::uint16_t port) {
    int n = 0;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);
        while (std::getline(in, line)) {
            std::istringstream cols(line);
            std::string slot, local, remote, state;
            cols >> slot >> local >> remote >> state;
            const auto colon = local.rfind(':');
            if (colon != std::string::npos && std::stoul(local.substr(colon + 1), nullptr, 16) == port &&
                state == "03")
                ++n;
        }
    }
    return n;
}

}  // namespace

TEST_CASE("a SYN carries the ports, the ISN, the MSS option and a checksum over the pseudo-header") {
    std::array<std::uint8_t, syn::kSynLength> out{};
    const auto src = be("192.0.2.1"), dst = be("198.51.100.7");
    syn::build_syn(out, 40000, 8080, 0x01020304, syn::pseudo_header_sum_v4(src, dst, out.size()));
    const std::vector<std::uint8_t> head(out.begin(), out.begin() + 16);
    CHECK(head ==
          std::vector<std::uint8_t>{0x9c, 0x40, 0x1f, 0x90, 1, 2, 3, 4, 0, 0, 0, 0, 0x60, 0x02, 0xfa, 0xf0});
    CHECK(out[18] == 0);
    CHECK(out[19] == 0);
    CHECK(std::vector<std::uint8_t>(out.begin() + 20, out.end()) ==
          std::vector<std::uint8_t>{2, 4, 0x05, 0xb4});
    // The receiver's check: the sum over pseudo-header and segment, checksum included, is 0xffff (folds to
    // 0).
    std::vector<std::uint8_t> whole{192, 0, 2, 1, 198, 51, 100, 7, 0, 6, 0, syn::kSynLength};
    whole.insert(whole.end(), out.begin(), out.end());
    CHECK(rfc1071(whole) == 0);
    // Without a pseudo-header sum (IPv6: the kernel fills it in), the field is left 0.
    syn::build_syn(out, 40000, 8080, 0x01020304, std::nullopt);
    CHECK(out[16] == 0);
    CHECK(out[17] == 0);
}

TEST_CASE("a reply is a SYN-ACK (listening), a RST-ACK (refused), or nothing to a SYN") {
    auto kind = [](std::uint8_t flags) {
        const auto h = tcp_header(8080, 40000, 0x01020305, flags);
        return syn::parse_tcp(h.data(), h.size())->kind;
    };
    using K = syn::Reply::Kind;
    CHECK(kind(SYN | ACK) == K::kListening);
    CHECK(kind(RST | ACK) == K::kRefused);
    CHECK(kind(RST) == K::kIgnored);  // RFC 9293: in SYN-SENT a RST counts only with an ACK of our SYN
    CHECK(kind(SYN) == K::kIgnored);
    CHECK(kind(ACK) == K::kIgnored);
    CHECK(kind(SYN | ACK | FIN) == K::kIgnored);
    const auto h = tcp_header(8080, 40000, 0x01020305, SYN | ACK);
    const auto r = syn::parse_tcp(h.data(), h.size());
    CHECK(r->source_port == 8080);
    CHECK(r->destination_port == 40000);
    CHECK(r->acknowledged == 0x01020305);
    CHECK_FALSE(syn::parse_tcp(h.data(), 13));
}

TEST_CASE("an IPv4 reply is read after its header, options included; other datagrams are not replies") {
    auto datagram = [](std::uint8_t ihl, std::uint8_t protocol, std::uint16_t fragment) {
        std::vector<std::uint8_t> d(ihl * 4, 0);
        d[0] = static_cast<std::uint8_t>(0x40 | ihl);
        d[6] = static_cast<std::uint8_t>(fragment >> 8), d[7] = static_cast<std::uint8_t>(fragment);
        d[9] = protocol;
        const std::uint8_t source[] = {198, 51, 100, 7};
        std::copy(source, source + 4, d.begin() + 12);
        const auto t = tcp_header(8080, 40000, 7, SYN | ACK);
        d.insert(d.end(), t.begin(), t.end());
        return d;
    };
    for (std::uint8_t ihl : {5, 6, 15}) {
        const auto d = datagram(ihl, 6, 0x4000 /* DF */);
        const auto r = syn::parse_ipv4(d.data(), d.size());
        REQUIRE(r);
        CHECK(r->source_be == be("198.51.100.7"));
        CHECK(r->tcp.source_port == 8080);
        CHECK(r->tcp.kind == syn::Reply::Kind::kListening);
    }
    const auto udp = datagram(5, 17, 0);
    CHECK_FALSE(syn::parse_ipv4(udp.data(), udp.size()));
    const auto later = datagram(5, 6, 0x0010);
    CHECK_FALSE(syn::parse_ipv4(later.data(), later.size()));
    auto bad = datagram(5, 6, 0);
    bad[0] = 0x44;  // a header shorter than 20 bytes
    CHECK_FALSE(syn::parse_ipv4(bad.data(), bad.size()));
    const auto whole = datagram(5, 6, 0);
    CHECK_FALSE(syn::parse_ipv4(whole.data(), 30));  // cut inside the TCP header
    const std::uint8_t v6[] = {0x60, 0, 0, 0, 0, 0, 6, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_FALSE(syn::parse_ipv4(v6, sizeof v6));
}

TEST_CASE("an ICMP error names its probe by the ports and sequence number of the SYN it quotes") {
    std::array<std::uint8_t, syn::kSynLength> out{};
    syn::build_syn(out, 40000, 8080, 0xdeadbeef, std::nullopt);
    const auto q = syn::parse_quoted(out.data(), 8);
    REQUIRE(q);
    CHECK(q->source_port == 40000);
    CHECK(q->destination_port == 8080);
    CHECK(q->sequence == 0xdeadbeef);
    CHECK_FALSE(syn::parse_quoted(out.data(), 7));
}

TEST_CASE(
    "raw SYNs: a listener is up and builds no connection, a closed port refuses, a full queue times out") {
    if (!have_raw_sockets()) return;
    RawSocketsClosed cleanup;
    asio::io_context io;
    auto& prober = SynProber::of(io.get_executor());
    for (const char* ip : {"127.0.0.1", "::1"}) {
        INFO(ip);
        const auto address = asio::ip::make_address(ip);
        REQUIRE(prober.available(address.is_v6()));
        tcp::acceptor listener(io, tcp::endpoint(address, 0));
        const auto up = probe(io, prober, listener.local_endpoint());
        CHECK(up->ok);
        CHECK(up->reason == "connected");
        // The kernel answered the SYN-ACK with a RST: the listener holds no half-open request (a SYN_RECV
        // entry would stay for a minute of SYN-ACK retransmissions without it).
        io.restart();
        io.run_for(50ms);
        CHECK(half_open(listener.local_endpoint().port()) == 0);
        const auto closed = listener.local_endpoint();
        listener.close();
        const auto refused = probe(io, prober, closed);
        CHECK_FALSE(refused->ok);
        CHECK(refused->reason == "connection refused");
        CHECK_FALSE(refused->timed_out);
    }
    BlackHole hole(io);
    const auto started = std::chrono::steady_clock::now();
    const auto silent =
        probe(io, prober, tcp::endpoint(asio::ip::make_address("127.0.0.1"), hole.port), 500ms);
    CHECK_FALSE(silent->ok);
    CHECK(silent->reason == "timeout after 0.5 s");
    CHECK(silent->timed_out);
    CHECK(std::chrono::steady_clock::now() - started >= 450ms);
    CHECK(prober.in_flight() == 0);
}

TEST_CASE("raw SYNs: many probes at once each get their own answer; a cancelled one calls nothing back") {
    if (!have_raw_sockets()) return;
    RawSocketsClosed cleanup;
    asio::io_context io;
    auto& prober = SynProber::of(io.get_executor());
    REQUIRE(prober.available(false));
    // Two probes of the same listener at once (the same real server in two virtual servers) are told apart by
    // their sequence numbers; a closed port beside them.
    tcp::acceptor open(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::endpoint closed;
    {
        tcp::acceptor gone(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        closed = gone.local_endpoint();
    }
    // As many as there are probe ports for each of the two.
    constexpr int kProbes = 2 * static_cast<int>(SynProber::kPorts);
    std::vector<std::unique_ptr<SynProber::Probe>> probes;
    std::vector<std::optional<CheckResult>> results(kProbes);
    int cancelled_called = 0;
    for (int i = 0; i < kProbes; ++i) {
        probes.push_back(std::make_unique<SynProber::Probe>());
        REQUIRE(
            prober.start(*probes.back(), i % 2 ? closed : open.local_endpoint(), 5s, io.get_executor(),
                         [&results, i](const CheckResult& r) { results[static_cast<std::size_t>(i)] = r; }));
    }
    SynProber::Probe doomed;
    REQUIRE(prober.start(doomed,
                         tcp::endpoint(asio::ip::make_address("127.0.0.2"), open.local_endpoint().port()), 5s,
                         io.get_executor(), [&](const CheckResult&) { ++cancelled_called; }));
    CHECK(prober.in_flight() == kProbes + 1);
    prober.cancel(doomed);
    CHECK_FALSE(doomed.running());
    CHECK(prober.in_flight() == kProbes);
    run_until(io, [&] { return prober.in_flight() == 0; });
    for (int i = 0; i < kProbes; ++i) {
        INFO(i);
        REQUIRE(results[static_cast<std::size_t>(i)]);
        CHECK(results[static_cast<std::size_t>(i)]->ok == (i % 2 == 0));
    }
    io.restart();
    io.run_for(50ms);
    CHECK(cancelled_called == 0);
    // The cancelled probe's answer came and matched nothing (read at the latest with the next probe's).
    CHECK(probe(io, prober, open.local_endpoint())->ok);
    CHECK(prober.unmatched() >= 1);
    // A probe destroyed while out leaves the table too.
    {
        BlackHole hole(io);
        SynProber::Probe p;
        REQUIRE(prober.start(p, tcp::endpoint(asio::ip::make_address("127.0.0.1"), hole.port), 300ms,
                             io.get_executor(), [&](const CheckResult&) { ++cancelled_called; }));
        CHECK(prober.in_flight() == 1);
    }
    CHECK(prober.in_flight() == 0);
    // With nothing out, the loop has nothing left to wait for (the wheel's timer for that timeout aside,
    // which fires once): run() returns.
    io.restart();
    io.run_for(2s);
    CHECK(io.stopped());
    CHECK(cancelled_called == 0);
}

TEST_CASE("raw SYNs: probes of one real server that are out at once leave from different ports") {
    if (!have_raw_sockets()) return;
    RawSocketsClosed cleanup;
    asio::io_context io;
    auto& prober = SynProber::of(io.get_executor());
    REQUIRE(prober.available(false));
    BlackHole hole(io);
    const tcp::endpoint silent(asio::ip::make_address("127.0.0.1"), hole.port);
    std::vector<std::unique_ptr<SynProber::Probe>> probes;
    std::set<std::uint16_t> ports;
    int called = 0;
    for (std::size_t i = 0; i < SynProber::kPorts; ++i) {
        probes.push_back(std::make_unique<SynProber::Probe>());
        REQUIRE(prober.start(*probes.back(), silent, 5s, io.get_executor(),
                             [&](const CheckResult&) { ++called; }));
        ports.insert(probes.back()->local_port());
    }
    CHECK(ports.size() == SynProber::kPorts);
    // One more finds no free port: start() says so, and TCP_CHECK then connects a socket.
    auto extra = std::make_unique<SynProber::Probe>();
    CHECK_FALSE(prober.start(*extra, silent, 5s, io.get_executor(), [&](const CheckResult&) { ++called; }));
    CHECK_FALSE(extra->running());
    probes.pop_back();  // destroyed while out: its port is free again
    CHECK(prober.start(*extra, silent, 5s, io.get_executor(), [&](const CheckResult&) { ++called; }));
    probes.clear();
    extra.reset();
    CHECK(prober.in_flight() == 0);
    // Successive probes of one real server rotate over the ports.
    tcp::acceptor listener(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::set<std::uint16_t> used;
    for (int i = 0; i < 3; ++i) {
        SynProber::Probe p;
        std::optional<CheckResult> r;
        REQUIRE(prober.start(p, listener.local_endpoint(), 5s, io.get_executor(),
                             [&](const CheckResult& x) { r = x; }));
        used.insert(p.local_port());
        run_until(io, [&] { return r.has_value(); });
        CHECK(r->ok);
    }
    CHECK(used.size() == 3);
    CHECK(called == 0);
}

TEST_CASE(
    "TCP_CHECK sends raw SYNs where the raw sockets are open, and connects sockets where they are not") {
    asio::io_context io;
    tcp::acceptor listener(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = listener.local_endpoint().port();
    ConnectTarget target;
    target.ip = "127.0.0.1";
    target.port = port;
    {
        close_raw_tcp_sockets();
        TcpCheck check(target, 5s);
        const auto r = run_check(io, check);
        CHECK(r.ok);
        CHECK(SynProber::of(io.get_executor()).unavailable_reason(false) == "no raw TCP socket was opened");
        CHECK(TcpProber::of(io.get_executor()).idle() == 1);  // the socket it connected
    }
    if (!have_raw_sockets()) return;
    RawSocketsClosed cleanup;
    asio::io_context io2;
    TcpCheck check(target, 5s);
    std::optional<CheckResult> result;
    REQUIRE(check.start(io2.get_executor(), [&](const CheckResult& r) { result = r; }));
    CHECK(SynProber::of(io2.get_executor()).in_flight() == 1);
    run_until(io2, [&] { return result.has_value(); });
    CHECK(result->ok);
    CHECK(TcpProber::of(io2.get_executor()).idle() == 0);  // no socket connected
}
