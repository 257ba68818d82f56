#include "vrrp_child/garp.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

#include <fmt/format.h>

namespace vigil::vrrp {

using common::netlink::Error;
using common::netlink::os_error;
using common::netlink::Result;
using common::netlink::Status;
using common::netlink::success;

Result<std::unique_ptr<GarpSender>> GarpSender::open(asio::io_context& io, common::netlink::Client& links) {
    // Protocol 0: the socket sends whole Ethernet frames and receives nothing, so no queue fills up.
    const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return os_error(errno, "GARP socket (AF_PACKET)");
    return std::unique_ptr<GarpSender>(new GarpSender(io, fd, links));
}

GarpSender::GarpSender(asio::io_context& io, int fd, common::netlink::Client& links)
    : descriptor_(io, fd), links_(links) {}

Result<MacAddress> GarpSender::mac_of(int ifindex) {
    if (mac_source_)
        if (auto mac = mac_source_(ifindex)) return *mac;
    auto link = links_.link(ifindex);
    if (!link) return link.error();
    if (!link.value().mac) {
        return Error{EINVAL,
                     fmt::format("ifindex {} ({}) has no Ethernet address", ifindex, link.value().name)};
    }
    return *link.value().mac;
}

Status GarpSender::send_frame(int ifindex, std::uint16_t ethertype, const std::vector<std::uint8_t>& frame,
                              const std::string& what) {
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ethertype);
    to.sll_ifindex = ifindex;
    to.sll_halen = ETH_ALEN;
    std::memcpy(to.sll_addr, frame.data(), ETH_ALEN);  // the frame's own destination
    const ssize_t n = ::sendto(descriptor_.native_handle(), frame.data(), frame.size(), MSG_DONTWAIT,
                               reinterpret_cast<const sockaddr*>(&to), sizeof to);
    if (n < 0) return os_error(errno, what);
    return success();
}

Status GarpSender::send_garp(int ifindex, const asio::ip::address_v4& vip) {
    const std::string what = fmt::format("gratuitous ARP for {} on ifindex {}", vip.to_string(), ifindex);
    auto mac = mac_of(ifindex);
    if (!mac) return Error{mac.error().code, what + ": " + mac.error().message};
    return send_frame(ifindex, ETH_P_ARP, build_garp_frame(mac.value(), vip), what);
}

Status GarpSender::send_na(int ifindex, const asio::ip::address_v6& vip,
                           const std::optional<asio::ip::address_v6>& source) {
    const std::string what = fmt::format("unsolicited NA for {} on ifindex {}", vip.to_string(), ifindex);
    auto mac = mac_of(ifindex);
    if (!mac) return Error{mac.error().code, what + ": " + mac.error().message};
    asio::ip::address_v6 from = vip;
    if (source) {
        from = *source;
    } else if (auto addresses = links_.list_addresses(AF_INET6, ifindex); addresses) {
        for (const auto& a : addresses.value()) {
            if (a.scope == RT_SCOPE_LINK && a.address.is_v6() && a.address.to_v6().is_link_local()) {
                from = a.address.to_v6();
                break;
            }
        }
    }
    return send_frame(ifindex, ETH_P_IPV6, build_unsolicited_na_frame(mac.value(), vip, from), what);
}

}  // namespace vigil::vrrp
