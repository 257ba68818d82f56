#include "checker_child/syn_prober.hpp"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

#include "checker_child/net_util.hpp"
#include "checker_child/syn_packet.hpp"

namespace vigil::check {

namespace {

struct RawFamily {
    int fd = -1;
    std::vector<int> holds;
    std::vector<std::uint16_t> ports;
    std::string error;
};

RawFamily& raw_family(bool v6) {
    static RawFamily families[2];
    return families[v6 ? 1 : 0];
}

void close_family(RawFamily& r) {
    if (r.fd >= 0) ::close(r.fd);
    r.fd = -1;
    for (int h : r.holds) ::close(h);
    r.holds.clear();
    r.ports.clear();
}

std::string error_text(int err) {
    return describe_error(std::error_code(err, std::system_category()));
}

CheckResult connect_failure(int err) {
    return failure(std::error_code(err, std::system_category()), error_text(err));
}

// Reserves a port: a TCP socket bound to it (the kernel picks it), never listening. Returns the socket.
int reserve_port(bool v6, std::uint16_t& port) {
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_storage a{};
    socklen_t len = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    a.ss_family = v6 ? AF_INET6 : AF_INET;
    if (v6) {
        const int on = 1;
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        const int err = errno;
        ::close(fd);
        errno = err;
        return -1;
    }
    port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&a)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&a)->sin_port);
    return fd;
}

// The filter that passes the segments to `ports` (128 bytes of each: an IP header with options and the TCP
// header's first 14 bytes). An IPv4 raw socket sees the IP header first, an IPv6 one the TCP header.
bool attach_port_filter(int fd, bool v6, const std::vector<std::uint16_t>& ports) {
    std::vector<sock_filter> code;
    if (v6)
        code.push_back(BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2));
    else {
        code.push_back(BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0));  // x = the IP header's length
        code.push_back(BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2));   // the TCP destination port
    }
    // One comparison per port: equal jumps to the accept after the last one.
    const std::size_t n = ports.size();
    for (std::size_t i = 0; i < n; ++i)
        code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ports[i], static_cast<std::uint8_t>(n - i), 0));
    code.push_back(BPF_STMT(BPF_RET | BPF_K, 0));
    code.push_back(BPF_STMT(BPF_RET | BPF_K, 128));
    sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
    return ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0;
}

// Opens one family's raw socket and its ports; on failure leaves nothing open and says why.
void open_family(bool v6) {
    RawFamily& r = raw_family(v6);
    if (r.fd >= 0) return;
    auto fail = [&r](const std::string& what) {
        r.error = what + ": " + error_text(errno);
        close_family(r);
    };
    // A filter that passes nothing, attached first: until the real one is, the socket would get a copy of
    // every TCP segment of the host.
    r.fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (r.fd < 0) return fail("cannot open a raw TCP socket");
    sock_filter none[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    sock_fprog nothing{1, none};
    if (::setsockopt(r.fd, SOL_SOCKET, SO_ATTACH_FILTER, &nothing, sizeof nothing) != 0)
        return fail("cannot filter a raw TCP socket");
    for (std::size_t i = 0; i < SynProber::kPorts; ++i) {
        std::uint16_t port = 0;
        const int hold = reserve_port(v6, port);
        if (hold < 0) return fail("cannot reserve a port for probes");
        r.holds.push_back(hold);
        r.ports.push_back(port);
    }
    const int on = 1;
    if (v6) {
        const int offset = 16;  // where TCP's checksum is: the kernel computes it, pseudo-header included
        if (::setsockopt(r.fd, IPPROTO_IPV6, IPV6_CHECKSUM, &offset, sizeof offset) != 0)
            return fail("cannot have the kernel checksum probes");
        if (::setsockopt(r.fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on) != 0)
            return fail("cannot receive ICMPv6 errors");
    } else if (::setsockopt(r.fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on) != 0) {
        return fail("cannot receive ICMP errors");
    }
    // One socket sends every probe and receives every answer: room for a burst of SYNs on a slow link, and
    // for the answers of a tick's checks (at 50,000 a second, 500 every 10 ms; the default receive buffer
    // holds about 270 segments, and a segment it drops is a SYN sent again). Best effort: SO_*BUFFORCE needs
    // CAP_NET_ADMIN, and the plain options stop at net.core.[rw]mem_max.
    const int send_bytes = 4 << 20, receive_bytes = 16 << 20;
    if (::setsockopt(r.fd, SOL_SOCKET, SO_SNDBUFFORCE, &send_bytes, sizeof send_bytes) != 0)
        ::setsockopt(r.fd, SOL_SOCKET, SO_SNDBUF, &send_bytes, sizeof send_bytes);
    if (::setsockopt(r.fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_bytes, sizeof receive_bytes) != 0)
        ::setsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &receive_bytes, sizeof receive_bytes);
    if (!attach_port_filter(r.fd, v6, r.ports)) return fail("cannot filter the raw TCP socket");
    if (::setsockopt(r.fd, SOL_SOCKET, SO_LOCK_FILTER, &on, sizeof on) != 0)
        return fail("cannot lock the raw TCP socket's filter");
    // Whatever the first filter let through (nothing), and ICMP errors queued meanwhile.
    std::uint8_t scratch[128];
    for (int n = 0; n < 4096 && ::recv(r.fd, scratch, sizeof scratch, MSG_DONTWAIT) >= 0; ++n) {
    }
    for (int n = 0; n < 4096 && ::recv(r.fd, scratch, sizeof scratch, MSG_DONTWAIT | MSG_ERRQUEUE) >= 0;
         ++n) {
    }
    r.error.clear();
}

// SipHash-2-4 (Aumasson and Bernstein) of `data` under `key`: the keyed hash of RFC 6528's ISNs.
std::uint64_t siphash24(const std::array<std::uint64_t, 2>& key, const std::uint8_t* data, std::size_t len) {
    auto rotl = [](std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); };
    std::uint64_t v0 = 0x736f6d6570736575ULL ^ key[0], v1 = 0x646f72616e646f6dULL ^ key[1];
    std::uint64_t v2 = 0x6c7967656e657261ULL ^ key[0], v3 = 0x7465646279746573ULL ^ key[1];
    auto round = [&] {
        v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
        v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
        v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
        v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
    };
    auto word = [&](std::uint64_t m) {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    };
    std::size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        std::uint64_t m = 0;
        for (int b = 0; b < 8; ++b) m |= std::uint64_t{data[i + b]} << (8 * b);
        word(m);
    }
    std::uint64_t last = std::uint64_t{len & 0xff} << 56;
    for (int b = 0; i + b < len; ++b) last |= std::uint64_t{data[i + b]} << (8 * b);
    word(last);
    v2 ^= 0xff;
    for (int r = 0; r < 4; ++r) round();
    return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace

void open_raw_tcp_sockets() {
    open_family(false);
    open_family(true);
}

void close_raw_tcp_sockets() {
    for (bool v6 : {false, true}) {
        close_family(raw_family(v6));
        raw_family(v6).error.clear();
    }
}

std::string raw_tcp_socket_error(bool v6) {
    return raw_family(v6).error;
}

asio::execution_context::id SynProber::id;

std::size_t SynProber::TupleHash::operator()(const Tuple& t) const noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    auto mix = [&h](std::uint64_t v) { h = (h ^ v) * 0x100000001b3ULL; };
    std::uint64_t a, b;
    std::memcpy(&a, t.address.data(), 8);
    std::memcpy(&b, t.address.data() + 8, 8);
    mix(a);
    mix(b);
    mix(std::uint64_t{t.port} << 17 | std::uint64_t{t.local_port} << 1 | t.v6);
    return static_cast<std::size_t>(h ^ h >> 29);
}

SynProber::Probe::~Probe() {
    if (prober_) prober_->cancel(*this);
}

SynProber::SynProber(asio::execution_context& context)
    : asio::execution_context::service(context), wheel_(asio::use_service<TimerWheel>(context)) {
    v6_.v6 = true;
    // GRND_NONBLOCK: at early boot, before the kernel's pool is initialised, a blocking call would hold the
    // checker's start; the fallback key is weaker but the ISNs then still differ per tuple and per start.
    if (::getrandom(isn_key_.data(), sizeof isn_key_, GRND_NONBLOCK) !=
        static_cast<ssize_t>(sizeof isn_key_)) {
        isn_key_[0] = static_cast<std::uint64_t>(TimerWheel::Clock::now().time_since_epoch().count());
        isn_key_[1] = static_cast<std::uint64_t>(::getpid()) << 32 | 0x9e3779b9;
    }
}

SynProber::~SynProber() {
    shutdown();
}

SynProber& SynProber::of(const asio::any_io_executor& executor) {
    return asio::use_service<SynProber>(asio::query(executor, asio::execution::context));
}

std::uint32_t SynProber::isn_for(const Tuple& tuple) const {
    // RFC 6528: M + F(tuple, secret), M a clock of 64 ns ticks (as Linux's), F a keyed hash.
    std::uint8_t bytes[21];
    std::memcpy(bytes, tuple.address.data(), 16);
    bytes[16] = static_cast<std::uint8_t>(tuple.port >> 8), bytes[17] = static_cast<std::uint8_t>(tuple.port);
    bytes[18] = static_cast<std::uint8_t>(tuple.local_port >> 8);
    bytes[19] = static_cast<std::uint8_t>(tuple.local_port);
    bytes[20] = tuple.v6;
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(TimerWheel::Clock::now().time_since_epoch())
            .count();
    return static_cast<std::uint32_t>(siphash24(isn_key_, bytes, sizeof bytes)) +
           static_cast<std::uint32_t>(static_cast<std::uint64_t>(ns) >> 6);
}

bool SynProber::available(bool v6) {
    Family& f = family(v6);
    if (f.adopted) return true;
    if (!f.error.empty() || shut_down_) return false;
    RawFamily& r = raw_family(v6);
    if (r.fd < 0) {
        f.error = r.error.empty() ? "no raw TCP socket was opened" : r.error;
        spdlog::info("TCP_CHECK to IPv{} real servers connects sockets: {}", v6 ? 6 : 4, f.error);
        return false;
    }
    // Ours now; on the loop at the first probe (start() has its executor).
    f.fd = std::exchange(r.fd, -1);
    f.holds = std::move(r.holds);
    f.ports = std::move(r.ports);
    r.holds.clear();
    r.ports.clear();
    f.adopted = true;
    spdlog::info("TCP_CHECK to IPv{} real servers: raw SYNs from ports {} to {}", v6 ? 6 : 4,
                 *std::min_element(f.ports.begin(), f.ports.end()),
                 *std::max_element(f.ports.begin(), f.ports.end()));
    return true;
}

std::string SynProber::unavailable_reason(bool v6) const {
    return family(v6).error;
}

bool SynProber::start(Probe& probe, const asio::ip::tcp::endpoint& remote, Duration timeout,
                      const asio::any_io_executor& executor, Done done) {
    const bool v6 = remote.address().is_v6();
    Family& f = family(v6);
    Tuple tuple;
    tuple.v6 = v6;
    if (v6) {
        const auto b = remote.address().to_v6().to_bytes();
        std::memcpy(tuple.address.data(), b.data(), 16);
    } else {
        const auto b = remote.address().to_v4().to_bytes();
        std::memcpy(tuple.address.data(), b.data(), 4);
    }
    tuple.port = remote.port();
    // The next port in turn whose tuple is free.
    bool found = false;
    for (std::size_t i = 0; i < f.ports.size() && !found; ++i) {
        tuple.local_port = f.ports[(f.next_port + i) % f.ports.size()];
        found = !table_.count(tuple);
    }
    if (!found) return false;
    f.next_port = (f.next_port + 1) % f.ports.size();
    if (!f.raw) f.raw.emplace(executor, f.fd);
    probe.prober_ = this;
    probe.done_ = std::move(done);
    probe.tuple_ = tuple;
    probe.isn_ = isn_for(tuple);
    probe.limit_ = timeout;
    probe.rto_ = std::chrono::seconds(1);  // RFC 6298's initial RTO, as a connect()'s SYN
    probe.deadline_ = wheel_.now() + timeout;
    table_.emplace(tuple, &probe);
    ++f.in_flight;
    send(probe);
    watch(f);
    return true;
}

void SynProber::send(Probe& probe) {
    if (shut_down_) return;
    Family& f = family(probe.tuple_.v6);
    const auto executor = f.raw->get_executor();
    std::array<std::uint8_t, syn::kSynLength> segment;
    iovec iov{segment.data(), segment.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    int err = 0;
    ssize_t sent = -1;
    if (f.v6) {
        syn::build_syn(segment, probe.tuple_.local_port, probe.tuple_.port, probe.isn_, std::nullopt);
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        std::memcpy(&to.sin6_addr, probe.tuple_.address.data(), 16);
        msg.msg_name = &to;
        msg.msg_namelen = sizeof to;
        sent = ::sendmsg(f.fd, &msg, 0);
        err = errno;
    } else {
        std::uint32_t destination;
        std::memcpy(&destination, probe.tuple_.address.data(), 4);
        poll_route_changes();
        // Twice at most: a source that is no longer ours (EINVAL) is looked up again at once.
        for (int attempt = 0; attempt < 2; ++attempt) {
            const auto source = source_for(destination, probe.tuple_.port, err);
            if (!source) break;
            syn::build_syn(segment, probe.tuple_.local_port, probe.tuple_.port, probe.isn_,
                           syn::pseudo_header_sum_v4(*source, destination, segment.size()));
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_addr.s_addr = destination;
            msg.msg_name = &to;
            msg.msg_namelen = sizeof to;
            // The source the checksum covers, whatever the route says now.
            alignas(cmsghdr) std::uint8_t control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
            in_pktinfo info{};
            info.ipi_spec_dst.s_addr = *source;
            std::memcpy(CMSG_DATA(c), &info, sizeof info);
            sent = ::sendmsg(f.fd, &msg, 0);
            err = errno;
            if (sent >= 0 || (err != EINVAL && err != EADDRNOTAVAIL)) break;
            source_v4_.erase(destination);
        }
    }
    if (sent >= 0 || err == EPERM) {
        // Sent, or dropped by a firewall on the way out (a connect() keeps trying until it times out too).
        arm_next(probe);
    } else if (err == EAGAIN || err == ENOBUFS) {
        // The socket's buffer is full: again on the next tick, unless the time is up by then.
        probe.timer_.set([this, &probe] {
            if (wheel_.now() >= probe.deadline_)
                finish(probe, CheckResult::timeout("timeout after " + format_duration(probe.limit_)));
            else
                send(probe);
        });
        wheel_.arm(probe.timer_, wheel_.now(), executor);
    } else {
        // No route, a source that cannot be found: reported from the loop, as every other outcome.
        probe.timer_.set([this, &probe, err] { finish(probe, connect_failure(err)); });
        wheel_.arm(probe.timer_, wheel_.now(), executor);
    }
}

void SynProber::arm_next(Probe& probe) {
    const auto now = wheel_.now();
    const auto resend_at = now + probe.rto_;
    if (resend_at < probe.deadline_) {
        probe.timer_.set([this, &probe] {
            ++resent_;
            probe.rto_ *= 2;
            send(probe);
        });
        wheel_.arm(probe.timer_, resend_at, family(probe.tuple_.v6).raw->get_executor());
        return;
    }
    probe.timer_.set([this, &probe] {
        finish(probe, CheckResult::timeout("timeout after " + format_duration(probe.limit_)));
    });
    wheel_.arm(probe.timer_, probe.deadline_, family(probe.tuple_.v6).raw->get_executor());
}

void SynProber::forget(Probe& probe) {
    probe.timer_.cancel();
    if (table_.erase(probe.tuple_) != 0) {
        Family& f = family(probe.tuple_.v6);
        // No probe out: stop waiting, so that a loop with nothing else to do can end.
        if (--f.in_flight == 0 && f.watching) f.raw->cancel();
    }
    probe.prober_ = nullptr;
}

void SynProber::finish(Probe& probe, CheckResult result) {
    forget(probe);
    Done done = std::move(probe.done_);
    probe.done_ = nullptr;
    // The callback may destroy the probe (its check ending); nothing of it is touched after.
    if (done) done(result);
}

void SynProber::cancel(Probe& probe) {
    if (!probe.prober_) return;
    forget(probe);
    probe.done_ = nullptr;
}

void SynProber::watch(Family& f) {
    if (f.watching || !f.raw || f.in_flight == 0) return;
    f.watching = true;
    f.raw->async_wait(asio::posix::stream_descriptor::wait_read, [this, &f](const std::error_code& ec) {
        f.watching = false;
        if (shut_down_) return;
        if (!ec)
            on_readable(f);
        else
            watch(f);  // cancelled when the last probe ended: again if a new one started since
    });
}

void SynProber::on_readable(Family& f) {
    TimerWheel::Turn turn(wheel_);  // the answers' callbacks schedule next runs from its time
    turn_ = &turn;
    // ICMP errors are read only when recvmmsg reports one: with IP_RECVERR every queued error also sets the
    // socket's pending error, which fails the next receive (and epoll reports it), so an empty error queue
    // costs no system call on each wake-up.
    read_answers(f);
    turn_ = nullptr;
    // Wait again while a probe of this family is out. An idle socket is not watched (a loop with nothing
    // else to do can end); segments that come meanwhile wait in its buffer and match nothing later.
    watch(f);
}

void SynProber::answer(const Tuple& tuple, std::uint32_t isn, CheckResult result) {
    const auto it = table_.find(tuple);
    if (it == table_.end() || it->second->isn_ != isn) {
        ++unmatched_;
        return;
    }
    finish(*it->second, std::move(result));
    if (turn_) turn_->step();
}

void SynProber::read_errors(Family& f) {
    // ICMP errors about our SYNs (IP_RECVERR): the original destination in the name, our SYN's TCP header in
    // the data, the error in a control message. Reading the error queue also clears the socket's pending
    // error, which would otherwise fail the next recvmmsg.
    for (int n = 0; n < 1024; ++n) {
        std::uint8_t data[64];
        alignas(cmsghdr) std::uint8_t control[512];
        sockaddr_storage name{};
        iovec iov{data, sizeof data};
        msghdr msg{};
        msg.msg_name = &name;
        msg.msg_namelen = sizeof name;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const ssize_t len = ::recvmsg(f.fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
        if (len < 0) return;
        const sock_extended_err* ee = nullptr;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
                ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
        const auto quoted = syn::parse_quoted(data, static_cast<std::size_t>(len));
        // EMSGSIZE (fragmentation needed) is about a path's MTU, not an answer; a connect() ignores it too.
        if (!ee || !quoted || ee->ee_errno == 0 || ee->ee_errno == EMSGSIZE) {
            ++unmatched_;
            continue;
        }
        Tuple tuple;
        tuple.v6 = f.v6;
        tuple.port = quoted->destination_port;
        tuple.local_port = quoted->source_port;
        if (f.v6 && name.ss_family == AF_INET6)
            std::memcpy(tuple.address.data(), &reinterpret_cast<sockaddr_in6*>(&name)->sin6_addr, 16);
        else if (!f.v6 && name.ss_family == AF_INET)
            std::memcpy(tuple.address.data(), &reinterpret_cast<sockaddr_in*>(&name)->sin_addr, 4);
        else {
            ++unmatched_;
            continue;
        }
        answer(tuple, quoted->sequence, connect_failure(static_cast<int>(ee->ee_errno)));
    }
}

void SynProber::read_answers(Family& f) {
    constexpr int kBatch = 64;
    std::uint8_t data[kBatch][128];
    sockaddr_in6 names[kBatch];
    iovec iov[kBatch];
    mmsghdr msgs[kBatch];
    for (int errors = 0;;) {
        for (int i = 0; i < kBatch; ++i) {
            iov[i] = {data[i], sizeof data[i]};
            msgs[i] = {};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &names[i];
            msgs[i].msg_hdr.msg_namelen = sizeof names[i];
        }
        const int n = ::recvmmsg(f.fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) {
            // EAGAIN: all read. A pending ICMP error fails the call before any datagram: read the error
            // queue, which clears it, and go on.
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && ++errors < 4) {
                read_errors(f);
                continue;
            }
            return;
        }
        for (int i = 0; i < n; ++i) {
            const auto len = static_cast<std::size_t>(msgs[i].msg_len);
            Tuple tuple;
            tuple.v6 = f.v6;
            std::optional<syn::Reply> reply;
            if (f.v6) {
                reply = syn::parse_tcp(data[i], len);
                std::memcpy(tuple.address.data(), &names[i].sin6_addr, 16);
            } else if (const auto r = syn::parse_ipv4(data[i], len)) {
                reply = r->tcp;
                std::memcpy(tuple.address.data(), &r->source_be, 4);
            }
            if (!reply || reply->kind == syn::Reply::Kind::kIgnored) {
                ++unmatched_;
                continue;
            }
            tuple.port = reply->source_port;
            tuple.local_port = reply->destination_port;
            answer(tuple, reply->acknowledged - 1,
                   reply->kind == syn::Reply::Kind::kListening ? CheckResult{true, "connected", {}}
                                                               : connect_failure(ECONNREFUSED));
        }
        if (n < kBatch) return;
    }
}

std::optional<std::uint32_t> SynProber::source_for(std::uint32_t destination_be, std::uint16_t port,
                                                   int& error) {
    if (const auto it = source_v4_.find(destination_be); it != source_v4_.end()) return it->second;
    if (route_socket_ < 0) {
        route_socket_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (route_socket_ < 0) {
            error = errno;
            return std::nullopt;
        }
    }
    // A UDP socket's connect() routes, as a TCP connect would, and sends nothing.
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = destination_be;
    sockaddr_in from{};
    socklen_t len = sizeof from;
    if (::connect(route_socket_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 ||
        ::getsockname(route_socket_, reinterpret_cast<sockaddr*>(&from), &len) != 0) {
        error = errno;
        return std::nullopt;
    }
    source_v4_.emplace(destination_be, from.sin_addr.s_addr);
    return from.sin_addr.s_addr;
}

void SynProber::poll_route_changes() {
    // At most once per timer tick: a change is seen within 10 ms, and a check costs no system call for it.
    const auto now = wheel_.now();
    if (now - route_polled_ < TimerWheel::kTick) return;
    route_polled_ = now;
    if (route_events_ < 0 && !route_events_failed_) {
        route_events_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
        sockaddr_nl local{};
        local.nl_family = AF_NETLINK;
        local.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_RULE;
        if (route_events_ < 0 ||
            ::bind(route_events_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
            spdlog::warn(
                "TCP_CHECK: cannot follow route changes ({}): source addresses are looked up every 10 ms",
                error_text(errno));
            if (route_events_ >= 0) ::close(route_events_);
            route_events_ = -1;
            route_events_failed_ = true;
        }
        source_v4_.clear();
        return;
    }
    if (route_events_ < 0) {
        source_v4_.clear();  // no notifications: looked up again once per tick
        return;
    }
    bool changed = false;
    std::uint8_t buffer[8192];
    for (;;) {
        const ssize_t n = ::recv(route_events_, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0 || (n < 0 && errno == ENOBUFS)) {  // ENOBUFS: notifications were lost, so something changed
            changed = true;
            continue;
        }
        break;
    }
    if (changed) source_v4_.clear();
}

void SynProber::shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    // Running probes forget the prober; they outlive it. Every running probe is in the table.
    for (auto& [tuple, probe] : table_) {
        probe->timer_.cancel();
        probe->prober_ = nullptr;
        probe->done_ = nullptr;
    }
    table_.clear();
    for (Family* f : {&v4_, &v6_}) {
        if (f->raw)
            f->raw.reset();  // closes the socket
        else if (f->fd >= 0)
            ::close(f->fd);
        f->fd = -1;
        for (int h : f->holds) ::close(h);
        f->holds.clear();
        f->adopted = false;
        f->in_flight = 0;
    }
    if (route_socket_ >= 0) ::close(route_socket_);
    if (route_events_ >= 0) ::close(route_events_);
    route_socket_ = route_events_ = -1;
}

}  // namespace vigil::check
