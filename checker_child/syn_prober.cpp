#include "checker_child/syn_prober.hpp"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <spdlog/spdlog.h>

#include "checker_child/net_util.hpp"
#include "checker_child/syn_packet.hpp"

namespace vigil::check {

namespace {

struct RawSockets {
    int fd[2] = {-1, -1};  // IPv4, IPv6
    std::string error[2];
};

RawSockets& raw_sockets() {
    static RawSockets s;
    return s;
}

// A filter that accepts nothing: a raw TCP socket otherwise gets a copy of every TCP segment of the host.
bool drop_everything(int fd) {
    sock_filter code[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    sock_fprog prog{1, code};
    return ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0;
}

// A filter that accepts the segments to `port`. An IPv4 raw socket sees the IP header first, an IPv6 one the
// TCP header. 128 bytes are enough for an IP header with options and a TCP header's first 14 bytes.
bool accept_port(int fd, bool v6, std::uint16_t port) {
    sock_filter v4code[] = {
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),  // x = the IP header's length
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),   // the TCP destination port
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 128),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    sock_filter v6code[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 128),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    sock_fprog prog = v6 ? sock_fprog{4, v6code} : sock_fprog{5, v4code};
    return ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0;
}

std::string error_text(int err) {
    return describe_error(std::error_code(err, std::system_category()));
}

CheckResult connect_failure(int err) {
    return failure(std::error_code(err, std::system_category()), error_text(err));
}

SynProber::Key key_of(const asio::ip::tcp::endpoint& remote, std::uint32_t isn) {
    SynProber::Key k;
    k.v6 = remote.address().is_v6();
    if (k.v6) {
        const auto b = remote.address().to_v6().to_bytes();
        std::memcpy(k.address.data(), b.data(), 16);
    } else {
        const auto b = remote.address().to_v4().to_bytes();
        std::memcpy(k.address.data(), b.data(), 4);
    }
    k.port = remote.port();
    k.isn = isn;
    return k;
}

}  // namespace

void open_raw_tcp_sockets() {
    auto& s = raw_sockets();
    for (int i = 0; i < 2; ++i) {
        if (s.fd[i] >= 0) continue;
        const int fd = ::socket(i ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0) {
            s.error[i] = "cannot open a raw TCP socket: " + error_text(errno);
            continue;
        }
        if (!drop_everything(fd)) {
            s.error[i] = "cannot filter a raw TCP socket: " + error_text(errno);
            ::close(fd);
            continue;
        }
        s.fd[i] = fd;
        s.error[i].clear();
    }
}

void close_raw_tcp_sockets() {
    auto& s = raw_sockets();
    for (int i = 0; i < 2; ++i) {
        if (s.fd[i] >= 0) ::close(s.fd[i]);
        s.fd[i] = -1;
        s.error[i].clear();
    }
}

std::string raw_tcp_socket_error(bool v6) {
    return raw_sockets().error[v6 ? 1 : 0];
}

asio::execution_context::id SynProber::id;

std::size_t SynProber::KeyHash::operator()(const Key& k) const noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    auto mix = [&h](std::uint64_t v) { h = (h ^ v) * 0x100000001b3ULL; };
    std::uint64_t a, b;
    std::memcpy(&a, k.address.data(), 8);
    std::memcpy(&b, k.address.data() + 8, 8);
    mix(a);
    mix(b);
    mix(std::uint64_t{k.port} << 32 | k.isn);
    mix(k.v6);
    return static_cast<std::size_t>(h ^ h >> 29);
}

SynProber::Probe::~Probe() {
    if (prober_) prober_->cancel(*this);
}

SynProber::SynProber(asio::execution_context& context)
    : asio::execution_context::service(context), wheel_(asio::use_service<TimerWheel>(context)) {
    v6_.v6 = true;
    if (::getrandom(rng_, sizeof rng_, 0) != static_cast<ssize_t>(sizeof rng_) || (rng_[0] | rng_[1]) == 0) {
        rng_[0] = static_cast<std::uint64_t>(TimerWheel::Clock::now().time_since_epoch().count()) | 1;
        rng_[1] = static_cast<std::uint64_t>(::getpid()) << 32 | 0x9e3779b9;
    }
}

SynProber::~SynProber() {
    shutdown();
}

SynProber& SynProber::of(const asio::any_io_executor& executor) {
    return asio::use_service<SynProber>(asio::query(executor, asio::execution::context));
}

std::uint32_t SynProber::random_isn() {
    // xorshift128+, seeded from getrandom(): unpredictable enough that an answer cannot be guessed by one who
    // does not see the SYN (one who does could answer a connect() as well).
    std::uint64_t x = rng_[0];
    const std::uint64_t y = rng_[1];
    rng_[0] = y;
    x ^= x << 23;
    rng_[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return static_cast<std::uint32_t>((rng_[1] + y) >> 32);
}

bool SynProber::available(bool v6) {
    Family& f = family(v6);
    if (f.ready) return true;
    if (!f.error.empty() || shut_down_) return false;
    return set_up(f);
}

std::string SynProber::unavailable_reason(bool v6) const {
    return family(v6).error;
}

bool SynProber::set_up(Family& f) {
    auto& sockets = raw_sockets();
    const int i = f.v6 ? 1 : 0;
    if (sockets.fd[i] < 0) {
        f.error = sockets.error[i].empty() ? "no raw TCP socket was opened" : sockets.error[i];
        spdlog::info("TCP_CHECK to IPv{} real servers connects sockets: {}", f.v6 ? 6 : 4, f.error);
        return false;
    }
    auto fail = [&f](const std::string& what) {
        f.error = what + ": " + error_text(errno);
        spdlog::warn("TCP_CHECK to IPv{} real servers connects sockets: {}", f.v6 ? 6 : 4, f.error);
        if (f.hold >= 0) ::close(f.hold);
        f.hold = -1;
        return false;
    };
    // The port: a TCP socket bound to it, that never listens.
    f.hold = ::socket(f.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f.hold < 0) return fail("cannot open the socket that reserves the probes' port");
    sockaddr_storage a{};
    socklen_t len;
    if (f.v6) {
        const int on = 1;
        ::setsockopt(f.hold, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&a);
        s6->sin6_family = AF_INET6;
        len = sizeof *s6;
    } else {
        reinterpret_cast<sockaddr_in*>(&a)->sin_family = AF_INET;
        len = sizeof(sockaddr_in);
    }
    if (::bind(f.hold, reinterpret_cast<sockaddr*>(&a), len) != 0)
        return fail("cannot reserve a port for probes");
    if (::getsockname(f.hold, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return fail("cannot read the probes' port");
    f.port = ntohs(f.v6 ? reinterpret_cast<sockaddr_in6*>(&a)->sin6_port
                        : reinterpret_cast<sockaddr_in*>(&a)->sin_port);
    const int fd = sockets.fd[i];
    const int on = 1;
    if (f.v6) {
        const int offset = 16;  // where TCP's checksum is: the kernel computes it, pseudo-header included
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &offset, sizeof offset) != 0)
            return fail("cannot have the kernel checksum probes");
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on) != 0)
            return fail("cannot receive ICMPv6 errors");
    } else if (::setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on) != 0) {
        return fail("cannot receive ICMP errors");
    }
    if (!accept_port(fd, f.v6, f.port)) return fail("cannot filter the raw TCP socket");
    // One socket sends every probe and receives every answer: room for a burst of SYNs on a slow link, and
    // for the answers of a tick's checks (at 50,000 a second, 500 every 10 ms; the default receive buffer
    // holds about 270 segments, and a segment it drops is a check that times out). Best effort:
    // SO_*BUFFORCE needs CAP_NET_ADMIN, and the plain options stop at net.core.[rw]mem_max.
    const int send_bytes = 4 << 20, receive_bytes = 16 << 20;
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &send_bytes, sizeof send_bytes) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_bytes, sizeof send_bytes);
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_bytes, sizeof receive_bytes) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_bytes, sizeof receive_bytes);
    // What the old filter let through before the new one was attached: nothing, but read it out.
    std::uint8_t scratch[128];
    for (int n = 0; n < 100000 && ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) >= 0; ++n) {
    }
    sockets.fd[i] = -1;  // ours now; on the loop at the first probe (start() has its executor)
    f.fd = fd;
    f.ready = true;
    spdlog::info("TCP_CHECK to IPv{} real servers: raw SYNs from port {}", f.v6 ? 6 : 4, f.port);
    return true;
}

void SynProber::start(Probe& probe, const asio::ip::tcp::endpoint& remote, Duration timeout,
                      const asio::any_io_executor& executor, Done done) {
    Family& f = family(remote.address().is_v6());
    if (!f.raw) f.raw.emplace(executor, f.fd);
    probe.prober_ = this;
    probe.done_ = std::move(done);
    probe.remote_ = remote;
    probe.limit_ = timeout;
    probe.deadline_ = wheel_.now() + timeout;
    probe.in_flight_ = false;
    do {
        probe.key_ = key_of(remote, random_isn());
    } while (table_.count(probe.key_));
    send(probe);
}

void SynProber::send(Probe& probe) {
    if (shut_down_) return;
    Family& f = family(probe.key_.v6);
    const auto executor = f.raw->get_executor();
    std::array<std::uint8_t, syn::kSynLength> segment;
    int err = 0;
    ssize_t sent = -1;
    if (f.v6) {
        syn::build_syn(segment, f.port, probe.key_.port, probe.key_.isn, std::nullopt);
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        std::memcpy(&to.sin6_addr, probe.key_.address.data(), 16);
        sent = ::sendto(f.fd, segment.data(), segment.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        err = errno;
    } else {
        std::uint32_t destination;
        std::memcpy(&destination, probe.key_.address.data(), 4);
        poll_route_changes();
        if (const auto source = source_for(destination, probe.key_.port, err)) {
            syn::build_syn(segment, f.port, probe.key_.port, probe.key_.isn,
                           syn::pseudo_header_sum_v4(*source, destination, segment.size()));
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_addr.s_addr = destination;
            sent = ::sendto(f.fd, segment.data(), segment.size(), 0, reinterpret_cast<sockaddr*>(&to),
                            sizeof to);
            err = errno;
        }
    }
    if (sent < 0 && (err == EAGAIN || err == ENOBUFS) && wheel_.now() < probe.deadline_) {
        // The socket's buffer is full: again on the next tick.
        probe.timer_.set([this, &probe] { send(probe); });
        wheel_.arm(probe.timer_, wheel_.now(), executor);
        return;
    }
    if (sent < 0) {
        // Reported from the loop, as every other outcome (no route, a firewall's EPERM, a full buffer until
        // the timeout).
        probe.timer_.set([this, &probe, err] { finish(probe, connect_failure(err)); });
        wheel_.arm(probe.timer_, wheel_.now(), executor);
        return;
    }
    table_.emplace(probe.key_, &probe);
    probe.in_flight_ = true;
    ++f.in_flight;
    probe.timer_.set([this, &probe] {
        finish(probe, CheckResult::timeout("timeout after " + format_duration(probe.limit_)));
    });
    wheel_.arm(probe.timer_, probe.deadline_, executor);
    watch(f);
}

void SynProber::forget(Probe& probe) {
    probe.timer_.cancel();
    if (probe.in_flight_) {
        table_.erase(probe.key_);
        probe.in_flight_ = false;
        Family& f = family(probe.key_.v6);
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
    if (f.watching || !f.raw) return;
    f.watching = true;
    f.raw->async_wait(asio::posix::stream_descriptor::wait_read, [this, &f](const std::error_code& ec) {
        f.watching = false;
        if (shut_down_) return;
        if (!ec)
            on_readable(f);
        else if (f.in_flight > 0)
            watch(f);  // cancelled when the last probe ended, and a new one started since
    });
}

void SynProber::on_readable(Family& f) {
    TimerWheel::Turn turn(wheel_);  // the answers' callbacks schedule next runs from its time
    turn_ = &turn;
    read_errors(f);
    read_answers(f);
    turn_ = nullptr;
    // Wait again while a probe of this family is out. An idle socket is not watched (a loop with nothing
    // else to do can end); segments that come meanwhile wait in its buffer and match nothing later.
    if (f.in_flight > 0) watch(f);
}

void SynProber::answer(const Key& key, CheckResult result) {
    const auto it = table_.find(key);
    if (it == table_.end()) {
        ++unmatched_;
        return;
    }
    finish(*it->second, std::move(result));
    if (turn_) turn_->step();
}

void SynProber::read_errors(Family& f) {
    // ICMP errors about our SYNs (IP_RECVERR): the original destination in the name, our SYN's TCP header in
    // the data, the error in a control message. A pending socket error (sk_err) goes with them: recvmsg on
    // the error queue clears it.
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
        if (!ee || !quoted || quoted->source_port != f.port || ee->ee_errno == 0 ||
            ee->ee_errno == EMSGSIZE) {
            ++unmatched_;
            continue;
        }
        Key key;
        key.v6 = f.v6;
        key.port = quoted->destination_port;
        key.isn = quoted->sequence;
        if (f.v6 && name.ss_family == AF_INET6)
            std::memcpy(key.address.data(), &reinterpret_cast<sockaddr_in6*>(&name)->sin6_addr, 16);
        else if (!f.v6 && name.ss_family == AF_INET)
            std::memcpy(key.address.data(), &reinterpret_cast<sockaddr_in*>(&name)->sin_addr, 4);
        else {
            ++unmatched_;
            continue;
        }
        answer(key, connect_failure(static_cast<int>(ee->ee_errno)));
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
            // EAGAIN: all read. A pending ICMP error (sk_err) fails the call before any datagram: read the
            // error queue, which clears it, and go on.
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && ++errors < 4) {
                read_errors(f);
                continue;
            }
            return;
        }
        for (int i = 0; i < n; ++i) {
            const auto len = static_cast<std::size_t>(msgs[i].msg_len);
            Key key;
            key.v6 = f.v6;
            std::optional<syn::Reply> reply;
            if (f.v6) {
                reply = syn::parse_tcp(data[i], len);
                std::memcpy(key.address.data(), &names[i].sin6_addr, 16);
            } else if (const auto r = syn::parse_ipv4(data[i], len)) {
                reply = r->tcp;
                std::memcpy(key.address.data(), &r->source_be, 4);
            }
            if (!reply || reply->destination_port != f.port || reply->kind == syn::Reply::Kind::kIgnored) {
                ++unmatched_;
                continue;
            }
            key.port = reply->source_port;
            key.isn = reply->acknowledged - 1;
            answer(key, reply->kind == syn::Reply::Kind::kListening ? CheckResult{true, "connected", {}}
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
    if (route_events_ >= 0 && now - route_polled_ < TimerWheel::kTick) return;
    route_polled_ = now;
    if (route_events_ < 0) {
        route_events_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
        sockaddr_nl local{};
        local.nl_family = AF_NETLINK;
        local.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_RULE;
        if (route_events_ >= 0 &&
            ::bind(route_events_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
            ::close(route_events_);
            route_events_ = -1;
        }
        // Without notifications the sources are looked up again every tick: correct, only slower.
        source_v4_.clear();
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
    // Probes still out forget the prober; they outlive it.
    for (auto& [key, probe] : table_) {
        probe->timer_.cancel();
        probe->in_flight_ = false;
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
        if (f->hold >= 0) ::close(f->hold);
        f->hold = -1;
        f->ready = false;
        f->in_flight = 0;
    }
    if (route_socket_ >= 0) ::close(route_socket_);
    if (route_events_ >= 0) ::close(route_events_);
    route_socket_ = route_events_ = -1;
}

}  // namespace vigil::check
