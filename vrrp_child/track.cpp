#include "vrrp_child/track.hpp"

#include <algorithm>

namespace vigil::vrrp {

Tracker::Tracker(const InstanceConfig& config) {
    reconfigure(config);
}

void Tracker::rebuild(std::map<std::string, Entry>& entries, const std::vector<Tracked>& tracked) {
    std::map<std::string, Entry> next;
    for (const auto& t : tracked) {
        auto old = entries.find(t.name);
        next[t.name] = Entry{t.weight, old == entries.end() ? true : old->second.up};
    }
    entries = std::move(next);
}

void Tracker::reconfigure(const InstanceConfig& config) {
    if (config.interface != interface_) interface_up_ = true;
    interface_ = config.interface;
    base_priority_ = config.priority;
    rebuild(interfaces_, config.track_interfaces);
    rebuild(scripts_, config.track_scripts);
    rebuild(virtual_servers_, config.track_virtual_servers);
}

bool Tracker::set(std::map<std::string, Entry>& entries, const std::string& name, bool up) {
    auto it = entries.find(name);
    if (it == entries.end() || it->second.up == up) return false;
    it->second.up = up;
    return true;
}

bool Tracker::set_interface(const std::string& interface, bool up) {
    bool changed = false;
    if (interface == interface_ && interface_up_ != up) {
        interface_up_ = up;
        changed = true;
    }
    return set(interfaces_, interface, up) || changed;
}

bool Tracker::set_script(const std::string& name, bool ok) {
    return set(scripts_, name, ok);
}

bool Tracker::set_virtual_server(const std::string& name, bool up) {
    return set(virtual_servers_, name, up);
}

std::string Tracker::fault_reason() const {
    if (!interface_up_) return "interface " + interface_ + " down";
    auto first_down = [](const std::map<std::string, Entry>& m) -> const std::string* {
        for (const auto& [name, e] : m)
            if (e.weight == 0 && !e.up) return &name;
        return nullptr;
    };
    if (auto* n = first_down(interfaces_)) return "tracked interface " + *n + " down";
    if (auto* n = first_down(scripts_)) return "script " + *n + " failed";
    if (auto* n = first_down(virtual_servers_)) return "virtual server " + *n + " below quorum";
    return {};
}

std::uint8_t Tracker::effective_priority() const {
    if (base_priority_ == kPriorityOwner) return kPriorityOwner;
    int total = base_priority_;
    for (const auto* m : {&interfaces_, &scripts_, &virtual_servers_}) {
        for (const auto& [name, e] : *m) {
            if (e.weight > 0 && e.up) total += e.weight;
            if (e.weight < 0 && !e.up) total += e.weight;
        }
    }
    return static_cast<std::uint8_t>(std::clamp(total, 1, 254));
}

}  // namespace vigil::vrrp
