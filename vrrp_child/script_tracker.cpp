#include "vrrp_child/script_tracker.hpp"

#include <cap-ng.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <google/protobuf/util/message_differencer.h>

namespace vigil::vrrp {

struct ScriptTracker::Tracked {
    vigil::config::VrrpScript def;
    common::script::ScriptSpec spec;
    bool ok = true;
    unsigned successes = 0;
    unsigned failures = 0;
    bool running = false;
    std::string last_reason;
    asio::steady_timer timer;
    explicit Tracked(asio::io_context& io) : timer(io) {}
};

namespace {

std::chrono::milliseconds interval_of(const vigil::config::VrrpScript& def) {
    return std::chrono::milliseconds(def.interval_ms() ? def.interval_ms() : 1000);
}

// The user a script runs as: its own `user`, else global script_user. vigil-vrrp already runs unprivileged;
// it switches user only when it may (CAP_SETUID), and otherwise runs the script as itself, with no
// capability.
common::script::ScriptSpec make_spec(const vigil::config::VrrpScript& def,
                                     const vigil::config::GlobalDefs& g) {
    common::script::ScriptSpec spec;
    spec.argv = common::script::split_command(def.script());
    auto timeout = def.timeout_ms() ? def.timeout_ms() : interval_of(def).count();
    spec.timeout = std::chrono::milliseconds(timeout);
    const std::string& user = !def.user().empty() ? def.user() : g.script_user();
    if (user.empty()) return spec;
    auto ids = common::script::lookup_user(user);
    if (!ids) {
        spdlog::warn("[{}] script user {} does not exist; running as uid {}", def.name(), user, geteuid());
        return spec;
    }
    if (ids->first == geteuid()) return spec;
    if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETUID) != 1) {
        spdlog::warn(
            "[{}] cannot switch to script user {} (vigil-vrrp runs as uid {} without CAP_SETUID); the "
            "script runs as uid {} with no capabilities",
            def.name(), user, geteuid(), geteuid());
        return spec;
    }
    spec.uid = ids->first;
    spec.gid = ids->second;
    return spec;
}

}  // namespace

ScriptTracker::ScriptTracker(asio::io_context& io, common::script::Runner& runner, Callback on_change)
    : io_(io), runner_(runner), on_change_(std::move(on_change)) {}

ScriptTracker::~ScriptTracker() {
    *alive_ = false;
}

void ScriptTracker::configure(const std::vector<vigil::config::VrrpScript>& scripts,
                              const vigil::config::GlobalDefs& globals) {
    std::map<std::string, std::unique_ptr<Tracked>> next;
    for (const auto& def : scripts) {
        auto it = scripts_.find(def.name());
        if (it != scripts_.end() &&
            google::protobuf::util::MessageDifferencer::Equals(it->second->def, def)) {
            next[def.name()] = std::move(it->second);
            continue;
        }
        auto t = std::make_unique<Tracked>(io_);
        t->def = def;
        t->spec = make_spec(def, globals);
        t->ok = !def.init_fail();
        schedule(*t, std::chrono::milliseconds(0));
        next[def.name()] = std::move(t);
    }
    for (auto& [name, t] : scripts_)
        if (t) t->timer.cancel();
    scripts_ = std::move(next);
}

void ScriptTracker::stop() {
    for (auto& [name, t] : scripts_) t->timer.cancel();
    scripts_.clear();
}

std::optional<bool> ScriptTracker::state(const std::string& name) const {
    auto it = scripts_.find(name);
    if (it == scripts_.end()) return std::nullopt;
    return it->second->ok;
}

std::map<std::string, bool> ScriptTracker::states() const {
    std::map<std::string, bool> out;
    for (const auto& [name, t] : scripts_) out[name] = t->ok;
    return out;
}

void ScriptTracker::schedule(Tracked& t, std::chrono::milliseconds after) {
    t.timer.expires_after(after);
    t.timer.async_wait([this, &t, alive = alive_](const asio::error_code& ec) {
        if (ec || !*alive) return;
        run(t);
    });
}

void ScriptTracker::run(Tracked& t) {
    if (t.running) {
        // The previous run is still going (its timeout exceeds the interval): skip this tick.
        schedule(t, interval_of(t.def));
        return;
    }
    t.running = true;
    std::string name = t.def.name();
    runner_.run(t.spec, [this, name, alive = alive_](const common::script::ScriptResult& r) {
        if (!*alive) return;
        auto it = scripts_.find(name);
        if (it == scripts_.end()) return;  // no longer tracked (reload)
        result(*it->second, r);
    });
}

void ScriptTracker::result(Tracked& t, const common::script::ScriptResult& r) {
    t.running = false;
    bool success = r.ok();
    auto reason = r.reason(t.spec.timeout);
    if (success) {
        t.failures = 0;
        ++t.successes;
    } else {
        t.successes = 0;
        ++t.failures;
        if (reason != t.last_reason)
            spdlog::debug("[{}] script {}: {}", t.def.name(), t.def.script(), reason);
    }
    t.last_reason = reason;
    unsigned rise = t.def.rise() ? t.def.rise() : 1;
    unsigned fall = t.def.fall() ? t.def.fall() : 1;
    bool changed = false;
    if (!t.ok && success && t.successes >= rise) {
        t.ok = true;
        changed = true;
    } else if (t.ok && !success && t.failures >= fall) {
        t.ok = false;
        changed = true;
    }
    if (changed) {
        spdlog::info("[{}] script {} ({})", t.def.name(), t.ok ? "succeeded" : "failed", reason);
        on_change_(t.def.name(), t.ok);
    }
    schedule(t, interval_of(t.def));
}

}  // namespace vigil::vrrp
