#include "common/netlink/client.hpp"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>

#include <fmt/format.h>

namespace vigil::common::netlink {
namespace {

// Receive buffer: large enough for one datagram of a dump (the kernel sizes dump datagrams to the reader's
// buffer, up to 32 KiB by default).
constexpr std::size_t kReceiveBufferSize = 64 * 1024;

std::string request_name(std::uint16_t type) {
    switch (type) {
        case RTM_NEWADDR:
            return "RTM_NEWADDR";
        case RTM_DELADDR:
            return "RTM_DELADDR";
        case RTM_GETADDR:
            return "RTM_GETADDR";
        case RTM_GETLINK:
            return "RTM_GETLINK";
        default:
            return fmt::format("netlink message type {}", type);
    }
}

}  // namespace

void Client::SocketCloser::operator()(mnl_socket* s) const {
    mnl_socket_close(s);
}

Client::Client(mnl_socket* socket) : socket_(socket) {}

Result<Client> Client::open() {
    mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s == nullptr) return os_error(errno, "netlink: opening a NETLINK_ROUTE socket");
    Client client(s);
    if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) return os_error(errno, "netlink: binding");
    client.port_ = mnl_socket_get_portid(s);
    // Optional comforts: the kernel's own words in errors, and acks that do not echo the request.
    int on = 1;
    mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &on, sizeof on);
    mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &on, sizeof on);
    return client;
}

Status Client::transact(const Bytes& request, const std::string& what,
                        const std::function<Status(const MessageView&)>& on_message) {
    nlmsghdr header;
    std::memcpy(&header, request.data(), sizeof header);
    const std::uint32_t seq = ++seq_;
    Bytes req = request;
    reinterpret_cast<nlmsghdr*>(req.data())->nlmsg_seq = seq;
    const bool dump = (header.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
    const std::string subject = fmt::format("{} {}", request_name(header.nlmsg_type), what);

    if (mnl_socket_sendto(socket_.get(), req.data(), req.size()) < 0) return os_error(errno, subject);

    std::vector<std::uint8_t> buffer(kReceiveBufferSize);
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(socket_.get(), buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EAGAIN) return Error{EAGAIN, subject + ": no reply from the kernel"};
            return os_error(errno, subject);
        }
        auto messages = split_messages(std::span(buffer.data(), static_cast<std::size_t>(n)));
        if (!messages) return Error{0, subject + ": " + messages.error().message};
        for (const MessageView& m : messages.value()) {
            // Stale replies to an earlier request that failed half-way are skipped, not misread.
            if (m.seq != seq || m.port != port_) continue;
            if (m.type == NLMSG_DONE) return success();
            if (m.type == NLMSG_ERROR) {
                auto ack = parse_ack(m);
                if (!ack) return Error{0, subject + ": " + ack.error().message};
                if (ack.value().code == 0) return success();
                Error e = os_error(ack.value().code, subject);
                if (!ack.value().kernel_message.empty()) e.message += " (" + ack.value().kernel_message + ")";
                return e;
            }
            if (Status s = on_message(m); !s)
                return Error{s.error().code, subject + ": " + s.error().message};
            // A single-object get (RTM_GETLINK by index or name) is answered by one message and no ack.
            if (!dump && (header.nlmsg_flags & NLM_F_ACK) == 0) return success();
        }
    }
}

Status Client::add_address(const AddressSpec& spec) {
    return transact(build_address_request(true, spec, 0), describe(spec),
                    [](const MessageView&) { return success(); });
}

Status Client::delete_address(const AddressSpec& spec) {
    return transact(build_address_request(false, spec, 0), describe(spec),
                    [](const MessageView&) { return success(); });
}

Result<std::vector<AddressInfo>> Client::list_addresses(int family, int ifindex) {
    std::vector<AddressInfo> out;
    Status s = transact(build_address_dump(family, 0), "dump", [&](const MessageView& m) -> Status {
        if (m.type != RTM_NEWADDR) return success();
        auto info = parse_address(m);
        // An address of a family this code does not know is skipped; a malformed one fails the dump.
        if (!info) return info.error();
        if (ifindex == 0 || info.value().ifindex == ifindex) out.push_back(std::move(info.value()));
        return success();
    });
    if (!s) return s.error();
    return out;
}

Result<LinkInfo> Client::link(int ifindex) {
    std::optional<LinkInfo> found;
    Status s = transact(build_link_get(ifindex, 0), fmt::format("ifindex {}", ifindex),
                        [&](const MessageView& m) -> Status {
                            auto info = parse_link(m);
                            if (!info) return info.error();
                            found = std::move(info.value());
                            return success();
                        });
    if (!s) return s.error();
    if (!found) return Error{ENODEV, fmt::format("RTM_GETLINK ifindex {}: no such interface", ifindex)};
    return *found;
}

Result<LinkInfo> Client::link(std::string_view name) {
    // A longer name would be cut by the request and could name another interface.
    if (name.empty() || name.size() >= IFNAMSIZ) {
        return Error{ENODEV, fmt::format("RTM_GETLINK {}: not a valid interface name", name)};
    }
    std::optional<LinkInfo> found;
    Status s =
        transact(build_link_get_by_name(name, 0), std::string(name), [&](const MessageView& m) -> Status {
            auto info = parse_link(m);
            if (!info) return info.error();
            found = std::move(info.value());
            return success();
        });
    if (!s) return s.error();
    if (!found) return Error{ENODEV, fmt::format("RTM_GETLINK {}: no such interface", name)};
    return *found;
}

Result<std::vector<LinkInfo>> Client::links() {
    std::vector<LinkInfo> out;
    Status s = transact(build_link_dump(0), "dump", [&](const MessageView& m) -> Status {
        if (m.type != RTM_NEWLINK) return success();
        auto info = parse_link(m);
        if (!info) return info.error();
        out.push_back(std::move(info.value()));
        return success();
    });
    if (!s) return s.error();
    return out;
}

}  // namespace vigil::common::netlink
