#pragma once
// Tracking for one instance: its own interface, track_interface, track_script and track_virtual_server. Turns
// the latest up/down facts into "in FAULT or not" and an effective priority, with keepalived's weight rules.

#include <cstdint>
#include <map>
#include <string>

#include "vrrp_child/instance_config.hpp"

namespace vigil::vrrp {

class Tracker {
  public:
    // Everything starts up until told otherwise (the runtime reports real link state before or at start()).
    explicit Tracker(const InstanceConfig& config);

    // Follows a reload: keeps the known state of objects still tracked, forgets the others.
    void reconfigure(const InstanceConfig& config);

    // Records the link state of `interface` (the instance's own or a tracked one). True when it mattered.
    bool set_interface(const std::string& interface, bool up);
    // Records the latest result of vrrp_script `name`. True when it mattered.
    bool set_script(const std::string& name, bool ok);
    // Records the quorum state of tracked virtual server `name`. True when it mattered.
    bool set_virtual_server(const std::string& name, bool up);

    // True while the instance must be in FAULT: own interface down or a weight-0 tracked object down.
    bool fault() const { return !fault_reason().empty(); }
    // Why the instance is in FAULT ("interface eth0 down", "script chk_haproxy failed"), or empty.
    std::string fault_reason() const;
    // The base priority moved by the weights (address owner 255 never moves; otherwise clamped to 1..254).
    std::uint8_t effective_priority() const;

  private:
    struct Entry {
        int weight = 0;
        bool up = true;
    };
    static bool set(std::map<std::string, Entry>& entries, const std::string& name, bool up);
    static void rebuild(std::map<std::string, Entry>& entries, const std::vector<Tracked>& tracked);

    std::string interface_;
    bool interface_up_ = true;
    std::uint8_t base_priority_ = 100;
    std::map<std::string, Entry> interfaces_;
    std::map<std::string, Entry> scripts_;
    std::map<std::string, Entry> virtual_servers_;
};

}  // namespace vigil::vrrp
