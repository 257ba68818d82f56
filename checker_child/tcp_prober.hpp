#pragma once
// TCP_CHECK's connects, done on the checker's loop with the fewest system calls a TCP handshake allows.
//
// A check through Asio costs six system calls (connect, a poll and a getsockopt to read the outcome, an
// epoll_ctl to re-arm the socket, then connect(AF_UNSPEC) and getsockopt to disconnect and clear the
// socket's error for reuse) and a coroutine with its frames. The prober keeps its sockets in an epoll set of
// its own, each registered once (edge-triggered, for as long as the socket lives): a check is connect(),
// the event, and connect(AF_UNSPEC) (a RST), or for a refused connect a second connect() that reads the
// refusal and resets the socket. Disconnected sockets wait in an idle list for the next check
// (creating, registering and closing a socket per check would cost a third of the check). That epoll set is
// one descriptor on the loop's own epoll, so the loop wakes once for any number of completions.
//
// The sockets hold back the handshake's last ACK (skip_final_ack in net_util.hpp): the connect completes on
// the SYN-ACK, and the disconnect's RST ends the server's half-open request, so the server does not build a
// connection for a check (SYN, SYN-ACK, RST), unless the loop reads the SYN-ACK more than 200 ms late.
//
// A socket is disconnected with connect(AF_UNSPEC): TCP's disconnect sends a RST when connected and leaves
// the socket in CLOSE, ready to connect again, with ECONNRESET pending, which the next connect() clears
// (tcp_connect_init) before anything reads it. A refused connect's error is read with a second connect(),
// which also resets the socket (read_failure). So a check costs connect() and one more system call, either
// way. epoll reports what a socket's state is when epoll_wait runs, so an event from a socket's previous use
// never passes for the next connect's.

#include <asio.hpp>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "checker_child/check_result.hpp"
#include "checker_child/checker_config.hpp"
#include "checker_child/timer_wheel.hpp"

namespace vigil::check {

class TcpProber : public asio::execution_context::service {
  public:
    static asio::execution_context::id id;
    // The most idle sockets kept (both families): a quarter of RLIMIT_NOFILE, so that idle ones never take
    // the descriptors a burst of checks needs, and at most 65,536 (about 3.5 KB of kernel memory each). The
    // pool never holds more sockets than the checks that were in flight at once, which is far below that
    // except at tens of thousands of real servers. There a small cap costs more than it saves: at 50,000
    // refused checks a second, a cap of 4,096 closed and re-created a socket for a third of the checks (four
    // more system calls each), 23.5 us per check at 99% of a core against 16.3 us at 81% without.
    static constexpr std::size_t kMaxIdleCap = 65536;
    using Done = std::function<void(const CheckResult&)>;

  private:
    struct Sock;

  public:
    // One connect at a time, owned by its check; destroying it cancels what runs (no callback).
    class Probe {
      public:
        Probe() = default;
        ~Probe();
        Probe(const Probe&) = delete;
        Probe& operator=(const Probe&) = delete;
        bool running() const { return sock_ != nullptr; }

      private:
        friend class TcpProber;
        Sock* sock_ = nullptr;
        TcpProber* prober_ = nullptr;
        Done done_;
        Duration limit_{};
        TimerWheel::Entry timeout_;
    };

    explicit TcpProber(asio::execution_context& context);
    ~TcpProber() override;
    // The prober of the loop `executor` runs on.
    static TcpProber& of(const asio::any_io_executor& executor);

    // Connects to `remote` and reports "connected", the connect's error ("connection refused") or "timeout
    // after T" through `done`, on the loop (never from inside start()). `probe` must not be running.
    void start(Probe& probe, const asio::ip::tcp::endpoint& remote, Duration timeout,
               const asio::any_io_executor& executor, Done done);
    // Stops `probe` without calling its callback; its socket is disconnected and kept.
    void cancel(Probe& probe);
    // Idle sockets held now (for tests).
    std::size_t idle() const { return idle_v4_.size() + idle_v6_.size(); }

  private:
    void shutdown() override;
    // Reports a failure that left `probe` without a socket, from the loop.
    void fail_soon(Probe& probe, int err, const asio::any_io_executor& executor, Done done);
    // What a finished probe leaves its socket needing before the next connect.
    enum class Left {
        kOpen,    // connected, or still connecting: a disconnect (a RST when connected)
        kFailed,  // its connect() failed at once, or its failure was read with getsockopt: a disconnect
        kReset,   // its connect failed, read by read_failure: nothing
    };
    void watch();
    void on_events();
    // The error of `sock`'s failed connect, and whether reading it left the socket ready for reuse.
    std::pair<int, Left> read_failure(Sock& sock);
    // Ends the probe on `sock` with `result`.
    void finish(Sock& sock, CheckResult result, Left left);
    // Puts `sock` back in the idle list (disconnected) or closes it.
    void recycle(Sock* sock, Left left);
    Sock* take(bool v6, int& error);
    void link_busy(Sock* sock);
    void unlink_busy(Sock& sock);

    TimerWheel& wheel_;                                    // the loop's: every probe's timeout is on it
    std::optional<asio::posix::stream_descriptor> epoll_;  // our epoll set, watched by the loop
    bool watching_ = false;
    std::size_t max_idle_;
    std::vector<Sock*> idle_v4_;
    std::vector<Sock*> idle_v6_;
    std::size_t open_ = 0;  // sockets that exist (idle or in use)
    Sock* busy_ = nullptr;  // the sockets in use, linked through Sock::prev/next
    // Sockets closed while on_events() still holds their events: deleted once it is done with them.
    std::vector<Sock*> dead_;
    bool in_events_ = false;
    bool shut_down_ = false;
};

}  // namespace vigil::check
