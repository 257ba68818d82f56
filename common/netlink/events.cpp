#include "common/netlink/events.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <exception>

#include <spdlog/spdlog.h>

namespace vigil::common::netlink {
namespace {

constexpr std::size_t kReceiveBufferSize = 64 * 1024;
// A burst of events (many VIPs added at once, a bridge with many ports going down) must fit.
constexpr int kSocketBufferBytes = 1024 * 1024;

template <typename F>
void guarded(const char* what, F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        spdlog::error("netlink events: {} handler threw: {}", what, e.what());
    } catch (...) {
        spdlog::error("netlink events: {} handler threw", what);
    }
}

}  // namespace

Result<std::unique_ptr<EventSubscription>> EventSubscription::open(asio::io_context& io,
                                                                   EventHandlers handlers) {
    const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return os_error(errno, "netlink events: socket");
    // Owned from here on: the descriptor closes it on every path.
    std::unique_ptr<EventSubscription> sub(new EventSubscription(io, fd, std::move(handlers)));

    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    if (sub->handlers_.on_link) addr.nl_groups |= RTMGRP_LINK;
    if (sub->handlers_.on_address) addr.nl_groups |= RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
        return os_error(errno, "netlink events: bind");
    }
    int size = kSocketBufferBytes;
    // Best effort: a smaller buffer only makes an overrun (and a resync) likelier.
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    sub->arm();
    return sub;
}

EventSubscription::EventSubscription(asio::io_context& io, int fd, EventHandlers handlers)
    : descriptor_(io, fd), handlers_(std::move(handlers)), buffer_(kReceiveBufferSize) {}

EventSubscription::~EventSubscription() {
    *alive_ = false;
    asio::error_code ignored;
    descriptor_.close(ignored);
}

void EventSubscription::arm() {
    descriptor_.async_wait(asio::posix::stream_descriptor::wait_read,
                           [this, alive = alive_](const asio::error_code& ec) {
                               if (!*alive || ec == asio::error::operation_aborted) return;
                               if (ec) {
                                   spdlog::error("netlink events: wait failed: {}", ec.message());
                                   return;
                               }
                               drain();
                               if (*alive) arm();
                           });
}

void EventSubscription::drain() {
    const auto alive = alive_;
    while (*alive) {
        const ssize_t n = ::recv(descriptor_.native_handle(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            if (errno == ENOBUFS) {
                spdlog::warn(
                    "netlink events: the kernel dropped events (socket buffer full); resynchronising");
                if (handlers_.on_overrun) guarded("overrun", handlers_.on_overrun);
                continue;
            }
            spdlog::error("netlink events: recv: {}", std::strerror(errno));
            return;
        }
        auto messages = split_messages(std::span(buffer_.data(), static_cast<std::size_t>(n)));
        if (!messages) {
            ++malformed_;
            spdlog::warn("netlink events: {}", messages.error().message);
            continue;
        }
        for (const MessageView& m : messages.value()) {
            if (!*alive) return;
            dispatch(m);
        }
    }
}

void EventSubscription::dispatch(const MessageView& m) {
    if ((m.type == RTM_NEWLINK || m.type == RTM_DELLINK) && handlers_.on_link) {
        auto link = parse_link(m);
        if (!link) {
            ++malformed_;
            spdlog::warn("netlink events: {}", link.error().message);
            return;
        }
        guarded("link", [&] {
            handlers_.on_link(LinkEvent{m.type == RTM_DELLINK, std::move(link.value())});
        });
    } else if ((m.type == RTM_NEWADDR || m.type == RTM_DELADDR) && handlers_.on_address) {
        auto address = parse_address(m);
        if (!address) {
            ++malformed_;
            spdlog::warn("netlink events: {}", address.error().message);
            return;
        }
        guarded("address", [&] {
            handlers_.on_address(AddressEvent{m.type == RTM_DELADDR, std::move(address.value())});
        });
    }
}

}  // namespace vigil::common::netlink
