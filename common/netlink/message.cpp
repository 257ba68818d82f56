#include "common/netlink/message.hpp"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>

#include <fmt/format.h>

namespace vigil::common::netlink {
namespace {

// Large enough for any request built here: header, fixed part and a few short attributes.
constexpr std::size_t kRequestBufferSize = 512;

class RequestBuffer {
  public:
    nlmsghdr* header(std::uint16_t type, std::uint16_t flags, std::uint32_t seq) {
        nlmsghdr* nlh = mnl_nlmsg_put_header(buffer_);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        nlh->nlmsg_seq = seq;
        return nlh;
    }
    Bytes bytes() const {
        auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer_);
        return Bytes(buffer_, buffer_ + nlh->nlmsg_len);
    }

  private:
    alignas(nlmsghdr) std::uint8_t buffer_[kRequestBufferSize] = {};
};

void put_address(nlmsghdr* nlh, std::uint16_t type, const asio::ip::address& address) {
    if (address.is_v4()) {
        auto b = address.to_v4().to_bytes();
        mnl_attr_put(nlh, type, b.size(), b.data());
    } else {
        auto b = address.to_v6().to_bytes();
        mnl_attr_put(nlh, type, b.size(), b.data());
    }
}

Error malformed(std::string_view what) {
    return Error{0, fmt::format("malformed netlink message: {}", what)};
}

// The attributes of one message, indexed by type; types above kMaxType are ignored (newer kernels add some).
template <std::size_t kMaxType>
struct AttributeTable {
    std::array<const nlattr*, kMaxType + 1> at{};

    // Fills the table from the attributes after the fixed part of `message`; false when one overruns it.
    // (mnl_attr_parse would stop silently at a bad attribute; here the walk must end exactly at the end.)
    bool parse(const MessageView& message, std::size_t fixed_size) {
        auto* nlh = reinterpret_cast<const nlmsghdr*>(message.bytes.data());
        const auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, fixed_size));
        // The exact end of the message, not its aligned end: the bytes after it may not be ours.
        const auto* tail = reinterpret_cast<const char*>(message.bytes.data() + message.bytes.size());
        while (mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)))) {
            const std::uint16_t type = mnl_attr_get_type(attr);
            if (type <= kMaxType) at[type] = attr;
            attr = mnl_attr_next(attr);
        }
        return reinterpret_cast<const char*>(attr) >= tail;
    }
};

std::optional<asio::ip::address> attr_address(const nlattr* attr, int family) {
    if (attr == nullptr) return std::nullopt;
    const auto len = mnl_attr_get_payload_len(attr);
    const auto* p = static_cast<const std::uint8_t*>(mnl_attr_get_payload(attr));
    if (family == AF_INET && len == 4) {
        asio::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), p, 4);
        return asio::ip::address_v4(b);
    }
    if (family == AF_INET6 && len == 16) {
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), p, 16);
        return asio::ip::address_v6(b);
    }
    return std::nullopt;
}

std::string attr_string(const nlattr* attr) {
    const auto* p = static_cast<const char*>(mnl_attr_get_payload(attr));
    return std::string(p, strnlen(p, mnl_attr_get_payload_len(attr)));
}

}  // namespace

bool LinkInfo::usable() const {
    return (flags & IFF_UP) != 0 && (flags & IFF_RUNNING) != 0;
}

Bytes build_address_request(bool add, const AddressSpec& spec, std::uint32_t seq) {
    RequestBuffer buf;
    const std::uint16_t flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
    nlmsghdr* nlh = buf.header(add ? RTM_NEWADDR : RTM_DELADDR, flags, seq);
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    const bool v4 = spec.address.is_v4();
    ifa->ifa_family = v4 ? AF_INET : AF_INET6;
    ifa->ifa_prefixlen = spec.prefix_len;
    ifa->ifa_flags = (!v4 && spec.no_dad) ? IFA_F_NODAD : 0;
    ifa->ifa_scope = spec.scope;
    ifa->ifa_index = static_cast<std::uint32_t>(spec.ifindex);
    put_address(nlh, IFA_LOCAL, spec.address);
    put_address(nlh, IFA_ADDRESS, spec.address);
    if (v4 && spec.broadcast) put_address(nlh, IFA_BROADCAST, *spec.broadcast);
    if (v4 && !spec.label.empty()) mnl_attr_put_strz(nlh, IFA_LABEL, spec.label.c_str());
    return buf.bytes();
}

Bytes build_address_dump(int family, std::uint32_t seq) {
    RequestBuffer buf;
    nlmsghdr* nlh = buf.header(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = static_cast<std::uint8_t>(family);
    return buf.bytes();
}

Bytes build_link_get(int ifindex, std::uint32_t seq) {
    RequestBuffer buf;
    nlmsghdr* nlh = buf.header(RTM_GETLINK, NLM_F_REQUEST, seq);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return buf.bytes();
}

Bytes build_link_get_by_name(std::string_view name, std::uint32_t seq) {
    RequestBuffer buf;
    nlmsghdr* nlh = buf.header(RTM_GETLINK, NLM_F_REQUEST, seq);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    const std::string n(name.substr(0, IFNAMSIZ - 1));
    mnl_attr_put_strz(nlh, IFLA_IFNAME, n.c_str());
    return buf.bytes();
}

Bytes build_link_dump(std::uint32_t seq) {
    RequestBuffer buf;
    nlmsghdr* nlh = buf.header(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    return buf.bytes();
}

Result<std::vector<MessageView>> split_messages(std::span<const std::uint8_t> datagram) {
    std::vector<MessageView> out;
    std::size_t offset = 0;
    while (datagram.size() - offset >= sizeof(nlmsghdr)) {
        nlmsghdr h;
        std::memcpy(&h, datagram.data() + offset, sizeof h);
        if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > datagram.size() - offset) {
            return malformed(fmt::format("message length {} at offset {} of a {}-byte datagram", h.nlmsg_len,
                                         offset, datagram.size()));
        }
        out.push_back(MessageView{h.nlmsg_type, h.nlmsg_flags, h.nlmsg_seq, h.nlmsg_pid,
                                  datagram.subspan(offset, h.nlmsg_len)});
        offset += NLMSG_ALIGN(h.nlmsg_len);
        if (offset > datagram.size()) break;
    }
    return out;
}

Result<AckInfo> parse_ack(const MessageView& message) {
    if (message.type != NLMSG_ERROR) return malformed("not an NLMSG_ERROR");
    if (message.bytes.size() < NLMSG_HDRLEN + sizeof(nlmsgerr)) return malformed("truncated NLMSG_ERROR");
    nlmsgerr err;
    std::memcpy(&err, message.bytes.data() + NLMSG_HDRLEN, sizeof err);
    AckInfo ack{-err.error, {}};
    if ((message.flags & NLM_F_ACK_TLVS) == 0) return ack;
    // Extended ack attributes follow the echoed request, or only its header when the ack was capped.
    std::size_t offset = sizeof(nlmsgerr);
    if ((message.flags & NLM_F_CAPPED) == 0) {
        if (err.msg.nlmsg_len < NLMSG_HDRLEN) return ack;
        offset += NLMSG_ALIGN(err.msg.nlmsg_len) - NLMSG_HDRLEN;
    }
    if (NLMSG_HDRLEN + offset > message.bytes.size()) return ack;
    AttributeTable<NLMSGERR_ATTR_MAX> attrs;
    if (attrs.parse(message, offset) && attrs.at[NLMSGERR_ATTR_MSG] != nullptr) {
        ack.kernel_message = attr_string(attrs.at[NLMSGERR_ATTR_MSG]);
    }
    return ack;
}

Result<AddressInfo> parse_address(const MessageView& message) {
    if (message.type != RTM_NEWADDR && message.type != RTM_DELADDR)
        return malformed("not an address message");
    if (message.bytes.size() < NLMSG_HDRLEN + sizeof(ifaddrmsg)) return malformed("truncated ifaddrmsg");
    ifaddrmsg ifa;
    std::memcpy(&ifa, message.bytes.data() + NLMSG_HDRLEN, sizeof ifa);
    AttributeTable<IFA_MAX> attrs;
    if (!attrs.parse(message, sizeof(ifaddrmsg))) return malformed("address attributes overrun the message");

    AddressInfo info;
    info.ifindex = static_cast<int>(ifa.ifa_index);
    info.prefix_len = ifa.ifa_prefixlen;
    info.scope = ifa.ifa_scope;
    info.flags = ifa.ifa_flags;
    auto local = attr_address(attrs.at[IFA_LOCAL], ifa.ifa_family);
    auto address = attr_address(attrs.at[IFA_ADDRESS], ifa.ifa_family);
    if (local) {
        info.address = *local;
    } else if (address) {
        info.address = *address;
    } else {
        return malformed(
            fmt::format("address message of family {} without a usable address", ifa.ifa_family));
    }
    if (const nlattr* a = attrs.at[IFA_FLAGS]; a != nullptr && mnl_attr_get_payload_len(a) == 4) {
        info.flags = mnl_attr_get_u32(a);
    }
    if (attrs.at[IFA_LABEL] != nullptr) info.label = attr_string(attrs.at[IFA_LABEL]);
    if (auto b = attr_address(attrs.at[IFA_BROADCAST], AF_INET); b && ifa.ifa_family == AF_INET) {
        info.broadcast = b->to_v4();
    }
    return info;
}

Result<LinkInfo> parse_link(const MessageView& message) {
    if (message.type != RTM_NEWLINK && message.type != RTM_DELLINK) return malformed("not a link message");
    if (message.bytes.size() < NLMSG_HDRLEN + sizeof(ifinfomsg)) return malformed("truncated ifinfomsg");
    ifinfomsg ifi;
    std::memcpy(&ifi, message.bytes.data() + NLMSG_HDRLEN, sizeof ifi);
    AttributeTable<IFLA_OPERSTATE> attrs;  // every attribute read here is numbered at most IFLA_OPERSTATE
    if (!attrs.parse(message, sizeof(ifinfomsg))) return malformed("link attributes overrun the message");

    LinkInfo info;
    info.ifindex = ifi.ifi_index;
    info.flags = ifi.ifi_flags;
    if (attrs.at[IFLA_IFNAME] != nullptr) info.name = attr_string(attrs.at[IFLA_IFNAME]);
    if (const nlattr* a = attrs.at[IFLA_ADDRESS]; a != nullptr && mnl_attr_get_payload_len(a) == 6) {
        MacAddress mac;
        std::memcpy(mac.data(), mnl_attr_get_payload(a), mac.size());
        info.mac = mac;
    }
    if (const nlattr* a = attrs.at[IFLA_MTU]; a != nullptr && mnl_attr_get_payload_len(a) == 4) {
        info.mtu = mnl_attr_get_u32(a);
    }
    if (const nlattr* a = attrs.at[IFLA_OPERSTATE]; a != nullptr && mnl_attr_get_payload_len(a) == 1) {
        const auto state = mnl_attr_get_u8(a);
        info.oper_state = state <= static_cast<std::uint8_t>(OperState::Up) ? static_cast<OperState>(state)
                                                                            : OperState::Unknown;
    }
    return info;
}

std::string describe(const AddressSpec& spec) {
    return fmt::format("{}/{} on ifindex {}", spec.address.to_string(), spec.prefix_len, spec.ifindex);
}

}  // namespace vigil::common::netlink
