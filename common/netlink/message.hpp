#pragma once
// rtnetlink messages as pure functions: requests are built into byte vectors and replies are parsed from byte
// spans, so both can be tested against golden bytes without a socket (client.hpp does the I/O).

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <asio/ip/address.hpp>

#include "common/netlink/result.hpp"

namespace vigil::common::netlink {

using Bytes = std::vector<std::uint8_t>;
using MacAddress = std::array<std::uint8_t, 6>;

// An address to add to or delete from an interface (RTM_NEWADDR / RTM_DELADDR).
struct AddressSpec {
    int ifindex = 0;
    asio::ip::address address;
    std::uint8_t prefix_len = 32;
    std::optional<asio::ip::address_v4> broadcast;  // IFA_BROADCAST, IPv4 only
    std::uint8_t scope = 0;                         // RT_SCOPE_UNIVERSE; 253 link, 254 host
    std::string label;                              // IFA_LABEL, IPv4 only; the kernel wants it to start
                                                    // with the interface name ("eth0:vip")
    bool no_dad = false;                            // IFA_F_NODAD: IPv6 VIPs skip duplicate detection
};

// One address as the kernel reports it (RTM_NEWADDR in a dump or an event).
struct AddressInfo {
    int ifindex = 0;
    asio::ip::address address;  // IFA_LOCAL when present (the interface's own address), else IFA_ADDRESS
    std::uint8_t prefix_len = 0;
    std::uint8_t scope = 0;
    std::uint32_t flags = 0;  // IFA_F_*; IFA_FLAGS when present, else ifa_flags
    std::string label;
    std::optional<asio::ip::address_v4> broadcast;
};

// RFC 2863 operational state, IF_OPER_* numbering.
enum class OperState : std::uint8_t {
    Unknown = 0,
    NotPresent = 1,
    Down = 2,
    LowerLayerDown = 3,
    Testing = 4,
    Dormant = 5,
    Up = 6,
};

// One interface as the kernel reports it (RTM_NEWLINK in a reply, dump or event).
struct LinkInfo {
    int ifindex = 0;
    std::string name;
    std::optional<MacAddress> mac;  // IFLA_ADDRESS when it is 6 bytes long
    std::uint32_t mtu = 0;
    std::uint32_t flags = 0;  // IFF_*
    OperState oper_state = OperState::Unknown;

    // Administratively up with carrier (IFF_UP and IFF_RUNNING): what VRRP calls a usable link.
    bool usable() const;
};

// A message header and its whole bytes (header included), as split_messages found it in a datagram.
struct MessageView {
    std::uint16_t type = 0;
    std::uint16_t flags = 0;
    std::uint32_t seq = 0;
    std::uint32_t port = 0;
    std::span<const std::uint8_t> bytes;
};

// RTM_NEWADDR (add: NLM_F_CREATE | NLM_F_EXCL, so an existing address answers EEXIST) or RTM_DELADDR, with
// NLM_F_ACK. IFA_LOCAL and IFA_ADDRESS both carry the address, as iproute2 sends them.
Bytes build_address_request(bool add, const AddressSpec& spec, std::uint32_t seq);

// RTM_GETADDR dump of one family (AF_INET, AF_INET6 or AF_UNSPEC for both).
Bytes build_address_dump(int family, std::uint32_t seq);

// RTM_GETLINK for one interface by index.
Bytes build_link_get(int ifindex, std::uint32_t seq);

// RTM_GETLINK for one interface by name (IFLA_IFNAME).
Bytes build_link_get_by_name(std::string_view name, std::uint32_t seq);

// RTM_GETLINK dump of every interface.
Bytes build_link_dump(std::uint32_t seq);

// Splits a datagram into its netlink messages; fails on a header whose length overruns the datagram.
Result<std::vector<MessageView>> split_messages(std::span<const std::uint8_t> datagram);

// An NLMSG_ERROR message: 0 for an ACK, else a positive errno, plus the kernel's extended-ack text if any.
struct AckInfo {
    int code = 0;
    std::string kernel_message;
};

// Parses an NLMSG_ERROR message.
Result<AckInfo> parse_ack(const MessageView& message);

// Parses an RTM_NEWADDR / RTM_DELADDR message.
Result<AddressInfo> parse_address(const MessageView& message);

// Parses an RTM_NEWLINK / RTM_DELLINK message.
Result<LinkInfo> parse_link(const MessageView& message);

// "10.0.0.1/24 on ifindex 3": how log lines and errors name an address.
std::string describe(const AddressSpec& spec);

}  // namespace vigil::common::netlink
