#pragma once
// A small simulator for the VRRP core: several nodes, each a vrrp::Core, joined by a virtual wire, in virtual
// time. Adverts really go through encode() and Core::receive(), so the codec is exercised on every hop.

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "vrrp_child/core.hpp"

namespace vigil::vrrp::sim {

using namespace std::chrono_literals;

struct TransitionRecord {
    std::string node;
    std::string instance;
    State from;
    State to;
    TimePoint at;
};

struct SentAdvert {
    std::string node;
    std::string instance;
    std::uint8_t priority;
    TimePoint at;
};

struct Node {
    std::string name;
    IpAddr address;
    std::unique_ptr<Core> core;
    bool link_up = true;
    bool running = false;
    std::set<std::string> addresses;  // VIPs currently on this node ("10.0.0.100/24")
    std::vector<std::pair<TimePoint, Action>> log;
    unsigned gratuitous = 0;  // GARP/NA messages sent
    std::vector<Notify> notifications;
};

class Wire {
  public:
    TimePoint now{};
    Duration latency = Duration(0);
    std::vector<TransitionRecord> transitions;
    std::vector<SentAdvert> adverts;

    // Adds a node with address `address` on interface eth0 running `instances`.
    Node& add(const std::string& name, const std::string& address, std::vector<InstanceConfig> instances,
              std::vector<SyncGroupConfig> groups = {}) {
        auto n = std::make_unique<Node>();
        n->name = name;
        n->address = *IpAddr::parse(address);
        n->core = std::make_unique<Core>(std::move(instances), std::move(groups));
        for (const auto& i : n->core->names()) n->core->find(i)->set_primary_address(n->address);
        nodes_.push_back(std::move(n));
        return *nodes_.back();
    }

    Node& node(const std::string& name) {
        for (auto& n : nodes_)
            if (n->name == name) return *n;
        throw std::runtime_error("no node " + name);
    }

    void start(const std::string& name) {
        Node& n = node(name);
        n.running = true;
        apply(n, n.core->start(now));
    }

    void start_all() {
        for (auto& n : nodes_) start(n->name);
    }

    // The process dies without a word (SIGKILL): nothing sent, addresses stay (like a crashed vigil-vrrp).
    void kill(const std::string& name) { node(name).running = false; }

    // Replaces a node's core by a fresh one resumed from `remembered` (what the parent kept).
    void restart(const std::string& name, std::vector<InstanceConfig> instances,
                 const std::map<std::string, State>& remembered, std::vector<SyncGroupConfig> groups = {}) {
        Node& n = node(name);
        n.core = std::make_unique<Core>(std::move(instances), std::move(groups));
        for (const auto& i : n.core->names()) n.core->find(i)->set_primary_address(n.address);
        n.running = true;
        apply(n, n.core->resume(remembered, now));
    }

    void feed(const std::string& name, Actions actions) { apply(node(name), std::move(actions)); }

    // Blocks (or unblocks) delivery between two nodes in both directions (an nftables drop rule).
    void block(const std::string& a, const std::string& b, bool blocked = true) {
        if (blocked)
            blocked_.insert({a, b}), blocked_.insert({b, a});
        else
            blocked_.erase({a, b}), blocked_.erase({b, a});
    }

    // Runs the world until `until`, processing packets and timers in time order.
    void run_until(TimePoint until) {
        while (true) {
            std::optional<TimePoint> next;
            for (auto& n : nodes_)
                if (n->running)
                    if (auto d = n->core->next_deadline(); d && (!next || *d < *next)) next = d;
            if (!queue_.empty() && (!next || queue_.front().at <= *next)) next = queue_.front().at;
            if (!next || *next > until) break;
            now = std::max(now, *next);
            if (!queue_.empty() && queue_.front().at <= now) {
                auto p = queue_.front();
                queue_.erase(queue_.begin());
                deliver(p);
                continue;
            }
            for (auto& n : nodes_)
                if (n->running) apply(*n, n->core->poll(now));
        }
        now = std::max(now, until);
    }

    void run_for(Duration d) { run_until(now + d); }

    // The nodes whose `instance` is MASTER.
    std::vector<std::string> masters(const std::string& instance) {
        std::vector<std::string> out;
        for (auto& n : nodes_)
            if (n->running && n->core->find(instance) && n->core->find(instance)->state() == State::kMaster)
                out.push_back(n->name);
        return out;
    }

    State state(const std::string& node_name, const std::string& instance) {
        return node(node_name).core->find(instance)->state();
    }

    // Transitions into `to` recorded so far for node/instance.
    std::vector<TransitionRecord> transitions_to(const std::string& node_name, State to) const {
        std::vector<TransitionRecord> out;
        for (const auto& t : transitions)
            if (t.node == node_name && t.to == to) out.push_back(t);
        return out;
    }

  private:
    struct Packet {
        TimePoint at;
        std::string from;
        std::string to;
        IpFacts facts;
        std::vector<std::uint8_t> bytes;
    };

    void apply(Node& n, Actions actions) {
        for (auto& a : actions) {
            n.log.emplace_back(now, a);
            std::visit([&](auto& x) { handle(n, x); }, a);
        }
    }

    static std::string key(const VirtualAddress& v) {
        return v.address.to_string() + "/" + std::to_string(v.prefix_len);
    }

    void handle(Node& n, const SendAdvert& a) {
        adverts.push_back({n.name, a.instance, a.advert.priority, now});
        const IpAddr source = a.source ? *a.source : n.address;
        for (auto& other : nodes_) {
            if (other.get() == &n) continue;
            const bool unicast = !a.destinations.empty();
            if (unicast && std::find(a.destinations.begin(), a.destinations.end(), other->address) ==
                               a.destinations.end())
                continue;
            const IpAddr dst = unicast
                                   ? other->address
                                   : (a.advert.family == Family::kIpv4 ? vrrp_group_v4() : vrrp_group_v6());
            IpFacts facts{a.advert.family, source, dst, kVrrpTtl, !unicast};
            queue_.push_back(
                {now + latency, n.name, other->name, facts, encode(a.advert, source, dst, a.checksum_mode)});
        }
        std::stable_sort(queue_.begin(), queue_.end(),
                         [](const Packet& x, const Packet& y) { return x.at < y.at; });
    }
    void handle(Node& n, const AddAddresses& a) {
        for (const auto& v : a.addresses) n.addresses.insert(key(v));
    }
    void handle(Node& n, const RemoveAddresses& a) {
        for (const auto& v : a.addresses) n.addresses.erase(key(v));
    }
    void handle(Node& n, const SendGratuitous& a) { n.gratuitous += a.repeat; }
    void handle(Node& n, const Notify& a) { n.notifications.push_back(a); }
    void handle(Node&, const ArmTimer&) {}
    void handle(Node&, const CancelTimer&) {}
    void handle(Node& n, const Transition& t) {
        transitions.push_back({n.name, t.instance, t.from, t.to, now});
    }

    void deliver(const Packet& p) {
        Node& from = node(p.from);
        Node& to = node(p.to);
        if (!from.link_up || !to.link_up || !to.running || blocked_.count({p.from, p.to})) return;
        apply(to, to.core->receive("eth0", p.facts, p.bytes, now));
    }

    std::vector<std::unique_ptr<Node>> nodes_;
    std::vector<Packet> queue_;
    std::set<std::pair<std::string, std::string>> blocked_;
};

// A VRRPv3 IPv4 instance VI_1 on eth0, VRID 51, VIP 10.0.0.100/24, advert_int 1 s.
inline InstanceConfig v3_instance(std::uint8_t priority, std::string name = "VI_1") {
    InstanceConfig c;
    c.name = std::move(name);
    c.interface = "eth0";
    c.vrid = 51;
    c.version = 3;
    c.priority = priority;
    c.advert_int = std::chrono::milliseconds(1000);
    c.vips = {VirtualAddress{*IpAddr::parse("10.0.0.100"), 24, "", ""}};
    return c;
}

// The same as VRRPv2 with PASS authentication.
inline InstanceConfig v2_instance(std::uint8_t priority, std::string name = "VI_1") {
    InstanceConfig c = v3_instance(priority, std::move(name));
    c.version = 2;
    c.auth = AuthConfig{AuthType::kPass, "secret"};
    return c;
}

}  // namespace vigil::vrrp::sim
