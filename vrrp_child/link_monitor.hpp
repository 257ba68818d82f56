#pragma once
// Link state per interface from rtnetlink events (RTMGRP_LINK), never by polling.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <asio/io_context.hpp>

#include "common/netlink/client.hpp"
#include "common/netlink/events.hpp"
#include "common/netlink/result.hpp"

namespace vigil::vrrp {

enum class LinkState : std::uint8_t {
    kUp,       // administratively up with carrier (IFF_UP and IFF_RUNNING)
    kDown,     // present but not usable
    kRemoved,  // gone (deleted, or moved to another namespace)
};

// "up", "down", "removed".
std::string_view to_string(LinkState state);

struct LinkChange {
    int ifindex = 0;
    std::string name;
    LinkState state = LinkState::kDown;
    bool first_seen =
        false;  // a link that appeared after start (those of the start-up dump are not reported)
};

class LinkMonitor {
  public:
    using Handler = std::function<void(const LinkChange&)>;

    // Subscribes to link events on `io`, then reads every interface's current state (in that order, so no
    // change between the two is lost). `on_change` hears each later change of state, once per change; the
    // state at start is read with state(). `netlink` must outlive the monitor.
    static common::netlink::Result<std::unique_ptr<LinkMonitor>> open(asio::io_context& io,
                                                                      common::netlink::Client& netlink,
                                                                      Handler on_change);

    // The current state of `ifindex`: kUp or kDown, or nullopt when no such interface is known.
    std::optional<LinkState> state(int ifindex) const;
    // The current state of the interface called `name`, or nullopt.
    std::optional<LinkState> state(std::string_view name) const;
    // The index of the interface called `name`, or nullopt.
    std::optional<int> ifindex(std::string_view name) const;
    // The Ethernet address of `ifindex` as the kernel last reported it (kept current by link events), or
    // nullopt.
    std::optional<common::netlink::MacAddress> mac(int ifindex) const;

  private:
    struct Known {
        std::string name;
        LinkState state = LinkState::kDown;
        std::optional<common::netlink::MacAddress> mac;
    };

    LinkMonitor(common::netlink::Client& netlink, Handler on_change);
    common::netlink::Status resync();
    void update(int ifindex, const std::string& name, LinkState state,
                const std::optional<common::netlink::MacAddress>& mac);

    common::netlink::Client& netlink_;
    Handler on_change_;
    std::map<int, Known> links_;
    std::unique_ptr<common::netlink::EventSubscription> events_;
};

}  // namespace vigil::vrrp
