#include "checker_child/ipvs_table.hpp"

#include <iterator>
#include <sstream>

namespace vigil::check {

void IpvsTable::put_service(const Service& service) {
    auto [it, inserted] = services.try_emplace(service.key, ServiceEntry{service, {}});
    if (!inserted) it->second.service = service;
}

bool IpvsTable::put_dest(const ServiceKey& service, const Dest& dest) {
    auto it = services.find(service);
    if (it == services.end()) return false;
    it->second.dests.insert_or_assign(dest.key, dest);
    return true;
}

std::size_t IpvsTable::dest_count() const {
    std::size_t n = 0;
    for (const auto& [key, entry] : services) n += entry.dests.size();
    return n;
}

void Ownership::add(const IpvsTable& table) {
    // The table is walked in key order, so each insert is hinted at the end of what this walk has added:
    // into empty sets (the usual case: the config's table) every insert is then a constant-time append.
    auto service_hint = services.end();
    auto dest_hint = dests.end();
    for (const auto& [key, entry] : table.services) {
        service_hint = std::next(services.insert(service_hint, key));
        for (const auto& [dest_key, dest] : entry.dests)
            dest_hint = std::next(dests.insert(dest_hint, {key, dest_key}));
    }
}

IpvsTable desired_table(const std::vector<VirtualServerState>& servers) {
    IpvsTable table;
    for (const VirtualServerState& vs : servers) {
        table.put_service(vs.service);
        for (const RealServerState& rs : vs.reals) {
            if (rs.up) {
                table.put_dest(vs.service.key, rs.dest);
            } else if (rs.inhibit_on_failure) {
                Dest inhibited = rs.dest;
                inhibited.weight = 0;
                table.put_dest(vs.service.key, inhibited);
            }
        }
        if (vs.sorry_server && (vs.quorum_lost || vs.sorry_server_inhibit)) {
            Dest sorry = *vs.sorry_server;
            if (!vs.quorum_lost) sorry.weight = 0;
            table.put_dest(vs.service.key, sorry);
        }
    }
    return table;
}

Ownership ownership_of(const std::vector<VirtualServerState>& servers) {
    Ownership owned;
    for (const VirtualServerState& vs : servers) {
        owned.services.insert(vs.service.key);
        for (const RealServerState& rs : vs.reals) owned.dests.insert({vs.service.key, rs.dest.key});
        if (vs.sorry_server) owned.dests.insert({vs.service.key, vs.sorry_server->key});
    }
    return owned;
}

namespace {

IpvsOp service_op(OpKind kind, const Service& service) {
    IpvsOp op;
    op.kind = kind;
    op.service = service;
    return op;
}

IpvsOp dest_op(OpKind kind, const ServiceKey& service, const Dest& dest) {
    IpvsOp op;
    op.kind = kind;
    op.service.key = service;
    op.dest = dest;
    return op;
}

// Deletions: owned entries the kernel has and vigil no longer wants.
void deletions(const IpvsTable& desired, const IpvsTable& current, const Ownership& owned,
               std::vector<IpvsOp>& ops) {
    std::vector<IpvsOp> service_deletes;
    for (const auto& [key, entry] : current.services) {
        auto wanted = desired.services.find(key);
        if (wanted == desired.services.end()) {
            if (owned.owns(key)) service_deletes.push_back(service_op(OpKind::kDelService, entry.service));
            continue;
        }
        for (const auto& [dest_key, dest] : entry.dests) {
            if (wanted->second.dests.count(dest_key) == 0 && owned.owns(key, dest_key))
                ops.push_back(dest_op(OpKind::kDelDest, key, dest));
        }
    }
    ops.insert(ops.end(), std::make_move_iterator(service_deletes.begin()),
               std::make_move_iterator(service_deletes.end()));
}

}  // namespace

std::vector<IpvsOp> reconcile(const IpvsTable& desired, const IpvsTable& current, const Ownership& owned,
                              const ReconcileOptions& options) {
    std::vector<IpvsOp> ops;
    static const IpvsTable kEmpty;
    const IpvsTable* now = &current;
    if (options.flush) {
        ops.push_back(IpvsOp{});  // kFlush
        now = &kEmpty;
    } else {
        deletions(desired, current, owned, ops);
    }
    // From an empty table (a cold start, a flush) every service and destination is new: sized for that up
    // front, since at 1,000 x 10 the ops are about 2 MB and growing them step by step copies that and faults
    // fresh pages in again at each step. Against a full table the few changes of a reload or a health
    // change grow them as they come.
    if (now->services.empty()) ops.reserve(ops.size() + desired.services.size() + desired.dest_count());
    // Services first (a destination needs its service), then destinations, each written in place: the
    // kernel's entry of each desired service is looked up once, in the first pass.
    std::vector<const ServiceEntry*> have;
    have.reserve(desired.services.size());
    for (const auto& [key, entry] : desired.services) {
        auto it = now->services.find(key);
        have.push_back(it == now->services.end() ? nullptr : &it->second);
        if (!have.back())
            ops.push_back(service_op(OpKind::kNewService, entry.service));
        else if (!entry.service.same_attributes(have.back()->service))
            ops.push_back(service_op(OpKind::kSetService, entry.service));
    }
    auto kernel = have.begin();
    for (const auto& [key, entry] : desired.services) {
        const ServiceEntry* in_kernel = *kernel++;
        for (const auto& [dest_key, dest] : entry.dests) {
            if (!in_kernel) {
                ops.push_back(dest_op(OpKind::kNewDest, key, dest));
                continue;
            }
            auto old = in_kernel->dests.find(dest_key);
            if (old == in_kernel->dests.end())
                ops.push_back(dest_op(OpKind::kNewDest, key, dest));
            else if (!dest.same_attributes(old->second))
                ops.push_back(dest_op(OpKind::kSetDest, key, dest));
        }
    }
    return ops;
}

void apply_ops(IpvsTable& table, const std::vector<IpvsOp>& ops) {
    for (const IpvsOp& op : ops) {
        switch (op.kind) {
            case OpKind::kFlush:
                table.services.clear();
                break;
            case OpKind::kNewService:
            case OpKind::kSetService:
                table.put_service(op.service);
                break;
            case OpKind::kDelService:
                table.services.erase(op.service.key);
                break;
            case OpKind::kNewDest:
            case OpKind::kSetDest:
                table.put_dest(op.service.key, op.dest);
                break;
            case OpKind::kDelDest: {
                auto it = table.services.find(op.service.key);
                if (it != table.services.end()) it->second.dests.erase(op.dest.key);
                break;
            }
        }
    }
}

namespace {

const char* kind_name(OpKind kind) {
    switch (kind) {
        case OpKind::kFlush:
            return "FLUSH";
        case OpKind::kNewService:
            return "NEW_SERVICE";
        case OpKind::kSetService:
            return "SET_SERVICE";
        case OpKind::kDelService:
            return "DEL_SERVICE";
        case OpKind::kNewDest:
            return "NEW_DEST";
        case OpKind::kSetDest:
            return "SET_DEST";
        case OpKind::kDelDest:
            return "DEL_DEST";
    }
    return "?";
}

const char* forward_name(Forward forward) {
    switch (forward) {
        case Forward::kMasq:
            return "Masq";
        case Forward::kLocal:
            return "Local";
        case Forward::kTunnel:
            return "Tunnel";
        case Forward::kDirect:
            return "Route";
        case Forward::kBypass:
            return "Bypass";
    }
    return "?";
}

}  // namespace

std::string to_string(const IpvsOp& op) {
    std::string s = kind_name(op.kind);
    switch (op.kind) {
        case OpKind::kFlush:
            return s;
        case OpKind::kNewService:
        case OpKind::kSetService:
            return s + " " + to_string(op.service.key) + " " + op.service.scheduler;
        case OpKind::kDelService:
            return s + " " + to_string(op.service.key);
        case OpKind::kNewDest:
        case OpKind::kSetDest:
            return s + " " + to_string(op.service.key) + " -> " + to_string(op.dest.key) + " weight " +
                   std::to_string(op.dest.weight);
        case OpKind::kDelDest:
            return s + " " + to_string(op.service.key) + " -> " + to_string(op.dest.key);
    }
    return s;
}

std::string to_ipvsadm_text(const IpvsTable& table) {
    std::ostringstream out;
    for (const auto& [key, entry] : table.services) {
        const Service& s = entry.service;
        out << to_string(key) << " " << s.scheduler;
        if ((s.flags & kSvcFlagPersistent) != 0) out << " persistent " << s.timeout;
        if ((s.flags & kSvcFlagOnePacket) != 0) out << " ops";
        if (!s.pe_name.empty()) out << " pe " << s.pe_name;
        out << "\n";
        for (const auto& [dest_key, dest] : entry.dests)
            out << "  -> " << to_string(dest_key) << " " << forward_name(dest.forward) << " " << dest.weight
                << "\n";
    }
    return out.str();
}

}  // namespace vigil::check
