#pragma once
// Link and address events from rtnetlink multicast groups, delivered on an Asio loop.

#include <cstdint>
#include <functional>
#include <memory>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "common/netlink/message.hpp"
#include "common/netlink/result.hpp"

namespace vigil::common::netlink {

// An interface appeared or changed (RTM_NEWLINK), or went away (RTM_DELLINK).
struct LinkEvent {
    bool removed = false;
    LinkInfo link;
};

// An address was added (RTM_NEWADDR) or removed (RTM_DELADDR).
struct AddressEvent {
    bool removed = false;
    AddressInfo address;
};

// Which groups to join and who hears what. A handler left empty means "not interested".
struct EventHandlers {
    std::function<void(const LinkEvent&)> on_link;        // joins RTMGRP_LINK when set
    std::function<void(const AddressEvent&)> on_address;  // joins RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR
    // The kernel dropped events (the socket buffer overflowed, ENOBUFS): the listener must re-read the state
    // it cares about with a dump.
    std::function<void()> on_overrun;
};

class EventSubscription {
  public:
    // Opens a non-blocking NETLINK_ROUTE socket bound to the groups `handlers` asks for, and starts reading
    // it on `io`. Handlers run on `io`; an exception a handler throws is logged and does not leave the loop.
    static Result<std::unique_ptr<EventSubscription>> open(asio::io_context& io, EventHandlers handlers);

    ~EventSubscription();
    EventSubscription(const EventSubscription&) = delete;
    EventSubscription& operator=(const EventSubscription&) = delete;

    // Messages that could not be parsed and were dropped (a kernel newer than this code, or a bug).
    std::uint64_t malformed() const { return malformed_; }

  private:
    EventSubscription(asio::io_context& io, int fd, EventHandlers handlers);
    void arm();
    void drain();
    void dispatch(const MessageView& message);

    asio::posix::stream_descriptor descriptor_;
    EventHandlers handlers_;
    std::vector<std::uint8_t> buffer_;
    std::uint64_t malformed_ = 0;
    // Lets a completion that was already queued when this object died see that it did.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::common::netlink
