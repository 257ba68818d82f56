#include "parent/supervisor.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/util/time_util.h>

#include "common/child/protocol.hpp"
#include "common/config/config.hpp"
#include "common/sys/spawn.hpp"
#include "parent/config_parts.hpp"
#include "parent/notify.hpp"
#include "parent/status_report.hpp"

namespace vigil::parent {

namespace cfg = vigil::common::config;
using vigil::control::ChildStatus;
using vigil::control::ReloadResult;

namespace {

constexpr const char* kVrrp = "vrrp";
constexpr int kCapNetRaw = 13;
constexpr const char* kChecker = "checker";

std::string diagnostic_line(const cfg::Diagnostic& d) {
    return d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) + ": " +
           (d.severity == cfg::Severity::kError ? "error: " : "warning: ") + d.message;
}

void set_now(ReloadResult& r) {
    *r.mutable_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
}

}  // namespace

std::string find_child_executable(const std::string& name) {
    const std::string candidates[] = {common::sys::executable_dir() + "/" + name,
                                      "/usr/libexec/vigil/" + name, "/usr/local/libexec/vigil/" + name};
    for (const auto& c : candidates)
        if (::access(c.c_str(), X_OK) == 0) return c;
    return {};
}

Supervisor::Supervisor(asio::io_context& io, const Options& options, vigil::config::Config config,
                       StartResources resources)
    : io_(io),
      options_(options),
      config_(std::move(config)),
      resources_(std::move(resources)),
      signals_(io, SIGHUP, SIGTERM, SIGINT),
      txn_timer_(io),
      status_timer_(io) {
    signals_.add(SIGCHLD);
    control_ =
        std::make_unique<ControlServer>(io_, std::move(resources_.control_socket), options_.control_socket,
                                        PeerPolicy{resources_.uid, resources_.gid}, *this);
    vrrp_ = std::make_unique<SupervisedChild>(io_, kVrrp, hooks());
    checker_ = std::make_unique<SupervisedChild>(io_, kChecker, hooks());
    checker_->set_status_on_ping(false);  // asked for when `vigilctl status` wants it (status())
}

Supervisor::~Supervisor() = default;

SupervisedChild::Hooks Supervisor::hooks() {
    SupervisedChild::Hooks h;
    h.on_message = [this](SupervisedChild& c, vigil::ipc::Envelope&& e) {
        on_child_message(c, std::move(e));
    };
    h.on_started = [this](SupervisedChild& c) { on_started(c); };
    h.on_lost = [this](SupervisedChild& c) { on_lost(c); };
    h.on_stopped = [this](SupervisedChild&) { stop_next(); };
    return h;
}

SupervisedChild::Launch Supervisor::launch_for(const std::string& role) const {
    SupervisedChild::Launch l;
    const bool vrrp = role == kVrrp;
    const char* exe = vrrp ? common::child::kVrrpExecutable : common::child::kCheckerExecutable;
    l.executable = find_child_executable(exe);
    if (l.executable.empty()) l.executable = common::sys::executable_dir() + "/" + exe;  // reported at spawn
    common::child::ChildArguments args;
    args.log = options_.log;
    const CheckerRaw raw = vrrp ? CheckerRaw{} : checker_raw(config_);
    args.need_net_raw = raw.icmp;
    args.raw_tcp = raw.tcp;
    l.arguments = common::child::child_arguments(args);
    // The checker gets CAP_NET_RAW for ICMP checks, which keep it, and for TCP_CHECK's raw sockets, opened at
    // its start before it gives the capability up (checker_child/main.cpp). Otherwise it leaves the ambient
    // set between fork and exec.
    if (!vrrp && !raw.icmp && !raw.tcp) l.lower_ambient.push_back(kCapNetRaw);
    return l;
}

void Supervisor::apply_children_to_config() {
    struct Want {
        SupervisedChild* child;
        bool wanted;
        const char* why_not;
    };
    const Want wants[] = {
        {vrrp_.get(), has_vrrp_part(config_) && !options_.check_only,
         options_.check_only ? "excluded by -C/--check" : "no vrrp_instance or static address in the config"},
        {checker_.get(), has_checker_part(config_) && !options_.vrrp_only,
         options_.vrrp_only ? "excluded by -P/--vrrp" : "no virtual_server in the config"},
    };
    for (const auto& w : wants) {
        auto& c = *w.child;
        if (!w.wanted) {
            if (c.state() != ChildStatus::DISABLED) c.disable(w.why_not);
            c.set_reason(w.why_not);
            continue;
        }
        c.set_launch(launch_for(c.role()));
        if (c.pid() <= 0 && (c.state() == ChildStatus::DISABLED || c.state() == ChildStatus::FAILED))
            c.start();
    }
    const CheckerRaw raw = checker_raw(config_);
    if (checker_->pid() > 0 && raw.icmp != checker_raw_.icmp)
        checker_->respawn(raw.icmp ? "the config now has PING_CHECK: it needs CAP_NET_RAW"
                                   : "the config no longer has PING_CHECK: it gives up CAP_NET_RAW");
    else if (checker_->pid() > 0 && raw.tcp != checker_raw_.tcp)
        checker_->respawn(raw.tcp ? "the config now has TCP_CHECK: it opens raw TCP sockets at start"
                                  : "the config no longer has TCP_CHECK: it closes its raw TCP sockets");
    checker_raw_ = raw;
}

int Supervisor::run() {
    ::signal(SIGPIPE, SIG_IGN);
    arm_signals();
    control_->start();
    apply_children_to_config();
    spdlog::info("vigild running as uid {}: config {} (generation {}), control socket {}", ::getuid(),
                 options_.config_file, generation_, options_.control_socket);
    notify::ready("running, config generation " + std::to_string(generation_));
    io_.run();
    return exit_status_;
}

void Supervisor::arm_signals() {
    signals_.async_wait([this](const asio::error_code& ec, int signo) {
        if (ec) return;
        on_signal(signo);
        arm_signals();
    });
}

void Supervisor::on_signal(int signo) {
    switch (signo) {
        case SIGCHLD:
            reap();
            break;
        case SIGHUP:
            spdlog::info("SIGHUP: reloading {}", options_.config_file);
            if (stopping_) break;
            if (reloads_.request({}))
                start_reload();
            else
                spdlog::info("a reload is running: this one is queued");
            break;
        case SIGTERM:
            begin_stop("SIGTERM");
            break;
        case SIGINT:
            begin_stop("SIGINT");
            break;
        default:
            break;
    }
}

void Supervisor::reap() {
    int st = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &st, WNOHANG)) > 0) {
        if (pid == vrrp_->pid())
            vrrp_->on_exit(st);
        else if (pid == checker_->pid())
            checker_->on_exit(st);
        // Anything else is a child whose exec failed (already reported by spawn).
    }
}

SupervisedChild* Supervisor::other(SupervisedChild& child) {
    return &child == vrrp_.get() ? checker_.get() : vrrp_.get();
}

void Supervisor::on_started(SupervisedChild& child) {
    if (child.restarted()) {
        vigil::ipc::Envelope e;
        auto* snap = e.mutable_restore()->mutable_snapshot();
        *snap = child.role() == kVrrp ? store_.vrrp_snapshot() : store_.checker_snapshot();
        snap->set_previous_child_gone_ms(child.gone_ms());
        child.send(std::move(e));
    }
    vigil::ipc::Envelope e;
    e.mutable_configure()->set_generation(generation_);
    *e.mutable_configure()->mutable_config() = config_;
    child.send(std::move(e));
}

void Supervisor::on_child_message(SupervisedChild& child, vigil::ipc::Envelope&& e) {
    const bool from_vrrp = &child == vrrp_.get();
    switch (e.payload_case()) {
        case vigil::ipc::Envelope::kConfigResult:
            on_config_result(child, e.config_result());
            return;
        case vigil::ipc::Envelope::kStatus:
            if (from_vrrp)
                store_.on_vrrp_status(e.status());
            else {
                store_.on_checker_status(std::move(*e.mutable_status()));
                status_requested_ = false;
                if (!status_waiters_.empty()) answer_status();
            }
            return;
        case vigil::ipc::Envelope::kVrrpState:
            if (!from_vrrp) break;
            store_.on_vrrp_state(e.vrrp_state());
            checker_->send(std::move(e));
            return;
        case vigil::ipc::Envelope::kHealth:
            if (from_vrrp) break;
            store_.on_health(e.health());
            // vigil-vrrp follows virtual servers' quorum (a Health without a real server, for
            // track_virtual_server), never one real server: 50,000 servers going down at once stay here.
            if (e.health().real_server().empty()) vrrp_->send(std::move(e));
            return;
        case vigil::ipc::Envelope::kEvent: {
            const auto& ev = e.event();
            auto level = ev.severity() == vigil::ipc::Event::ERROR     ? spdlog::level::err
                         : ev.severity() == vigil::ipc::Event::WARNING ? spdlog::level::warn
                                                                       : spdlog::level::info;
            spdlog::log(level, "[{}] [{}] {}", child.role(), ev.subject(), ev.text());
            return;
        }
        default:
            break;
    }
    child.kill_and_replace(std::string("protocol error: unexpected ") +
                           std::string(common::ipc::payload_name(e.payload_case())) + " from the " +
                           child.role() + " child");
}

void Supervisor::on_config_result(SupervisedChild& child, const vigil::ipc::ConfigResult& r) {
    std::vector<std::string> errors(r.errors().begin(), r.errors().end());
    for (const auto& w : r.warnings()) spdlog::warn("[{}] config: {}", child.role(), w);
    if (txn_ && r.generation() == txn_->generation()) {
        decide(txn_->on_result(child.role(), r.generation(), r.ok(), errors));
        return;
    }
    if (r.generation() != generation_) {
        spdlog::debug("[{}] stale ConfigResult for generation {}", child.role(), r.generation());
        return;
    }
    vigil::ipc::Envelope e;
    if (r.ok()) {
        e.mutable_commit()->set_generation(r.generation());
        child.send(std::move(e));
        child.set_running(r.generation());
        child.set_reason("");
        return;
    }
    std::string joined;
    for (const auto& err : errors) {
        spdlog::error("[{}] refused the config: {}", child.role(), err);
        joined += (joined.empty() ? "" : "; ") + err;
    }
    e.mutable_abort()->set_generation(r.generation());
    child.send(std::move(e));
    child.set_running(0);
    child.set_reason("refused the config: " + joined);
}

void Supervisor::on_lost(SupervisedChild& child) {
    if (txn_) decide(txn_->on_child_lost(child.role()));
    // Its Status will not come: what vigild knows, with the child shown as restarting.
    if (&child != checker_.get()) return;
    status_requested_ = false;
    if (!status_waiters_.empty()) answer_status();
}

void Supervisor::reload(std::function<void(const ReloadResult&)> done) {
    if (stopping_) {
        ReloadResult r;
        r.set_ok(false);
        r.add_errors("vigild is stopping");
        r.set_generation(generation_);
        set_now(r);
        done(r);
        return;
    }
    spdlog::info("reload requested over the control socket");
    if (reloads_.request(std::move(done)))
        start_reload();
    else
        spdlog::info("a reload is running: this one is queued");
}

void Supervisor::start_reload() {
    notify::reloading("reloading " + options_.config_file);
    cfg::ParseOptions po;
    po.config_id = options_.config_id;
    po.strict = options_.strict;
    po.check_host = true;
    auto parsed = cfg::parse_file(options_.config_file, po);
    pending_warnings_.clear();
    ReloadResult fail;
    fail.set_ok(false);
    fail.set_generation(generation_);
    for (const auto& d : parsed.diagnostics) {
        if (d.severity == cfg::Severity::kError)
            fail.add_errors(diagnostic_line(d));
        else
            pending_warnings_.push_back(diagnostic_line(d));
    }
    if (!parsed.ok()) {
        set_now(fail);
        finish_reload(std::move(fail));
        return;
    }
    for (const auto& m : immutable_changes(config_, parsed.config)) fail.add_errors(m);
    if (fail.errors_size() > 0) {
        set_now(fail);
        finish_reload(std::move(fail));
        return;
    }
    pending_config_ = std::move(parsed.config);
    const auto gen = generation_ + 1;
    std::vector<std::string> roles;
    // A checker whose CAP_NET_RAW or raw TCP sockets must change cannot prepare the new config (it would
    // refuse PING_CHECK, keep a capability it no longer needs, or lack the sockets TCP_CHECK sends on): it is
    // left out and restarted with the new config once it is committed.
    const bool checker_replaced = !(checker_raw(pending_config_) == checker_raw_);
    for (auto* c : {vrrp_.get(), checker_.get()}) {
        if (c == checker_.get() && checker_replaced) continue;
        if (c->connected() && c->state() == ChildStatus::RUNNING) roles.push_back(c->role());
    }
    txn_.emplace(gen, roles);
    for (auto* c : {vrrp_.get(), checker_.get()}) {
        if (std::find(roles.begin(), roles.end(), c->role()) == roles.end()) continue;
        vigil::ipc::Envelope e;
        e.mutable_configure()->set_generation(gen);
        *e.mutable_configure()->mutable_config() = pending_config_;
        c->send(std::move(e));
    }
    spdlog::info("reload: generation {} sent to {} child(ren)", gen, roles.size());
    txn_timer_.expires_after(kConfigureTimeout);
    txn_timer_.async_wait([this, gen](const asio::error_code& ec) {
        if (!ec && txn_ && txn_->generation() == gen) decide(txn_->on_timeout());
    });
    decide(txn_->decision());
}

void Supervisor::decide(ConfigTransaction::Decision d) {
    if (!txn_ || d == ConfigTransaction::Decision::kWait) return;
    txn_timer_.cancel();
    auto txn = std::move(*txn_);
    txn_.reset();
    ReloadResult r;
    set_now(r);
    for (const auto& c : txn.results()) *r.add_children() = c;
    for (const auto& w : pending_warnings_) r.add_warnings(w);
    const bool commit = d == ConfigTransaction::Decision::kCommit;
    for (const auto& res : txn.results()) {
        auto* c = res.role() == kVrrp ? vrrp_.get() : checker_.get();
        vigil::ipc::Envelope e;
        if (commit)
            e.mutable_commit()->set_generation(txn.generation());
        else
            e.mutable_abort()->set_generation(txn.generation());
        if (c->send(std::move(e)) && commit) c->set_running(txn.generation());
    }
    if (!commit) {
        r.set_ok(false);
        r.set_generation(generation_);
        for (const auto& e : txn.errors()) r.add_errors(e);
        finish_reload(std::move(r));
        return;
    }
    config_ = std::move(pending_config_);
    generation_ = txn.generation();
    r.set_ok(true);
    r.set_generation(generation_);
    if (!options_.log_level_given && !config_.global_defs().log_level().empty())
        spdlog::set_level(spdlog::level::from_str(config_.global_defs().log_level()));
    apply_children_to_config();
    // A child that was starting meanwhile got the old config: bring it to the new one (one being replaced
    // gets it when its successor starts).
    for (auto* c : {vrrp_.get(), checker_.get()}) {
        bool member = false;
        for (const auto& res : txn.results()) member = member || res.role() == c->role();
        if (!member && c->connected() && !c->replacing()) on_started(*c);
    }
    finish_reload(std::move(r));
}

void Supervisor::finish_reload(ReloadResult result) {
    if (result.ok()) {
        spdlog::info("reload: generation {} committed", result.generation());
    } else {
        spdlog::error("reload refused; generation {} keeps running:", generation_);
        for (const auto& e : result.errors()) spdlog::error("  {}", e);
    }
    last_reload_ = result;
    notify::ready(std::string(result.ok() ? "running" : "running (last reload failed)") +
                  ", config generation " + std::to_string(generation_));
    if (reloads_.finish(result)) asio::post(io_, [this] { start_reload(); });
}

void Supervisor::begin_stop(const char* why) {
    if (stopping_) return;
    stopping_ = true;
    spdlog::info("{}: stopping", why);
    notify::stopping();
    control_->close();
    if (txn_) {
        ReloadResult r;
        r.set_ok(false);
        r.add_errors("vigild is stopping");
        r.set_generation(generation_);
        set_now(r);
        txn_.reset();
        finish_reload(std::move(r));
    }
    stop_next();
}

// VRRP goes first: its priority-0 advert hands the VIPs to the peer at once, while the checker still balances
// whatever traffic arrives until the peer's gratuitous ARP lands. The checker leaves the IPVS table in place.
void Supervisor::stop_next() {
    if (!stopping_) return;
    if (vrrp_->state() != ChildStatus::STOPPING) {
        vrrp_->stop(kStopGrace);
        return;
    }
    if (vrrp_->pid() > 0) return;
    if (checker_->state() != ChildStatus::STOPPING) {
        checker_->stop(kStopGrace);
        return;
    }
    if (checker_->pid() > 0) return;
    spdlog::info("children stopped; exiting");
    io_.stop();
}

void Supervisor::status(std::function<void(const vigil::control::StatusResponse&)> done) {
    status_waiters_.push_back(std::move(done));
    if (status_waiters_.size() > 1) return;  // the request in flight answers this one too
    // Only a configured checker that is staying has servers to report (one still starting would answer
    // with none, one asked to go answers nothing), and vigild's record of them is what Health messages
    // keep current since the last Status: the checker builds a fresh Status for this request, real server
    // by real server, with the last reasons.
    if (!status_requested_) {
        vigil::ipc::Envelope request;
        request.mutable_status_request();
        if (stopping_ || checker_->state() != ChildStatus::RUNNING || checker_->leaving() ||
            !checker_->send(std::move(request))) {
            answer_status();
            return;
        }
        status_requested_ = true;
    }
    status_timer_.expires_after(kStatusWait);
    status_timer_.async_wait([this, round = status_round_](const asio::error_code& ec) {
        if (!ec && round == status_round_) answer_status();
    });
}

void Supervisor::answer_status() {
    status_timer_.cancel();
    ++status_round_;
    auto waiters = std::move(status_waiters_);
    status_waiters_.clear();
    const auto s = current_status();
    for (auto& w : waiters) w(s);
}

vigil::control::StatusResponse Supervisor::current_status() {
    StatusInputs in;
    in.pid = static_cast<int>(::getpid());
    in.config_file = options_.config_file;
    in.generation = generation_;
    in.last_reload = last_reload_ ? &*last_reload_ : nullptr;
    in.children = {vrrp_->report(), checker_->report()};
    in.store = &store_;
    return assemble_status(in);
}

vigil::control::ConfigResponse Supervisor::config() {
    vigil::control::ConfigResponse r;
    *r.mutable_config() = config_;
    r.set_generation(generation_);
    return r;
}

}  // namespace vigil::parent
