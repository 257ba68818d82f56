#pragma once
// Sends gratuitous ARPs and unsolicited neighbour advertisements over an AF_PACKET socket.
// The schedule (garp_master_delay, _repeat, _refresh) belongs to the state machine; this only sends.

#include <functional>
#include <optional>

#include <asio/io_context.hpp>
#include <asio/ip/address_v4.hpp>
#include <asio/ip/address_v6.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "common/netlink/client.hpp"
#include "common/netlink/result.hpp"
#include "vrrp_child/garp_frame.hpp"

namespace vigil::vrrp {

class GarpSender {
  public:
    // Opens the AF_PACKET socket (needs CAP_NET_RAW). `links` looks up each interface's MAC address (and, for
    // NA, its link-local address); it must outlive the sender.
    static common::netlink::Result<std::unique_ptr<GarpSender>> open(asio::io_context& io,
                                                                     common::netlink::Client& links);

    // Where MAC addresses come from first (the link monitor's, kept current by link events), so that a
    // takeover's first GARP waits for no netlink round trip; without one, or when it has none for an
    // interface, `links` is asked.
    void set_mac_source(std::function<std::optional<MacAddress>(int ifindex)> source) {
        mac_source_ = std::move(source);
    }

    // Sends one gratuitous ARP for `vip` on interface `ifindex`, from the interface's MAC address.
    common::netlink::Status send_garp(int ifindex, const asio::ip::address_v4& vip);

    // Sends one unsolicited NA for `vip` on `ifindex`. The IPv6 source is `source` when given, else the
    // interface's link-local address, else `vip` itself.
    common::netlink::Status send_na(int ifindex, const asio::ip::address_v6& vip,
                                    const std::optional<asio::ip::address_v6>& source = std::nullopt);

  private:
    GarpSender(asio::io_context& io, int fd, common::netlink::Client& links);
    common::netlink::Result<MacAddress> mac_of(int ifindex);
    common::netlink::Status send_frame(int ifindex, std::uint16_t ethertype,
                                       const std::vector<std::uint8_t>& frame, const std::string& what);

    asio::posix::stream_descriptor descriptor_;  // owns the fd; only written to, never waited on
    common::netlink::Client& links_;
    std::function<std::optional<MacAddress>(int ifindex)> mac_source_;
};

}  // namespace vigil::vrrp
