#pragma once
// TCP_CHECK's probes as raw SYNs: one sendto() per check, and the answers of all checks read together.
//
// A check through TcpProber (tcp_prober.hpp) costs a connect(), a second connect() or a disconnect, and the
// kernel's work for a socket that connects (its hash tables, its timers, its state changes). A SYN sent on a
// raw IPPROTO_TCP socket costs one sendmsg(); the server answers it as it answers a connect() (a SYN-ACK
// when it listens, a RST-ACK when it refuses), and this host's kernel answers the SYN-ACK with a RST, as it
// does for any segment to a port no socket owns. The wire is the same as a half-open connect's (SYN,
// SYN-ACK, RST): the server builds no connection. Measured in docs/benchmarks.md ("In the VM").
//
// - The ports: kPorts per address family, each reserved by a TCP socket bound to it (port 0: the kernel picks
//   one) that never listens or connects. A bound port is one the kernel's own connects never pick, and
//   segments to it find no socket, so the kernel sends the RST. Two probes of one real server that are out
//   at once (the same server in two virtual servers) leave from different ports: a second SYN on a
//   half-open four-tuple would be answered with a bare ACK, not a SYN-ACK.
// - The sequence number is RFC 6528's: a clock (64 ns) plus a keyed hash of the four-tuple. An answer counts
//   only when it acknowledges that number (syn_packet.hpp), so an old answer or a guess is not taken for one;
//   and the probes of one four-tuple have growing numbers, as a connection tracker expects of a new SYN on a
//   tuple it still holds.
// - A SYN that gets no answer is sent again as TCP does (1 s, then 3 s, 7 s ... after the first), until the
//   check's timeout; a firewall's EPERM counts as a lost SYN (a connect() would time out too), and a full
//   send buffer is tried again on the next tick.
// - The raw sockets need CAP_NET_RAW: vigil-checker opens them at its start, only when the config has
//   TCP_CHECK (open_raw_tcp_sockets, before main trims its capabilities; CAP_NET_RAW is kept only for
//   PING_CHECK). Their filter, which passes only segments to the probes' ports, is attached and locked
//   (SO_LOCK_FILTER) then, so the process cannot widen it later. What the sockets still allow is sending
//   TCP segments (the checker holds CAP_NET_ADMIN anyway). Their cost to the host: every TCP segment this
//   host receives for itself is cloned for each of the two sockets and run through its filter, and ICMP
//   errors about any local TCP traffic reach their error queues (read and dropped).
// - IPv4's checksum covers the source address, which the kernel picks by route: it is looked up once per
//   destination (a UDP socket's connect and getsockname), given to sendmsg (IP_PKTINFO) so that the SYN
//   leaves from it, and forgotten when rtnetlink reports a route, address or rule change (read at most once
//   per timer tick). IPv6's raw socket computes the checksum itself (IPV6_CHECKSUM).
// - ICMP errors about a probe (host or network unreachable, port unreachable) arrive on the raw socket's
//   error queue (IP_RECVERR) and end the probe with the error a connect() would have returned.
// A check that binds (bindto, bind_port, bind_if) or targets a link-local or v4-mapped address connects a
// socket of its own (check_tcp.cpp); every other check goes through TcpProber when the raw sockets could not
// be opened (no CAP_NET_RAW) or when kPorts probes of its real server are already out.

#include <array>
#include <asio.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "checker_child/check_result.hpp"
#include "checker_child/checker_config.hpp"
#include "checker_child/timer_wheel.hpp"

namespace vigil::check {

// Opens this process's raw TCP sockets (IPv4 and IPv6), reserves their ports and attaches their locked
// filters. Call while CAP_NET_RAW is effective (and CAP_NET_ADMIN, for the buffer sizes); a family that fails
// keeps its error (raw_tcp_socket_error) and nothing of it stays open. Opens only what is not open already.
void open_raw_tcp_sockets();
// Why the raw socket of a family is not open ("" when it is, or open_raw_tcp_sockets never ran).
std::string raw_tcp_socket_error(bool v6);
// Closes what open_raw_tcp_sockets opened and no prober adopted (tests: the next loop connects sockets).
void close_raw_tcp_sockets();

class SynProber : public asio::execution_context::service {
  public:
    static asio::execution_context::id id;
    using Done = std::function<void(const CheckResult&)>;
    static constexpr std::size_t kPorts = 16;  // per address family

    // A probe's four-tuple, as the table holds it (our port included): one probe per tuple at a time.
    struct Tuple {
        std::array<std::uint8_t, 16> address{};  // IPv4 in the first 4 bytes
        std::uint16_t port = 0;                  // the real server's
        std::uint16_t local_port = 0;            // ours
        bool v6 = false;
        bool operator==(const Tuple& o) const = default;
    };
    struct TupleHash {
        std::size_t operator()(const Tuple& t) const noexcept;
    };

    // One probe at a time, owned by its check; destroying it cancels what runs (no callback).
    class Probe {
      public:
        Probe() = default;
        ~Probe();
        Probe(const Probe&) = delete;
        Probe& operator=(const Probe&) = delete;
        bool running() const { return prober_ != nullptr; }
        // The port it leaves from (for tests; 0 when not running).
        std::uint16_t local_port() const { return prober_ ? tuple_.local_port : 0; }

      private:
        friend class SynProber;
        SynProber* prober_ = nullptr;
        Done done_;
        Tuple tuple_;
        std::uint32_t isn_ = 0;
        Duration limit_{};
        Duration rto_{};  // the wait before the next resend
        TimerWheel::Clock::time_point deadline_{};
        TimerWheel::Entry timer_;  // the next resend or the timeout; an error reported from the loop
    };

    explicit SynProber(asio::execution_context& context);
    ~SynProber() override;
    // The prober of the loop `executor` runs on.
    static SynProber& of(const asio::any_io_executor& executor);

    // Whether probes to this family can go out here (its raw socket was opened). The reason when not:
    // unavailable_reason().
    bool available(bool v6);
    std::string unavailable_reason(bool v6) const;

    // Probes `remote` and reports "connected", the error a connect() would give ("connection refused", "no
    // route to host") or "timeout after T" through `done`, on the loop (never from inside start()). False
    // (nothing started) when kPorts probes of `remote` are out already. available(remote's family) must be
    // true and `probe` must not be running.
    bool start(Probe& probe, const asio::ip::tcp::endpoint& remote, Duration timeout,
               const asio::any_io_executor& executor, Done done);
    // Stops `probe` without calling its callback.
    void cancel(Probe& probe);
    // Probes that run (for tests).
    std::size_t in_flight() const { return table_.size(); }
    // Answers and errors read that matched no probe (late ones, other traffic to the ports): for tests.
    std::uint64_t unmatched() const { return unmatched_; }
    // SYNs sent again (for tests).
    std::uint64_t resent() const { return resent_; }

  private:
    struct Family {
        bool v6 = false;
        int fd = -1;                                        // the raw socket, once adopted
        std::optional<asio::posix::stream_descriptor> raw;  // fd on the loop, from the first probe
        std::vector<int> holds;                             // the TCP sockets that reserve `ports`
        std::vector<std::uint16_t> ports;
        std::size_t next_port = 0;  // where the search for a free tuple starts: probes rotate over ports
        bool adopted = false;
        std::string error;  // why not available, once tried
        bool watching = false;
        std::size_t in_flight = 0;
    };
    Family& family(bool v6) { return v6 ? v6_ : v4_; }
    const Family& family(bool v6) const { return v6 ? v6_ : v4_; }

    void shutdown() override;
    // Sends the probe's SYN (again); on a failure, reports it or schedules a retry.
    void send(Probe& probe);
    // Arms the probe's timer for its next resend or its timeout, whichever comes first.
    void arm_next(Probe& probe);
    // Ends `probe` with `result` (its callback runs; it may destroy the probe).
    void finish(Probe& probe, CheckResult result);
    // Removes `probe` from the table and stops its timer; no callback.
    void forget(Probe& probe);
    void watch(Family& f);
    void on_readable(Family& f);
    void read_errors(Family& f);
    void read_answers(Family& f);
    // The probe of `tuple` whose ISN is `isn`, ended with `result`; counted as unmatched when there is none.
    void answer(const Tuple& tuple, std::uint32_t isn, CheckResult result);
    // The source address the kernel would give a datagram to `destination` (IPv4, network byte order).
    std::optional<std::uint32_t> source_for(std::uint32_t destination_be, std::uint16_t port, int& error);
    void poll_route_changes();
    std::uint32_t isn_for(const Tuple& tuple) const;

    TimerWheel& wheel_;
    Family v4_;
    Family v6_;
    std::unordered_map<Tuple, Probe*, TupleHash> table_;          // every running probe
    std::unordered_map<std::uint32_t, std::uint32_t> source_v4_;  // destination -> source, network order
    int route_socket_ = -1;                                       // UDP: the route lookups
    int route_events_ = -1;                                       // rtnetlink: route, address, rule changes
    bool route_events_failed_ = false;                            // then the sources are kept one tick
    TimerWheel::Clock::time_point route_polled_{};                // when route_events_ was last read
    std::array<std::uint64_t, 2> isn_key_{};                      // the ISNs' secret (getrandom)
    std::uint64_t unmatched_ = 0;
    std::uint64_t resent_ = 0;
    TimerWheel::Turn* turn_ = nullptr;  // while answers are read
    bool shut_down_ = false;
};

}  // namespace vigil::check
