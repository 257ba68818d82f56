#include "vrrp_child/link_monitor.hpp"

#include <set>

#include <spdlog/spdlog.h>

namespace vigil::vrrp {

using common::netlink::Client;
using common::netlink::EventHandlers;
using common::netlink::EventSubscription;
using common::netlink::LinkEvent;
using common::netlink::Result;
using common::netlink::Status;

std::string_view to_string(LinkState state) {
    switch (state) {
        case LinkState::kUp:
            return "up";
        case LinkState::kDown:
            return "down";
        case LinkState::kRemoved:
            return "removed";
    }
    return "?";
}

LinkMonitor::LinkMonitor(Client& netlink, Handler on_change)
    : netlink_(netlink), on_change_(std::move(on_change)) {}

Result<std::unique_ptr<LinkMonitor>> LinkMonitor::open(asio::io_context& io, Client& netlink,
                                                       Handler on_change) {
    std::unique_ptr<LinkMonitor> monitor(new LinkMonitor(netlink, std::move(on_change)));
    LinkMonitor* self = monitor.get();
    EventHandlers handlers;
    handlers.on_link = [self](const LinkEvent& e) {
        self->update(e.link.ifindex, e.link.name,
                     e.removed ? LinkState::kRemoved : (e.link.usable() ? LinkState::kUp : LinkState::kDown),
                     e.link.mac);
    };
    handlers.on_overrun = [self] {
        if (Status s = self->resync(); !s)
            spdlog::error("link monitor: resync failed: {}", s.error().message);
    };
    auto events = EventSubscription::open(io, std::move(handlers));
    if (!events) return events.error();
    monitor->events_ = std::move(events.value());
    // The first dump only records; nobody has asked about changes yet.
    Handler quiet;
    std::swap(quiet, monitor->on_change_);
    Status s = monitor->resync();
    std::swap(quiet, monitor->on_change_);
    if (!s) return s.error();
    return monitor;
}

Status LinkMonitor::resync() {
    auto links = netlink_.links();
    if (!links) return links.error();
    std::set<int> seen;
    for (const auto& link : links.value()) {
        seen.insert(link.ifindex);
        update(link.ifindex, link.name, link.usable() ? LinkState::kUp : LinkState::kDown, link.mac);
    }
    std::vector<std::pair<int, std::string>> gone;
    for (const auto& [index, known] : links_) {
        if (!seen.contains(index)) gone.emplace_back(index, known.name);
    }
    for (const auto& [index, name] : gone) update(index, name, LinkState::kRemoved, std::nullopt);
    return common::netlink::success();
}

void LinkMonitor::update(int ifindex, const std::string& name, LinkState state,
                         const std::optional<common::netlink::MacAddress>& mac) {
    auto it = links_.find(ifindex);
    const bool first_seen = it == links_.end() && state != LinkState::kRemoved;
    if (state == LinkState::kRemoved) {
        if (it == links_.end()) return;
        links_.erase(it);
    } else if (it == links_.end()) {
        links_.emplace(ifindex, Known{name, state, mac});
    } else if (it->second.state == state) {
        it->second.name = name;  // a rename or a new MAC is not a change of state
        if (mac) it->second.mac = mac;
        return;
    } else {
        it->second = Known{name, state, mac ? mac : it->second.mac};
    }
    spdlog::debug("[{}] link {}{}", name, to_string(state), first_seen ? " (first seen)" : "");
    if (on_change_) on_change_(LinkChange{ifindex, name, state, first_seen});
}

std::optional<LinkState> LinkMonitor::state(int ifindex) const {
    auto it = links_.find(ifindex);
    if (it == links_.end()) return std::nullopt;
    return it->second.state;
}

std::optional<LinkState> LinkMonitor::state(std::string_view name) const {
    auto index = ifindex(name);
    if (!index) return std::nullopt;
    return state(*index);
}

std::optional<common::netlink::MacAddress> LinkMonitor::mac(int ifindex) const {
    auto it = links_.find(ifindex);
    if (it == links_.end()) return std::nullopt;
    return it->second.mac;
}

std::optional<int> LinkMonitor::ifindex(std::string_view name) const {
    for (const auto& [index, known] : links_) {
        if (known.name == name) return index;
    }
    return std::nullopt;
}

}  // namespace vigil::vrrp
