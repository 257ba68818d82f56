#pragma once
// The IPVS table as plain data, and the sans-IO reconciler: what vigil wants (its config and the health of
// each real server) against what the kernel holds, giving the few operations that make the kernel right. It
// touches only what vigil's config owns, so a restarted checker whose kernel table is already right issues
// nothing.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "checker_child/ipvs_types.hpp"

namespace vigil::check {

// One virtual service and its destinations.
struct ServiceEntry {
    Service service;
    std::map<DestKey, Dest> dests;
};

// A whole table: the kernel's as read back, or the one vigil wants.
struct IpvsTable {
    std::map<ServiceKey, ServiceEntry> services;

    // Adds or replaces a service (keeping its destinations when it is already there).
    void put_service(const Service& service);
    // Adds or replaces a destination; false when its service is not in the table.
    bool put_dest(const ServiceKey& service, const Dest& dest);
    // The number of destinations over all services.
    std::size_t dest_count() const;
};

// What vigil's config names: the only services and destinations the reconciler may delete. A real server that
// is down and removed is still owned, so it is not in the desired table but is deleted if the kernel has it.
struct Ownership {
    std::set<ServiceKey> services;
    std::set<std::pair<ServiceKey, DestKey>> dests;

    // Everything in `table` (typically the table of the config with every real server up).
    void add(const IpvsTable& table);
    bool owns(const ServiceKey& service) const { return services.count(service) != 0; }
    bool owns(const ServiceKey& service, const DestKey& dest) const {
        return dests.count({service, dest}) != 0;
    }
};

// One real server as the check engine sees it: its configured destination and its health.
struct RealServerState {
    Dest dest;  // with the configured (or misc_dynamic) weight
    bool up = true;
    bool inhibit_on_failure = false;  // when down: kept with weight 0 instead of removed
};

// One virtual_server as the check engine sees it.
struct VirtualServerState {
    Service service;
    std::vector<RealServerState> reals;
    std::optional<Dest> sorry_server;
    bool sorry_server_inhibit = false;  // the sorry server stays in the table with weight 0 while unused
    bool quorum_lost = false;           // the sorry server takes the traffic
};

// The table vigil wants from its virtual servers and their health: a healthy real server with its weight, a
// failed one removed (or weight 0 under inhibit_on_failure), the sorry server while quorum is lost.
IpvsTable desired_table(const std::vector<VirtualServerState>& servers);

// Everything the virtual servers name, healthy or not: what reconcile() may delete.
Ownership ownership_of(const std::vector<VirtualServerState>& servers);

enum class OpKind { kFlush, kNewService, kSetService, kDelService, kNewDest, kSetDest, kDelDest };

// One change to the kernel's table.
struct IpvsOp {
    OpKind kind = OpKind::kFlush;
    Service service;  // for destination operations, only the key of the service they belong to is set
    Dest dest;        // for destination operations
};

struct ReconcileOptions {
    // lvs_flush: start from an empty table (only on the first reconcile after start, never on a restart).
    bool flush = false;
};

// The operations that turn `current` into `desired` without touching what vigil does not own: first deletions
// (destinations, then services), then additions and corrections of services, then of destinations. A service
// being deleted takes its destinations with it, so they get no operation of their own.
std::vector<IpvsOp> reconcile(const IpvsTable& desired, const IpvsTable& current, const Ownership& owned,
                              const ReconcileOptions& options = {});

// Applies `ops` to `table` as the kernel would (for tests and for keeping a model in step).
void apply_ops(IpvsTable& table, const std::vector<IpvsOp>& ops);

// "NEW_DEST TCP 10.0.0.1:80 -> 10.0.1.2:80 weight 1": how logs name an operation.
std::string to_string(const IpvsOp& op);

// The table as ipvsadm -Ln shows it, sorted: for tests and for `vigilctl`.
std::string to_ipvsadm_text(const IpvsTable& table);

}  // namespace vigil::check
