#include "parent/state_store.hpp"

#include <set>

namespace vigil::parent {

namespace {

std::string host_port(const std::string& address, std::uint32_t port) {
    const bool v6 = address.find(':') != std::string::npos;
    return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

void apply_health(vigil::ipc::Status& status, const vigil::ipc::Health& h) {
    for (auto& vs : *status.mutable_virtual_servers()) {
        if (virtual_server_key(vs) != h.virtual_server()) continue;
        for (auto& rs : *vs.mutable_real_servers()) {
            if (real_server_key(rs) != h.real_server()) continue;
            rs.set_healthy(h.up());
            rs.set_weight(h.weight());
            if (!h.reason().empty()) rs.set_reason(h.reason());
        }
    }
}

}  // namespace

std::string virtual_server_key(const vigil::status::VirtualServerStatus& vs) {
    if (vs.address().empty()) return "fwmark " + std::to_string(vs.fwmark());
    return host_port(vs.address(), vs.port()) + " " + (vs.protocol().empty() ? "TCP" : vs.protocol());
}

std::string real_server_key(const vigil::status::RealServerStatus& rs) {
    return host_port(rs.address(), rs.port());
}

void StateStore::on_vrrp_status(const vigil::ipc::Status& status) {
    vrrp_ = status;
}

void StateStore::on_checker_status(const vigil::ipc::Status& status) {
    checker_ = status;
    forget_health_not_in(status);
}

void StateStore::on_vrrp_state(const vigil::ipc::VrrpState& state) {
    for (auto& vi : *vrrp_.mutable_vrrp_instances()) {
        if (vi.name() != state.instance()) continue;
        if (vi.state() != state.state()) {
            vi.set_state(state.state());
            vi.set_transitions(vi.transitions() + 1);
        }
        return;
    }
    auto* vi = vrrp_.add_vrrp_instances();
    vi->set_name(state.instance());
    vi->set_state(state.state());
}

void StateStore::on_health(const vigil::ipc::Health& health) {
    health_[{health.virtual_server(), health.real_server()}] = health;
    apply_health(checker_, health);
}

void StateStore::forget_health_not_in(const vigil::ipc::Status& checker_status) {
    std::set<std::pair<std::string, std::string>> known;
    for (const auto& vs : checker_status.virtual_servers())
        for (const auto& rs : vs.real_servers()) known.insert({virtual_server_key(vs), real_server_key(rs)});
    if (known.empty()) return;  // a Status without servers (e.g. before the first Commit) says nothing
    for (auto it = health_.begin(); it != health_.end();) {
        if (known.count(it->first) == 0)
            it = health_.erase(it);
        else
            ++it;
    }
}

vigil::ipc::Snapshot StateStore::vrrp_snapshot() const {
    vigil::ipc::Snapshot s;
    *s.mutable_vrrp_instances() = vrrp_.vrrp_instances();
    // VRRP tracks real servers (track_virtual_server): it resumes with the last health too.
    for (const auto& [key, h] : health_) *s.add_health() = h;
    return s;
}

vigil::ipc::Snapshot StateStore::checker_snapshot() const {
    vigil::ipc::Snapshot s;
    for (const auto& [key, h] : health_) *s.add_health() = h;
    // The checker follows VRRP states (ha_suspend): it resumes with them too.
    *s.mutable_vrrp_instances() = vrrp_.vrrp_instances();
    return s;
}

}  // namespace vigil::parent
