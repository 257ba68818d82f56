#include "vrrp_child/core.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace vigil::vrrp {
namespace {

void append(Actions& out, Actions more) {
    out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

}  // namespace

Core::Core(std::vector<InstanceConfig> instances, std::vector<SyncGroupConfig> groups)
    : groups_(std::move(groups)) {
    for (auto& c : instances) {
        auto name = c.name;
        instances_[name] = std::make_unique<Instance>(std::move(c));
    }
    mark_members();
}

void Core::mark_members() {
    for (auto& [name, inst] : instances_) inst->set_sync_member(group_of(name) != nullptr);
}

const Instance* Core::find(const std::string& name) const {
    auto it = instances_.find(name);
    return it == instances_.end() ? nullptr : it->second.get();
}

Instance* Core::find(const std::string& name) {
    auto it = instances_.find(name);
    return it == instances_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Core::names() const {
    std::vector<std::string> out;
    for (const auto& [name, _] : instances_) out.push_back(name);
    return out;
}

std::optional<TimePoint> Core::next_deadline() const {
    std::optional<TimePoint> best;
    for (const auto& [_, inst] : instances_)
        if (auto d = inst->next_deadline(); d && (!best || *d < *best)) best = d;
    return best;
}

const SyncGroupConfig* Core::group_of(const std::string& instance) const {
    for (const auto& g : groups_)
        if (std::find(g.members.begin(), g.members.end(), instance) != g.members.end()) return &g;
    return nullptr;
}

void Core::follow_group(const Instance& origin, const Actions& actions, TimePoint now, Actions& out) {
    const auto* group = group_of(origin.config().name);
    if (!group) return;
    for (const auto& a : actions) {
        const auto* t = std::get_if<Transition>(&a);
        if (!t) continue;
        const bool to_master = t->to == State::kMaster;
        const bool to_backup = t->from == State::kMaster && t->to == State::kBackup;
        if (!to_master && !to_backup) continue;
        const std::string reason =
            "sync group " + group->name + ": " + t->instance + " became " + std::string(to_string(t->to));
        for (const auto& member : group->members) {
            if (member == t->instance) continue;
            Instance* other = find(member);
            if (!other) continue;
            append(out, to_master ? other->group_master(reason, now) : other->group_backup(reason, now));
        }
    }
}

void Core::apply_group_holds(TimePoint now, Actions& out) {
    for (const auto& g : groups_) {
        for (const auto& member : g.members) {
            Instance* inst = find(member);
            if (!inst) continue;
            std::string culprit;
            for (const auto& other : g.members) {
                const Instance* o = find(other);
                if (other != member && o && o->own_fault() && o->state() != State::kInitialize)
                    culprit = other;
            }
            append(out, inst->group_hold(!culprit.empty(),
                                         "sync group " + g.name + ": " + culprit + " in FAULT", now));
        }
    }
}

// keepalived's rule: a group goes MASTER only when every member wants to (each one's Master_Down_Timer ran
// out since its last accepted advert, or it is MASTER already), so one member cannot drag the group into
// thrashing.
void Core::promote_groups(TimePoint now, Actions& out) {
    for (const auto& g : groups_) {
        bool all_want = true, any_backup = false;
        for (const auto& member : g.members) {
            const Instance* inst = find(member);
            if (!inst) continue;
            all_want = all_want && inst->wants_master();
            any_backup = any_backup || inst->state() == State::kBackup;
        }
        if (!all_want || !any_backup) continue;
        for (const auto& member : g.members)
            if (Instance* inst = find(member))
                append(out, inst->group_master("sync group " + g.name + ": master down timers expired", now));
    }
}

Actions Core::run(Instance& instance, Actions actions, TimePoint now) {
    Actions out = std::move(actions);
    run_groups(instance, 0, now, out);
    return out;
}

void Core::run_groups(Instance& instance, std::size_t first, TimePoint now, Actions& out) {
    if (groups_.empty()) return;
    // follow_group reads the instance's own transitions (those from `first` on) while it appends the
    // members' actions to `out`: it gets a copy of those transitions only (an idle master's poll has none).
    if (group_of(instance.config().name)) {
        Actions own;
        for (std::size_t i = first; i < out.size(); ++i)
            if (std::holds_alternative<Transition>(out[i])) own.push_back(out[i]);
        if (!own.empty()) follow_group(instance, own, now, out);
    }
    apply_group_holds(now, out);
    promote_groups(now, out);
}

Actions Core::for_all(const std::function<Actions(Instance&)>& fn, TimePoint now) {
    Actions out;
    for (auto& [_, inst] : instances_) append(out, run(*inst, fn(*inst), now));
    return out;
}

Actions Core::start(TimePoint now) {
    Actions out;
    apply_group_holds(now, out);
    append(out, for_all([now](Instance& i) { return i.start(now); }, now));
    return out;
}

Actions Core::resume(const std::map<std::string, State>& remembered, TimePoint now) {
    Actions out;
    apply_group_holds(now, out);
    append(out, for_all(
                    [&](Instance& i) {
                        auto it = remembered.find(i.config().name);
                        return it == remembered.end() ? i.start(now) : i.resume(it->second, now);
                    },
                    now));
    return out;
}

Actions Core::receive(const std::string& interface, const IpFacts& facts, std::span<const std::uint8_t> bytes,
                      TimePoint now, ReceiveResult* result) {
    ReceiveResult local;
    ReceiveResult& r = result ? *result : local;
    r = ReceiveResult{};
    Instance* target = nullptr;
    if (bytes.size() >= 2) {
        for (auto& [_, inst] : instances_) {
            const auto& c = inst->config();
            if (c.interface == interface && c.family == facts.family && c.vrid == bytes[1])
                target = inst.get();
        }
    }
    const Parsed parsed =
        parse(facts, bytes, target ? target->config().checksum_mode : ChecksumMode::kPseudoHeader);
    if (!parsed) {
        r.reason = parsed.reason;
        spdlog::debug("VRRP packet from {} on {} dropped: {}", facts.source.to_string(), interface,
                      to_string(parsed.reason));
        return {};
    }
    if (!target) {
        r.reason = Reason::kVridNotOurs;
        return {};
    }
    r.instance = target->config().name;
    return run(*target, target->receive(*parsed.advert, facts, now), now);
}

Actions Core::poll(TimePoint now) {
    Actions out;
    poll(now, out);
    return out;
}

void Core::poll(TimePoint now, Actions& out) {
    for (auto& [_, inst] : instances_) {
        const std::size_t first = out.size();
        inst->poll(now, out);
        run_groups(*inst, first, now, out);
    }
}

Actions Core::expire(const std::string& instance, TimerId timer, TimePoint now) {
    Instance* inst = find(instance);
    if (!inst) return {};
    return run(*inst, inst->expire(timer, now), now);
}

Actions Core::set_link(const std::string& interface, bool up, TimePoint now) {
    return for_all([&](Instance& i) { return i.set_link(interface, up, now); }, now);
}

Actions Core::set_script(const std::string& script, bool ok, TimePoint now) {
    return for_all([&](Instance& i) { return i.set_script(script, ok, now); }, now);
}

Actions Core::set_virtual_server(const std::string& name, bool up, TimePoint now) {
    return for_all([&](Instance& i) { return i.set_virtual_server(name, up, now); }, now);
}

Actions Core::shutdown(TimePoint now) {
    Actions out;
    for (auto& [_, inst] : instances_) append(out, inst->shutdown(now));
    return out;
}

Actions Core::reload(std::vector<InstanceConfig> instances, std::vector<SyncGroupConfig> groups,
                     TimePoint now) {
    Actions out;
    // Removed instances, and those whose identity changed, stop first (priority 0, addresses released).
    for (auto it = instances_.begin(); it != instances_.end();) {
        auto next = std::find_if(instances.begin(), instances.end(),
                                 [&](const InstanceConfig& c) { return c.name == it->first; });
        if (next == instances.end() || !same_identity(it->second->config(), *next)) {
            spdlog::info("[{}] {} by reload", it->first, next == instances.end() ? "removed" : "replaced");
            append(out, it->second->shutdown(now));
            it = instances_.erase(it);
        } else {
            ++it;
        }
    }
    groups_ = std::move(groups);
    mark_members();
    for (auto& c : instances) {
        if (Instance* inst = find(c.name)) {
            append(out, run(*inst, inst->reconfigure(std::move(c), now), now));
            continue;
        }
        auto name = c.name;
        auto& inst = instances_[name] = std::make_unique<Instance>(std::move(c));
        inst->set_sync_member(group_of(name) != nullptr);
        apply_group_holds(now, out);
        append(out, run(*inst, inst->start(now), now));
    }
    apply_group_holds(now, out);
    return out;
}

}  // namespace vigil::vrrp
