#include "parent/state_store.hpp"

namespace vigil::parent {

namespace {

std::string host_port(const std::string& address, std::uint32_t port) {
    const bool v6 = address.find(':') != std::string::npos;
    return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
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

namespace {

// Whether two Statuses name the same virtual and real servers in the same places: the fields the keys are
// made of, compared without making the keys.
bool same_servers(const vigil::ipc::Status& a, const vigil::ipc::Status& b) {
    if (a.virtual_servers_size() != b.virtual_servers_size()) return false;
    for (int v = 0; v < a.virtual_servers_size(); ++v) {
        const auto& x = a.virtual_servers(v);
        const auto& y = b.virtual_servers(v);
        if (x.address() != y.address() || x.port() != y.port() || x.fwmark() != y.fwmark() ||
            x.protocol() != y.protocol() || x.real_servers_size() != y.real_servers_size())
            return false;
        for (int r = 0; r < x.real_servers_size(); ++r) {
            const auto& p = x.real_servers(r);
            const auto& q = y.real_servers(r);
            if (p.port() != q.port() || p.address() != q.address()) return false;
        }
    }
    return true;
}

}  // namespace

void StateStore::on_checker_status(vigil::ipc::Status status) {
    // The checker sends one after each commit and for each `vigilctl status` (a script may poll that every
    // second): at 50,000 real servers, re-indexing them all each time was most of vigild's CPU (6-20% of a
    // core). The same servers in the same places keep the index.
    const bool same = same_servers(checker_, status);
    checker_ = std::move(status);
    if (same) {
        if (health_outside_index_) forget_health_not_in_index();
        return;
    }
    index_.clear();
    for (int v = 0; v < checker_.virtual_servers_size(); ++v) {
        const auto& vs = checker_.virtual_servers(v);
        const auto vs_key = virtual_server_key(vs);
        index_[{vs_key, std::string()}].push_back({v, kQuorum});  // its quorum's Health
        for (int r = 0; r < vs.real_servers_size(); ++r)
            index_[{vs_key, real_server_key(vs.real_servers(r))}].push_back({v, r});
    }
    forget_health_not_in_index();
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
    Key key{health.virtual_server(), health.real_server()};
    // One lookup, not a walk over every server: a checker of 50,000 real servers that all change at once
    // sends 50,000 of these in a burst.
    if (auto it = index_.find(key); it != index_.end()) {
        for (const auto& [v, r] : it->second) {
            if (r == kQuorum) {
                checker_.mutable_virtual_servers(v)->set_quorum_up(health.up());
                continue;
            }
            auto* rs = checker_.mutable_virtual_servers(v)->mutable_real_servers(r);
            rs->set_healthy(health.up());
            rs->set_weight(health.weight());
            if (!health.reason().empty()) rs->set_reason(health.reason());
            // The checker sends a real server's Health only after a check decided it, so it is a result too:
            // the last Status vigild has may still say no check has run.
            rs->set_last_result(health.up()          ? vigil::status::CHECK_RESULT_SUCCESS
                                : health.timed_out() ? vigil::status::CHECK_RESULT_TIMEOUT
                                                     : vigil::status::CHECK_RESULT_FAILURE);
        }
    } else {
        health_outside_index_ = true;
    }
    health_[std::move(key)] = health;
}

void StateStore::forget_health_not_in_index() {
    if (index_.empty()) return;  // a Status without servers (e.g. before the first Commit) says nothing
    health_outside_index_ = false;
    for (auto it = health_.begin(); it != health_.end();) {
        if (index_.count(it->first) == 0)
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
