#pragma once
// The raw IP socket of VRRP (protocol 112) on one interface and one family, read from vigil-vrrp's EventLoop.
//
// IPv4: joined to 224.0.0.18 on the interface (ip_mreqn), bound to the device, multicast loop off; adverts go
// out with the IPv4 header send() writes (IP_HDRINCL: TTL 255, TOS 0xc0, DF; to a unicast peer the source
// also in IP_PKTINFO, for routing); IP_PKTINFO and IP_RECVTTL tell the destination, interface and TTL of what
// arrives, and SO_TIMESTAMPNS when it arrived. IPv6: joined to ff02::12, hop limits 255, traffic class 0xc0,
// IPV6_RECVPKTINFO and IPV6_RECVHOPLIMIT. The kernel computes no checksum for protocol 112: the bytes handed
// to send() carry the VRRP checksum the caller computed. Nothing here throws into the loop: errors are
// returned or counted.

#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <asio/ip/address.hpp>

#include "common/log/throttle.hpp"
#include "common/netlink/client.hpp"
#include "common/netlink/result.hpp"
#include "vrrp_child/event_loop.hpp"

namespace vigil::vrrp {

using common::netlink::Result;
using common::netlink::Status;

// One datagram as received: the VRRP bytes (the IP payload) and what the IP layer knew about them.
struct ReceivedDatagram {
    std::span<const std::uint8_t> payload;
    asio::ip::address source;
    asio::ip::address destination;  // the group, or our unicast address
    int ttl = -1;                   // TTL (IPv4) or hop limit (IPv6); -1 if the kernel did not say
    int ifindex = 0;                // the interface it arrived on
    // How long before it was read the kernel received it (SO_TIMESTAMPNS); zero if unknown. A receiver that
    // resets a timer on arrival (the Master_Down_Timer) subtracts it from its clock, so a late wake-up of
    // this process does not delay the timer.
    std::chrono::nanoseconds age{0};
};

// The age of a datagram the kernel stamped at `stamp` (CLOCK_REALTIME), read at `now` (same clock): zero when
// the difference is negative or over a second, which only a step of the wall clock in between explains.
std::chrono::nanoseconds receive_age(const timespec& stamp, const timespec& now);

// Counters the socket keeps; the caller reads them for status.
struct SocketCounters {
    std::uint64_t received = 0;           // datagrams handed to the receive handler
    std::uint64_t dropped_malformed = 0;  // truncated, or an IPv4 header that does not parse
    std::uint64_t receive_errors = 0;     // recvmsg failures other than "nothing to read"
    std::uint64_t sent = 0;
    std::uint64_t send_errors = 0;
};

struct SocketOptions {
    int ifindex = 0;
    std::string ifname;  // for SO_BINDTODEVICE and log lines
    bool ipv6 = false;
    bool join_multicast = true;  // false for an interface that only talks to unicast peers
};

class VrrpSocket {
  public:
    using ReceiveHandler = std::function<void(const ReceivedDatagram&)>;
    // Called with a short reason for each datagram dropped before it reached the receive handler.
    using DropHandler = std::function<void(const std::string& reason)>;

    // Opens and configures the socket. Needs CAP_NET_RAW.
    static Result<std::unique_ptr<VrrpSocket>> open(EventLoop& loop, const SocketOptions& options);

    ~VrrpSocket();
    VrrpSocket(const VrrpSocket&) = delete;
    VrrpSocket& operator=(const VrrpSocket&) = delete;

    // Starts delivering datagrams to `on_receive` (and drops to `on_drop`, if set), until destruction.
    void start(ReceiveHandler on_receive, DropHandler on_drop = {});

    // Sends `vrrp` (the IP payload) to `destination` (the group or a unicast peer) with TTL / hop limit 255,
    // from `source` when given (unicast_src_ip, or the link-local address for IPv6), else the kernel's
    // choice. Never blocks: a full socket buffer is an error (EAGAIN) like any other.
    Status send(std::span<const std::uint8_t> vrrp, const asio::ip::address& destination,
                const std::optional<asio::ip::address>& source = std::nullopt);

    // Sends to the VRRP multicast group of the socket's family (224.0.0.18 or ff02::12).
    Status send_multicast(std::span<const std::uint8_t> vrrp,
                          const std::optional<asio::ip::address>& source = std::nullopt);

    // The group this socket's family uses.
    asio::ip::address group() const;
    const SocketOptions& options() const { return options_; }
    const SocketCounters& counters() const { return counters_; }

  private:
    VrrpSocket(EventLoop& loop, int fd, SocketOptions options);
    Status configure();
    void receive();
    void receive_one(int flags_received, std::size_t length, const void* name, const void* control,
                     std::size_t control_length);
    void drop(const std::string& reason);

    EventLoop& loop_;
    int fd_;
    bool started_ = false;
    SocketOptions options_;
    ReceiveHandler on_receive_;
    DropHandler on_drop_;
    SocketCounters counters_;
    common::log::Throttle error_log_;  // recvmsg failures: a line every 10 s at most
    std::vector<std::uint8_t> buffer_;
};

// The address VRRP sends from when unicast_src_ip is not set (RFC 5798 5.1.1.1, 5.1.2.1): the interface's
// primary IPv4 address (its first global address that is not IFA_F_SECONDARY), or its IPv6 link-local address
// (not tentative). nullopt when it has none yet.
std::optional<asio::ip::address> interface_source_address(common::netlink::Client& netlink, int ifindex,
                                                          bool ipv6);

}  // namespace vigil::vrrp
