#include "parent/reload.hpp"

#include <algorithm>

namespace vigil::parent {

bool ReloadQueue::request(Waiter waiter) {
    if (!running_) {
        running_ = true;
        if (waiter) current_.push_back(std::move(waiter));
        return true;
    }
    queued_ = true;
    if (waiter) next_.push_back(std::move(waiter));
    return false;
}

bool ReloadQueue::finish(const vigil::control::ReloadResult& result) {
    auto waiters = std::move(current_);
    current_.clear();
    // Promote the queued request before calling out, so a waiter that asks again is queued behind it.
    running_ = queued_;
    queued_ = false;
    current_ = std::move(next_);
    next_.clear();
    // Decided before calling out: a waiter that asks again is told to start by its own request(), not twice.
    const bool start_next = running_;
    for (auto& w : waiters) w(result);
    return start_next;
}

ConfigTransaction::ConfigTransaction(std::uint64_t generation, std::vector<std::string> roles)
    : generation_(generation) {
    for (auto& r : roles) {
        vigil::control::ChildConfigResult c;
        c.set_role(r);
        results_.push_back(std::move(c));
        answered_.push_back(false);
    }
}

vigil::control::ChildConfigResult* ConfigTransaction::find(const std::string& role) {
    for (auto& r : results_)
        if (r.role() == role) return &r;
    return nullptr;
}

ConfigTransaction::Decision ConfigTransaction::on_result(const std::string& role, std::uint64_t generation,
                                                         bool ok, const std::vector<std::string>& errors) {
    auto* r = find(role);
    if (r == nullptr || generation != generation_) return decision();
    const auto i = static_cast<std::size_t>(r - results_.data());
    if (answered_[i]) return decision();
    answered_[i] = true;
    r->set_ok(ok);
    for (const auto& e : errors) r->add_errors(e);
    if (!ok && errors.empty()) r->add_errors("refused without a reason");
    return decision();
}

ConfigTransaction::Decision ConfigTransaction::on_timeout() {
    for (std::size_t i = 0; i < results_.size(); ++i) {
        if (answered_[i]) continue;
        answered_[i] = true;
        results_[i].set_ok(false);
        results_[i].add_errors("no answer to Configure in time");
    }
    return decision();
}

ConfigTransaction::Decision ConfigTransaction::on_child_lost(const std::string& role) {
    auto* r = find(role);
    if (r == nullptr) return decision();
    const auto i = static_cast<std::size_t>(r - results_.data());
    if (!answered_[i]) {
        answered_[i] = true;
        r->set_ok(false);
        r->add_errors("the child stopped before answering Configure");
    }
    return decision();
}

ConfigTransaction::Decision ConfigTransaction::decision() const {
    bool all = true;
    for (std::size_t i = 0; i < results_.size(); ++i) {
        if (answered_[i] && !results_[i].ok()) return Decision::kAbort;
        if (!answered_[i]) all = false;
    }
    return all ? Decision::kCommit : Decision::kWait;
}

std::vector<std::string> ConfigTransaction::errors() const {
    std::vector<std::string> out;
    for (const auto& r : results_)
        for (const auto& e : r.errors()) out.push_back(r.role() + ": " + e);
    return out;
}

namespace {

// keepalived's global_defs settings that it documents as fixed at start ("cannot be changed on a reload"),
// which vigil keeps as unmodelled statements.
constexpr const char* kFixedGlobalKeywords[] = {"net_namespace", "instance", "tmp_config_directory"};

std::string statement_text(const vigil::config::GlobalDefs& g, const std::string& keyword) {
    std::string out;
    for (const auto& s : g.other()) {
        if (s.keyword() != keyword) continue;
        out += "[";
        for (int i = 0; i < s.args_size(); ++i) out += (i ? " " : "") + s.args(i);
        out += "]";
    }
    return out;
}

std::string shown(const std::string& v) {
    return v.empty() ? "unset" : v;
}

}  // namespace

std::vector<std::string> immutable_changes(const vigil::config::Config& running,
                                           const vigil::config::Config& next) {
    std::vector<std::string> out;
    const auto& a = running.global_defs();
    const auto& b = next.global_defs();
    // The log file is opened before vigild leaves root; the unprivileged daemon may not be able to open
    // another.
    if (a.log_file() != b.log_file())
        out.push_back("global_defs log_file cannot change on reload (was " + shown(a.log_file()) + ", now " +
                      shown(b.log_file()) + "): restart vigild");
    for (const char* kw : kFixedGlobalKeywords) {
        auto x = statement_text(a, kw);
        auto y = statement_text(b, kw);
        if (x != y)
            out.push_back(std::string("global_defs ") + kw + " cannot change on reload (was " + shown(x) +
                          ", now " + shown(y) + "): restart vigild");
    }
    return out;
}

}  // namespace vigil::parent
