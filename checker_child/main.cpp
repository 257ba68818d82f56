// vigil-checker: the health-checker child. Started by vigild with its channel on fd 3, and --need-net-raw
// when the config has PING_CHECK (common/child/protocol.hpp). For now its handler validates each config
// against the host and reports every virtual and real server (health as last handed back by the parent,
// unknown otherwise) until the check engine and IPVS backend of checker_child/ are plugged in here.

#include <linux/capability.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/child/host.hpp"
#include "common/child/runtime.hpp"
#include "common/ipc/keys.hpp"

namespace {

namespace child = vigil::common::child;
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

// Every problem of `config` on this host, each naming its real server.
std::vector<std::string> check_against_host(const vigil::config::Config& config, bool have_net_raw) {
    std::vector<std::string> errors;
    for (const auto& vs : config.virtual_server()) {
        for (const auto& rs : vs.real_server()) {
            const std::string who =
                "[" + ipc::virtual_server_key(vs) + " -> " + ipc::real_server_key(rs) + "] ";
            for (const auto& checker : rs.checkers()) {
                if (checker.has_ping_check() && !have_net_raw)
                    errors.push_back(who +
                                     "PING_CHECK needs CAP_NET_RAW: vigild must restart vigil-checker with "
                                     "--need-net-raw");
                const auto* common = common_of(checker);
                if (common == nullptr) continue;
                if (!common->bindto().empty() && !child::is_local_address(common->bindto()))
                    errors.push_back(who + "bindto " + common->bindto() + " is not an address of this host");
                if (!common->bind_if().empty() && !child::interface_exists(common->bind_if()))
                    errors.push_back(who + "bind_if " + common->bind_if() + " does not exist on this host");
            }
        }
    }
    return errors;
}

class CheckerHandler final : public child::Handler {
  public:
    explicit CheckerHandler(bool have_net_raw) : have_net_raw_(have_net_raw) {}

    std::vector<std::string> prepare(std::uint64_t, const vigil::config::Config& config) override {
        auto errors = check_against_host(config, have_net_raw_);
        if (errors.empty()) prepared_ = config;
        return errors;
    }
    void commit(std::uint64_t) override { running_ = std::move(prepared_); }
    void abort(std::uint64_t) override { prepared_.Clear(); }
    void restore(const vigil::ipc::Snapshot& snapshot) override {
        // The last health the parent saw: shown (and, once the engine lands, resumed) instead of flapping.
        for (const auto& h : snapshot.health()) health_[h.virtual_server() + " -> " + h.real_server()] = h;
    }
    void on_peer_message(const vigil::ipc::Envelope& e) override {
        if (e.has_vrrp_state()) vrrp_states_[e.vrrp_state().instance()] = e.vrrp_state().state();
    }
    void fill_status(vigil::ipc::Status& status) override {
        for (const auto& vs : running_.virtual_server()) {
            auto* s = status.add_virtual_servers();
            s->set_address(vs.address());
            s->set_port(vs.port());
            s->set_fwmark(vs.fwmark());
            s->set_protocol(ipc::protocol_name(vs.protocol()));
            s->set_scheduler(vs.lb_algo().empty() ? "wlc" : vs.lb_algo());
            s->set_quorum(vs.quorum());
            for (const auto& rs : vs.real_server()) {
                auto* r = s->add_real_servers();
                r->set_address(rs.address());
                r->set_port(rs.port());
                r->set_weight(static_cast<std::uint32_t>(rs.weight() < 0 ? 0 : rs.weight()));
                auto it = health_.find(ipc::virtual_server_key(vs) + " -> " + ipc::real_server_key(rs));
                if (it != health_.end()) {
                    r->set_healthy(it->second.up());
                    r->set_reason("restored: " + it->second.reason());
                } else {
                    r->set_reason("not checked yet");
                }
            }
        }
        status.mutable_ipvs()->set_available(false);
        status.mutable_ipvs()->set_reason("the IPVS backend is not wired into vigil-checker yet");
    }

  private:
    bool have_net_raw_;
    vigil::config::Config prepared_;
    vigil::config::Config running_;
    std::map<std::string, vigil::ipc::Health> health_;
    // Kept for ha_suspend and the sync daemon role once the engine lands.
    std::map<std::string, vigil::status::VrrpInstanceStatus::State> vrrp_states_;
};

}  // namespace

int main(int argc, char** argv) {
    child::ChildSpec spec;
    spec.ident = child::kCheckerExecutable;
    // IPVS through generic netlink; ICMP sockets only for PING_CHECK.
    spec.required_capabilities = [](const child::ChildArguments& args) {
        std::vector<int> caps{CAP_NET_ADMIN};
        if (args.need_net_raw) caps.push_back(CAP_NET_RAW);
        return caps;
    };
    spec.make_handler = [](const child::ChildArguments& args, asio::io_context&) {
        return std::make_unique<CheckerHandler>(args.need_net_raw);
    };
    return child::run_child(argc, argv, spec);
}
