#include "checker_child/checker.hpp"

#include <map>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "checker_child/checker_config.hpp"
#include "checker_child/checker_config_proto.hpp"
#include "checker_child/ipvs_mapping.hpp"
#include "common/child/host.hpp"
#include "common/ipc/keys.hpp"

namespace vigil::check {

namespace {

namespace ipc = vigil::common::ipc;

const vigil::config::CheckCommon* common_of(const vigil::config::Checker& c) {
    using K = vigil::config::Checker;
    switch (c.kind_case()) {
        case K::kTcpCheck:
            return &c.tcp_check().common();
        case K::kHttpGet:
            return &c.http_get().common();
        case K::kSslGet:
            return &c.ssl_get().common();
        case K::kMiscCheck:
            return &c.misc_check().common();
        case K::kPingCheck:
            return &c.ping_check().common();
        case K::kUdpCheck:
            return &c.udp_check().common();
        case K::kDnsCheck:
            return &c.dns_check().common();
        case K::kSmtpCheck:
            return &c.smtp_check().common();
        case K::kFileCheck:
            return &c.file_check().common();
        case K::kBfdCheck:
            return &c.bfd_check().common();
        default:
            return nullptr;
    }
}

std::string endpoint(const std::string& ip, std::uint32_t port) {
    return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

}  // namespace

std::vector<std::string> check_against_host(const vigil::config::Config& config, bool have_net_raw) {
    std::vector<std::string> errors;
    for (const auto& vs : config.virtual_server()) {
        for (const auto& rs : vs.real_server()) {
            const std::string who =
                "[" + ipc::virtual_server_key(vs) + " -> " + ipc::real_server_key(rs) + "] ";
            for (const auto& checker : rs.checkers()) {
                if (checker.has_ping_check() && !have_net_raw)
                    errors.push_back(who +
                                     "PING_CHECK needs CAP_NET_RAW: vigild must start vigil-checker with "
                                     "--need-net-raw");
                const auto* common = common_of(checker);
                if (common == nullptr) continue;
                if (!common->bindto().empty() && !common::child::is_local_address(common->bindto()))
                    errors.push_back(who + "bindto " + common->bindto() + " is not an address of this host");
                if (!common->bind_if().empty() && !common::child::interface_exists(common->bind_if()))
                    errors.push_back(who + "bind_if " + common->bind_if() + " does not exist on this host");
            }
        }
    }
    return errors;
}

Checker::Checker(asio::io_context& io, bool have_net_raw)
    : io_(io), have_net_raw_(have_net_raw), keeper_(io, IpvsKeeper::Options{}) {
    // The first sync is logged even when it changes nothing: that line is how a restarted checker shows it
    // found the kernel's table right and rewrote none of it.
    keeper_.on_synced([this, first = true](const SyncReport& r) mutable {
        if (!r.ok)
            spdlog::warn("IPVS: {}", r.error);
        else if (r.operations || first)
            spdlog::info("IPVS: table in step ({} change(s))", r.operations);
        if (r.ok) first = false;
    });
}

Checker::~Checker() {
    *alive_ = false;
}

std::vector<std::string> Checker::prepare(std::uint64_t generation, const vigil::config::Config& config) {
    auto errors = check_against_host(config, have_net_raw_);
    for (const auto& vs : config.virtual_server()) {
        auto mapped = services_of(vs, config);
        if (!mapped.error.empty()) errors.push_back("[" + ipc::virtual_server_key(vs) + "] " + mapped.error);
    }
    if (!errors.empty()) return errors;
    auto checker = from_proto(config);
    for (const auto& w : checker.warnings) spdlog::warn("{}", w);
    prepared_ = Prepared{generation, config, std::move(checker)};
    return {};
}

void Checker::commit(std::uint64_t generation) {
    if (!prepared_ || prepared_->generation != generation) return;
    Prepared p = std::move(*prepared_);
    prepared_.reset();
    running_ = std::move(p.config);
    // Health carries over: from the engine being replaced (a reload), or from what the parent handed back (a
    // restart). A real server known to be down starts down (alpha), one known up starts up, so neither a
    // reload nor a restarted checker re-adds a dead server or removes a live one while its first checks run.
    std::map<std::string, bool> known_up;
    for (const auto& [key, h] : restored_) known_up[key] = h.up();
    if (engine_) {
        for (const auto& s : engine_->status())
            for (const auto& r : s.real_servers)
                known_up[key_of(s.name) + " -> " + endpoint(r.ip, r.port)] = r.up;
        engine_->stop();
    }
    engine_.reset();

    services_.clear();
    destinations_.assign(running_.virtual_server_size(), {});
    // Ownership keeps what earlier generations named: what a reload removed from the config is ours to
    // delete.
    keys_.clear();
    for (int i = 0; i < running_.virtual_server_size(); ++i) {
        const auto& vs = running_.virtual_server(i);
        services_.push_back(services_of(vs, running_).services);
        own_everything(vs, services_.back(), owned_);
        if (static_cast<std::size_t>(i) >= p.checker.virtual_servers.size()) continue;
        auto& spec = p.checker.virtual_servers[i];
        keys_[spec.name] = ipc::virtual_server_key(vs);
        for (auto& rs : spec.real_servers) {
            auto it = known_up.find(keys_[spec.name] + " -> " + endpoint(rs.ip, rs.port));
            if (it == known_up.end()) continue;
            for (auto& check : rs.checks) check.timing.alpha = !it->second;
        }
    }
    Engine::Sinks sinks;
    sinks.on_health = [this](const HealthEvent& e) { on_health(e); };
    sinks.on_quorum = [this](const QuorumEvent& e) { on_quorum(e); };
    sinks.on_destinations = [this](const DestinationsEvent& e) { on_destinations(e); };
    engine_ = std::make_unique<Engine>(io_.get_executor(), std::move(p.checker), std::move(sinks));
    for (const auto& [instance, master] : vrrp_master_) engine_->set_vrrp_state(instance, master);
    engine_->start();
    // lvs_flush clears the whole table once, when vigil starts; never when the parent restarts a checker
    // (restarted_), which must leave correct entries and the connections through them alone.
    if (first_commit_ && !restarted_ && running_.global_defs().lvs_flush()) {
        spdlog::info("IPVS: lvs_flush: flushing the kernel's table before programming it");
        keeper_.flush_at_first_sync();
    }
    first_commit_ = false;
    table_dirty_ = false;  // what engine_->start() published is in this push
    push_table();
}

void Checker::abort(std::uint64_t generation) {
    if (prepared_ && prepared_->generation == generation) prepared_.reset();
}

void Checker::restore(const vigil::ipc::Snapshot& snapshot) {
    restarted_ = true;
    for (const auto& h : snapshot.health())
        if (!h.real_server().empty()) restored_[h.virtual_server() + " -> " + h.real_server()] = h;
}

void Checker::on_peer_message(const vigil::ipc::Envelope& envelope) {
    if (!envelope.has_vrrp_state()) return;
    bool master = envelope.vrrp_state().state() == vigil::status::VrrpInstanceStatus::MASTER;
    vrrp_master_[envelope.vrrp_state().instance()] = master;
    if (engine_) engine_->set_vrrp_state(envelope.vrrp_state().instance(), master);
}

std::string Checker::key_of(const std::string& engine_name) const {
    auto it = keys_.find(engine_name);
    return it != keys_.end() ? it->second : engine_name;
}

void Checker::on_health(const HealthEvent& e) {
    auto key = key_of(e.virtual_server);
    restored_.erase(key + " -> " + endpoint(e.ip, e.port));
    if (!uplink_) return;
    vigil::ipc::Envelope env;
    auto* h = env.mutable_health();
    h->set_virtual_server(key);
    h->set_real_server(endpoint(e.ip, e.port));
    h->set_up(e.up);
    h->set_weight(static_cast<std::uint32_t>(e.weight < 0 ? 0 : e.weight));
    h->set_reason(e.reason);
    h->set_timed_out(e.timed_out);
    uplink_->send(std::move(env));
}

void Checker::on_quorum(const QuorumEvent& e) {
    if (!uplink_) return;
    // A Health with no real server is the virtual server's quorum: VRRP's track_virtual_server follows it.
    vigil::ipc::Envelope env;
    auto* h = env.mutable_health();
    h->set_virtual_server(key_of(e.virtual_server));
    h->set_up(e.up);
    h->set_weight(static_cast<std::uint32_t>(e.live_weight < 0 ? 0 : e.live_weight));
    h->set_reason(e.up ? "quorum met" : "quorum lost");
    uplink_->send(std::move(env));
}

void Checker::on_destinations(const DestinationsEvent& e) {
    if (e.index >= destinations_.size()) return;
    destinations_[e.index] = e.destinations;
    schedule_table();
}

void Checker::schedule_table() {
    table_dirty_ = true;
    throttle(table_throttle_, std::chrono::milliseconds(50), [this] {
        if (std::exchange(table_dirty_, false)) push_table();
    });
}

void Checker::throttle(Throttle& t, std::chrono::milliseconds interval, std::function<void()> action) {
    if (t.armed) return;
    t.armed = true;
    // A deadline in the past fires on the loop's next turn, after the changes already queued.
    t.timer.expires_at(t.last + interval);
    t.timer.async_wait([&t, alive = alive_, action = std::move(action)](const std::error_code& ec) {
        if (ec || !*alive) return;
        t.armed = false;
        t.last = std::chrono::steady_clock::now();
        action();
    });
}

void Checker::push_table() {
    IpvsTable table;
    for (std::size_t i = 0; i < services_.size(); ++i) {
        const auto& vs = running_.virtual_server(static_cast<int>(i));
        for (const auto& s : services_[i]) {
            table.put_service(s);
            for (const auto& d : destinations_[i]) table.put_dest(s.key, dest_of(vs, d));
        }
    }
    keeper_.set_desired(std::move(table), owned_);
}

void Checker::fill_status(vigil::ipc::Status& status) {
    std::map<std::string, const VirtualServerStatus*> live;
    std::vector<VirtualServerStatus> engine_status;
    if (engine_) engine_status = engine_->status();
    for (const auto& s : engine_status) live[key_of(s.name)] = &s;
    for (const auto& vs : running_.virtual_server()) {
        auto key = ipc::virtual_server_key(vs);
        auto* out = status.add_virtual_servers();
        out->set_address(vs.address());
        out->set_port(vs.port());
        out->set_fwmark(vs.fwmark());
        out->set_protocol(ipc::protocol_name(vs.protocol()));
        out->set_scheduler(vs.lb_algo().empty() ? "wlc" : vs.lb_algo());
        out->set_quorum(vs.quorum());
        auto it = live.find(key);
        // The engine's records of this virtual server by address and port: one lookup per real server, not a
        // scan (status is built for 50,000 real servers too).
        std::map<std::pair<std::string_view, std::uint32_t>, const RealServerStatus*> checked;
        if (it != live.end()) {
            out->set_quorum_up(it->second->quorum_up);
            for (const auto& l : it->second->real_servers)
                checked.emplace(std::pair<std::string_view, std::uint32_t>(l.ip, l.port), &l);
        }
        for (const auto& rs : vs.real_server()) {
            auto* r = out->add_real_servers();
            r->set_address(rs.address());
            r->set_port(rs.port());
            r->set_weight(static_cast<std::uint32_t>(rs.weight() < 0 ? 0 : rs.weight()));
            auto found = checked.find(std::make_pair(std::string_view(rs.address()), rs.port()));
            const RealServerStatus* l = found == checked.end() ? nullptr : found->second;
            bool ran = false;
            if (l)
                for (const auto& c : l->checkers) ran |= c.checked;
            // Until this process has checked it, a server shows the health its predecessor handed over;
            // after, its own results (a server still down after a restart sends no Health, so the handed-over
            // record would otherwise stay).
            if (!ran) {
                if (auto rit = restored_.find(key + " -> " + ipc::real_server_key(rs));
                    rit != restored_.end()) {
                    r->set_healthy(rit->second.up());
                    r->set_reason("restored: " + rit->second.reason());
                    continue;
                }
            }
            if (!l) continue;
            r->set_healthy(l->up);
            r->set_weight(static_cast<std::uint32_t>(l->weight < 0 ? 0 : l->weight));
            r->set_reason(l->reason);
            r->set_last_result(!ran           ? vigil::status::CHECK_RESULT_UNKNOWN
                               : l->up        ? vigil::status::CHECK_RESULT_SUCCESS
                               : l->timed_out ? vigil::status::CHECK_RESULT_TIMEOUT
                                              : vigil::status::CHECK_RESULT_FAILURE);
        }
    }
    status.mutable_ipvs()->set_available(keeper_.status().available);
    status.mutable_ipvs()->set_reason(keeper_.status().reason);
}

void Checker::stop(std::function<void()> done) {
    // An orderly stop leaves the kernel's table as it is (DESIGN: kept unless lvs_flush_onstop, which flushes
    // it, or lvs_flush_onstop VS, which removes the services vigil's config names; the kernel drops their
    // destinations with them).
    table_throttle_.timer.cancel();
    if (engine_) engine_->stop();
    const auto flush = running_.global_defs().lvs_flush_onstop();
    if (flush == vigil::config::LVS_FLUSH_ONSTOP_FULL) {
        auto report = keeper_.clear_and_stop(Ownership{}, true);
        spdlog::info("IPVS: lvs_flush_onstop: {}",
                     report.ok ? "the whole table flushed" : "not flushed: " + report.error);
    } else if (flush == vigil::config::LVS_FLUSH_ONSTOP_VS) {
        Ownership services;
        services.services = owned_.services;
        auto report = keeper_.clear_and_stop(std::move(services), false);
        spdlog::info("IPVS: lvs_flush_onstop VS: {}",
                     report.ok ? std::to_string(report.operations) + " service(s) removed"
                               : "not removed: " + report.error);
    } else {
        keeper_.stop();
    }
    done();
}

}  // namespace vigil::check
