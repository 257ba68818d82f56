#include "checker_child/tcp_prober.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

#include "checker_child/net_util.hpp"

namespace vigil::check {

struct TcpProber::Sock {
    int fd = -1;
    bool v6 = false;
    TcpProber::Probe* probe = nullptr;  // the check it serves now, or none while idle
    Sock* prev = nullptr;               // in TcpProber's list of sockets in use
    Sock* next = nullptr;
    std::uint64_t uses = 0;          // checks it has served: an event read before a newer use is not for it
    bool failed_at_once = false;     // its connect() failed: the timer entry reports it, not its epoll events
    asio::ip::tcp::endpoint remote;  // of the current or last check
};

asio::execution_context::id TcpProber::id;

namespace {

std::string error_text(int err) {
    return describe_error(std::error_code(err, std::system_category()));
}

CheckResult connect_failure(int err) {
    return failure(std::error_code(err, std::system_category()), error_text(err));
}

}  // namespace

TcpProber::Probe::~Probe() {
    if (prober_ && sock_) prober_->cancel(*this);
}

TcpProber::TcpProber(asio::execution_context& context)
    : asio::execution_context::service(context), wheel_(asio::use_service<TimerWheel>(context)) {
    rlimit limit{};
    const rlim_t soft = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 1024;
    max_idle_ = static_cast<std::size_t>(std::min<rlim_t>(soft / 4, kMaxIdleCap));
}

TcpProber::~TcpProber() {
    shutdown();
}

TcpProber& TcpProber::of(const asio::any_io_executor& executor) {
    return asio::use_service<TcpProber>(asio::query(executor, asio::execution::context));
}

TcpProber::Sock* TcpProber::take(bool v6, int& error) {
    auto& idle = v6 ? idle_v6_ : idle_v4_;
    if (!idle.empty()) {
        Sock* s = idle.back();
        idle.pop_back();
        return s;
    }
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno;
        return nullptr;
    }
    skip_final_ack(fd);  // set once: it holds across the disconnects that ready the socket for its next check
    auto* s = new Sock;
    s->fd = fd;
    s->v6 = v6;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLET;  // EPOLLERR and EPOLLHUP always
    ev.data.ptr = s;
    if (::epoll_ctl(epoll_->native_handle(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        error = errno;
        ::close(fd);
        delete s;
        return nullptr;
    }
    ++open_;
    return s;
}

void TcpProber::start(Probe& probe, const asio::ip::tcp::endpoint& remote, Duration timeout,
                      const asio::any_io_executor& executor, Done done) {
    if (!epoll_) {
        const int fd = ::epoll_create1(EPOLL_CLOEXEC);
        if (fd < 0) return fail_soon(probe, errno, executor, std::move(done));
        epoll_.emplace(executor, fd);
    }
    int error = 0;
    Sock* sock = take(remote.address().is_v6(), error);
    if (!sock) return fail_soon(probe, error, executor, std::move(done));
    ++sock->uses;
    sock->failed_at_once = false;
    probe.prober_ = this;
    probe.sock_ = sock;
    link_busy(sock);
    probe.done_ = std::move(done);
    probe.limit_ = timeout;
    sock->probe = &probe;
    sock->remote = remote;
    const int rc = ::connect(sock->fd, remote.data(), static_cast<socklen_t>(remote.size()));
    if (rc != 0 && errno != EINPROGRESS) {
        // Refused at once (or no route): reported from the loop, as every other outcome.
        const int err = errno;
        sock->failed_at_once = true;
        probe.timeout_.set([this, sock, err] {
            if (sock->probe) finish(*sock, connect_failure(err), Left::kFailed);
        });
        wheel_.arm(probe.timeout_, wheel_.now(), executor);
        return;
    }
    // rc == 0 (an immediate connect) is reported by the socket's EPOLLOUT edge like any other.
    probe.timeout_.set([this, sock] {
        if (sock->probe)
            finish(*sock, CheckResult::timeout("timeout after " + format_duration(sock->probe->limit_)),
                   Left::kOpen);  // still connecting
    });
    wheel_.arm(probe.timeout_, wheel_.now() + timeout, executor);
    watch();
}

void TcpProber::fail_soon(Probe& probe, int err, const asio::any_io_executor& executor, Done done) {
    // Through the probe's own timer entry, which its destruction disarms: a posted callback would outlive a
    // check destroyed meanwhile (a reload) and call into it.
    probe.done_ = std::move(done);
    probe.timeout_.set([&probe, reason = error_text(err)] {
        Done d = std::move(probe.done_);
        if (d) d(CheckResult{false, reason, {}});
    });
    wheel_.arm(probe.timeout_, wheel_.now(), executor);
}

void TcpProber::watch() {
    if (watching_ || !epoll_) return;
    watching_ = true;
    epoll_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const std::error_code& ec) {
        if (ec) return;  // the prober is shutting down
        watching_ = false;
        on_events();
    });
}

void TcpProber::on_events() {
    epoll_event events[256];
    int n;
    in_events_ = true;
    TimerWheel::Turn turn(wheel_);  // the completions' callbacks schedule next runs from its time
    do {
        n = ::epoll_wait(epoll_->native_handle(), events, 256, 0);
        // Which use of each socket its event belongs to, taken before any callback runs: a callback may start
        // a check on an idle socket whose stale event (its disconnect) comes later in this batch.
        std::uint64_t uses[256];
        for (int i = 0; i < n; ++i) uses[i] = static_cast<Sock*>(events[i].data.ptr)->uses;
        for (int i = 0; i < n; ++i, turn.step()) {
            auto* sock = static_cast<Sock*>(events[i].data.ptr);
            // An idle socket's disconnect, a socket taken for a newer check since, or one whose connect
            // failed at once (its timer entry reports that, with connect's own error).
            if (!sock->probe || sock->uses != uses[i] || sock->failed_at_once) continue;
            const auto ev = events[i].events;
            if (ev & (EPOLLERR | EPOLLHUP)) {
                const auto [err, left] = read_failure(*sock);
                finish(*sock, err ? connect_failure(err) : CheckResult{false, "connection closed", {}}, left);
            } else if (ev & EPOLLOUT) {
                finish(*sock, CheckResult{true, "connected", {}}, Left::kOpen);
            }
        }
    } while (n == 256);
    in_events_ = false;
    for (Sock* s : dead_) delete s;
    dead_.clear();
    // Watch again while any check waits for its socket (idle sockets' events need no answer).
    if (open_ > idle()) watch();
}

namespace {

// The errors a failed TCP connect leaves on its socket (tcp_reset, the ICMP errors, the retransmission
// timeout). Any other error of a connect() may have come before the socket was looked at (a security
// module's EACCES or EPERM, say): the old error may still be pending and the socket still "connecting".
bool is_connect_outcome(int err) {
    switch (err) {
        case ECONNREFUSED:
        case ECONNRESET:
        case ECONNABORTED:
        case ETIMEDOUT:
        case EHOSTUNREACH:
        case ENETUNREACH:
        case EHOSTDOWN:
        case ENETDOWN:
        case ENONET:
        case EPROTO:
            return true;
        default:
            return false;
    }
}

}  // namespace

std::pair<int, TcpProber::Left> TcpProber::read_failure(Sock& sock) {
    // The socket layer still says "connecting" and TCP says CLOSE: connect() then returns the pending error,
    // clears it and resets the socket for its next use (__inet_stream_connect's sock_error path), where
    // getsockopt and a disconnect would take two calls. ECONNABORTED: there was no error, only the close.
    if (::connect(sock.fd, sock.remote.data(), static_cast<socklen_t>(sock.remote.size())) != 0) {
        const int err = errno;
        if (is_connect_outcome(err)) return {err == ECONNABORTED ? 0 : err, Left::kReset};
        // Refused before the socket was looked at: read the error as it stands, and disconnect.
        if (err != EALREADY && err != EINPROGRESS && err != EISCONN) {
            int pending = 0;
            socklen_t len = sizeof pending;
            ::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &pending, &len);
            return {pending ? pending : err, Left::kFailed};
        }
    }
    // Not failed after all: connected (0, EISCONN), still connecting (EALREADY), or this connect() has just
    // started a new attempt (EINPROGRESS). Its error as it stands, and the disconnect that ends it.
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return {err, Left::kOpen};
}

void TcpProber::finish(Sock& sock, CheckResult result, Left left) {
    Probe& probe = *sock.probe;
    sock.probe = nullptr;
    probe.sock_ = nullptr;
    probe.timeout_.cancel();
    unlink_busy(sock);
    Done done = std::move(probe.done_);
    recycle(&sock, left);
    // The callback may destroy the probe (its check ending); nothing of it is touched after.
    done(result);
}

void TcpProber::link_busy(Sock* sock) {
    sock->prev = nullptr;
    sock->next = busy_;
    if (busy_) busy_->prev = sock;
    busy_ = sock;
}

void TcpProber::unlink_busy(Sock& sock) {
    if (sock.prev)
        sock.prev->next = sock.next;
    else
        busy_ = sock.next;
    if (sock.next) sock.next->prev = sock.prev;
    sock.prev = sock.next = nullptr;
}

void TcpProber::cancel(Probe& probe) {
    if (!probe.sock_) return;
    Sock* sock = probe.sock_;
    sock->probe = nullptr;
    probe.sock_ = nullptr;
    probe.done_ = nullptr;
    probe.timeout_.cancel();
    unlink_busy(*sock);
    // Whatever state the connect reached, the disconnect below ends it.
    recycle(sock, Left::kOpen);
}

void TcpProber::recycle(Sock* sock, Left left) {
    auto& idle = sock->v6 ? idle_v6_ : idle_v4_;
    bool keep = !shut_down_ && idle_v4_.size() + idle_v6_.size() < max_idle_;
    if (keep && left != Left::kReset) {
        // From ESTABLISHED, the RST that ends a half-open check; from SYN_SENT, the end of the attempt; after
        // a failure read with getsockopt, the reset of a socket layer that may still say "connecting" (the
        // next connect() would fail with ECONNABORTED; after a connect() that failed at once, only caution).
        sockaddr unspec{};
        unspec.sa_family = AF_UNSPEC;
        keep = ::connect(sock->fd, &unspec, sizeof unspec) == 0;
    }
    if (keep) {
        idle.push_back(sock);
        return;
    }
    if (left == Left::kOpen) {
        // Abortive close (RST), as HAProxy's checks do: no FIN exchange, no TIME_WAIT left here.
        linger l{1, 0};
        ::setsockopt(sock->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(sock->fd);  // leaves our epoll set with it
    sock->fd = -1;
    --open_;
    if (in_events_)
        dead_.push_back(sock);  // a later event of this batch may still point at it
    else
        delete sock;
}

void TcpProber::shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    // Checks still running lose their socket; their probes outlive the prober, so they forget it.
    while (busy_) {
        Sock* s = busy_;
        unlink_busy(*s);
        s->probe->sock_ = nullptr;
        s->probe->prober_ = nullptr;
        s->probe->done_ = nullptr;
        s->probe->timeout_.cancel();
        // A RST, not a FIN: one that completes a held-back handshake would hand the server a connection.
        linger l{1, 0};
        ::setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(s->fd);
        delete s;
    }
    for (auto* list : {&idle_v4_, &idle_v6_}) {
        for (Sock* s : *list) {
            ::close(s->fd);
            delete s;
        }
        list->clear();
    }
    for (Sock* s : dead_) delete s;
    dead_.clear();
    epoll_.reset();
    watching_ = false;
}

}  // namespace vigil::check
