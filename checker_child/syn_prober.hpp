#pragma once
// TCP_CHECK's probes as raw SYNs: one sendto() per check, and the answers of all checks read together.
//
// A check through TcpProber (tcp_prober.hpp) costs a connect(), a second connect() or a disconnect, and the
// kernel's work for a socket that connects (its hash tables, its timers, its state changes). A SYN sent on a
// raw IPPROTO_TCP socket costs one sendto(); the server answers it as it answers a connect() (a SYN-ACK
// when it listens, a RST-ACK when it refuses), and this host's kernel answers the SYN-ACK with a RST, as it
// does for any segment to a port no socket owns. The wire is the same as a half-open connect's (SYN,
// SYN-ACK, RST): the server builds no connection. In a guest under emulation a check costs about 30% less
// CPU than through TcpProber (docs/benchmarks.md).
//
// - The port: one per address family, reserved by a TCP socket bound to it (port 0: the kernel picks one)
//   that never listens or connects. A bound port is one the kernel's own connects never pick, and segments
//   to it find no socket, so the kernel sends the RST. Every probe leaves from it; the destination and a
//   random sequence number tell probes apart, and an answer counts only when it acknowledges that number
//   (syn_packet.hpp), so neither an old answer nor a guess is taken for one.
// - The raw sockets need CAP_NET_RAW: vigil-checker opens them at its start (open_raw_tcp_sockets, before
//   main trims its capabilities) and keeps CAP_NET_RAW only for PING_CHECK. Until a prober adopts them they
//   drop every segment (a filter that accepts nothing); then a filter passes only segments to its port.
// - IPv4's checksum covers the source address, which the kernel picks by route: it is looked up once per
//   destination (a UDP socket's connect and getsockname) and kept until a route, address or rule changes
//   (rtnetlink's notifications, read at most once per timer tick). IPv6's raw socket computes the checksum
//   itself (IPV6_CHECKSUM).
// - ICMP errors about a probe (host or network unreachable, port unreachable) arrive on the raw socket's
//   error queue (IP_RECVERR) and end the probe with the error a connect() would have returned.
// - A send that finds the socket's buffer full is tried again on the next tick, until the probe's timeout.
// A check that binds (bindto, bind_port, bind_if) or targets a link-local or v4-mapped address, and every
// check when the raw sockets could not be opened (no CAP_NET_RAW), goes through TcpProber.

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

// Opens this process's raw TCP sockets (IPv4 and IPv6), each dropping everything until a SynProber adopts
// it. Call while CAP_NET_RAW is effective; a family that fails keeps its error (raw_tcp_socket_error). Opens
// only what is not open already.
void open_raw_tcp_sockets();
// Why the raw socket of a family is not open ("" when it is, or open_raw_tcp_sockets never ran).
std::string raw_tcp_socket_error(bool v6);
// Closes what open_raw_tcp_sockets opened and no prober adopted (tests: the next loop connects sockets).
void close_raw_tcp_sockets();

class SynProber : public asio::execution_context::service {
  public:
    static asio::execution_context::id id;
    using Done = std::function<void(const CheckResult&)>;

    struct Key {
        std::array<std::uint8_t, 16> address{};  // IPv4 in the first 4 bytes
        std::uint16_t port = 0;
        std::uint32_t isn = 0;
        bool v6 = false;
        bool operator==(const Key& o) const {
            return address == o.address && port == o.port && isn == o.isn && v6 == o.v6;
        }
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept;
    };

    // One probe at a time, owned by its check; destroying it cancels what runs (no callback).
    class Probe {
      public:
        Probe() = default;
        ~Probe();
        Probe(const Probe&) = delete;
        Probe& operator=(const Probe&) = delete;
        bool running() const { return prober_ != nullptr; }

      private:
        friend class SynProber;
        SynProber* prober_ = nullptr;
        Done done_;
        Key key_;
        bool in_flight_ = false;  // in the prober's table: its SYN was sent
        asio::ip::tcp::endpoint remote_;
        Duration limit_{};
        TimerWheel::Clock::time_point deadline_{};
        TimerWheel::Entry timer_;
    };

    explicit SynProber(asio::execution_context& context);
    ~SynProber() override;
    // The prober of the loop `executor` runs on.
    static SynProber& of(const asio::any_io_executor& executor);

    // Whether probes to this family can go out here: its raw socket was opened and its port reserved (done
    // at the first call). The reason when not: unavailable_reason().
    bool available(bool v6);
    std::string unavailable_reason(bool v6) const;
    // The port the family's probes leave from (0 before available()).
    std::uint16_t port(bool v6) const { return family(v6).port; }

    // Probes `remote` and reports "connected", the error a connect() would give ("connection refused", "no
    // route to host") or "timeout after T" through `done`, on the loop (never from inside start()).
    // available(remote's family) must be true and `probe` must not be running.
    void start(Probe& probe, const asio::ip::tcp::endpoint& remote, Duration timeout,
               const asio::any_io_executor& executor, Done done);
    // Stops `probe` without calling its callback.
    void cancel(Probe& probe);
    // Probes whose SYN is out (for tests).
    std::size_t in_flight() const { return table_.size(); }
    // Answers and errors read that matched no probe (late ones, other traffic to the port): for tests.
    std::uint64_t unmatched() const { return unmatched_; }

  private:
    struct Family {
        bool v6 = false;
        int fd = -1;                                        // the raw socket, once adopted
        std::optional<asio::posix::stream_descriptor> raw;  // fd on the loop, from the first probe
        int hold = -1;                                      // the TCP socket that reserves `port`
        std::uint16_t port = 0;
        bool ready = false;
        std::string error;  // why not ready, once tried
        bool watching = false;
        std::size_t in_flight = 0;
    };
    Family& family(bool v6) { return v6 ? v6_ : v4_; }
    const Family& family(bool v6) const { return v6 ? v6_ : v4_; }

    void shutdown() override;
    bool set_up(Family& f);
    void send(Probe& probe);
    // Ends `probe` with `result` (its callback runs; it may destroy the probe).
    void finish(Probe& probe, CheckResult result);
    // Removes `probe` from the table and stops its timer; no callback.
    void forget(Probe& probe);
    void watch(Family& f);
    void on_readable(Family& f);
    void read_errors(Family& f);
    void read_answers(Family& f);
    void answer(const Key& key, CheckResult result);
    // The source address the kernel would give a datagram to `destination` (IPv4, network byte order).
    std::optional<std::uint32_t> source_for(std::uint32_t destination_be, std::uint16_t port, int& error);
    void poll_route_changes();
    std::uint32_t random_isn();

    TimerWheel& wheel_;
    Family v4_;
    Family v6_;
    std::unordered_map<Key, Probe*, KeyHash> table_;
    std::unordered_map<std::uint32_t, std::uint32_t> source_v4_;  // destination -> source, network order
    int route_socket_ = -1;                                       // UDP: the route lookups
    int route_events_ = -1;                                       // rtnetlink: route, address, rule changes
    TimerWheel::Clock::time_point route_polled_{};                // when route_events_ was last read
    std::uint64_t rng_[2] = {0, 0};
    std::uint64_t unmatched_ = 0;
    TimerWheel::Turn* turn_ = nullptr;  // while answers are read
    bool shut_down_ = false;
};

}  // namespace vigil::check
