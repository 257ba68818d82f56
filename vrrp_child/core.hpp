#pragma once
// All VRRP instances of one vigil-vrrp process and their sync groups, sans IO: the one entry point the
// runtime drives. It routes packets to instances by interface, family and VRID, moves sync group members
// together, and applies reloads (unchanged instances keep their state, changed ones are updated, removed ones
// stop).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vrrp_child/actions.hpp"
#include "vrrp_child/state_machine.hpp"

namespace vigil::vrrp {

// vrrp_sync_group NAME { group { ... } }.
struct SyncGroupConfig {
    std::string name;
    std::vector<std::string> members;
    bool operator==(const SyncGroupConfig&) const = default;
};

// Why Core::receive() dropped a packet before any instance saw it, or kNone when an instance handled it (the
// instance may still have rejected it: see its stats).
struct ReceiveResult {
    Reason reason = Reason::kNone;
    std::string instance;  // the instance it was routed to, if any
};

class Core {
  public:
    // Configures the instances and groups (no instance runs until start()).
    Core(std::vector<InstanceConfig> instances, std::vector<SyncGroupConfig> groups);

    // Starts every instance (RFC 5798 Initialize).
    Actions start(TimePoint now);
    // Starts every instance from the states the parent remembered (by instance name); instances without a
    // remembered state start normally.
    Actions resume(const std::map<std::string, State>& remembered, TimePoint now);
    // A VRRP packet received on `interface`: parsed, routed by VRID, validated and handled.
    Actions receive(const std::string& interface, const IpFacts& facts, std::span<const std::uint8_t> bytes,
                    TimePoint now, ReceiveResult* result = nullptr);
    // Fires every timer due at `now` in every instance.
    Actions poll(TimePoint now);
    // The same, appending to `out`, which the caller may keep from one call to the next.
    void poll(TimePoint now, Actions& out);
    // One timer of one instance expired.
    Actions expire(const std::string& instance, TimerId timer, TimePoint now);
    // Link state of an interface, for every instance that uses or tracks it.
    Actions set_link(const std::string& interface, bool up, TimePoint now);
    // Result of a vrrp_script, for every instance tracking it.
    Actions set_script(const std::string& script, bool ok, TimePoint now);
    // Quorum of a virtual server, for every instance tracking it.
    Actions set_virtual_server(const std::string& name, bool up, TimePoint now);
    // Orderly stop of every instance.
    Actions shutdown(TimePoint now);
    // Applies a new configuration (after the parent's Commit).
    Actions reload(std::vector<InstanceConfig> instances, std::vector<SyncGroupConfig> groups, TimePoint now);

    // The instance called `name`, or nullptr.
    const Instance* find(const std::string& name) const;
    // Mutable access for the runtime (e.g. set_primary_address), or nullptr.
    Instance* find(const std::string& name);
    // Instance names, sorted.
    std::vector<std::string> names() const;
    // The earliest timer deadline of all instances.
    std::optional<TimePoint> next_deadline() const;

  private:
    Actions run(Instance& instance, Actions actions, TimePoint now);
    // What sync groups do after `instance` produced out[first..]: members follow its transitions, holds
    // and promotions are applied.
    void run_groups(Instance& instance, std::size_t first, TimePoint now, Actions& out);
    void follow_group(const Instance& origin, const Actions& actions, TimePoint now, Actions& out);
    void apply_group_holds(TimePoint now, Actions& out);
    void promote_groups(TimePoint now, Actions& out);
    void mark_members();
    const SyncGroupConfig* group_of(const std::string& instance) const;
    Actions for_all(const std::function<Actions(Instance&)>& fn, TimePoint now);

    std::map<std::string, std::unique_ptr<Instance>> instances_;
    std::vector<SyncGroupConfig> groups_;
};

}  // namespace vigil::vrrp
