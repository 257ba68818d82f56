#include "checker_child/health.hpp"

#include <algorithm>
#include <memory>
#include <random>

namespace vigil::check {

RandomSource default_random_source() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine](Duration bound) {
        if (bound.count() <= 0) return Duration{0};
        std::uniform_int_distribution<Duration::rep> dist(0, bound.count());
        return Duration{dist(*engine)};
    };
}

CheckerState::CheckerState(const CheckTiming& timing) : timing_(timing), up_(!timing.alpha) {
    last_.ok = up_;
    last_.reason = "not checked yet";
}

void CheckerState::restore(bool up, const std::string& reason) {
    up_ = up;
    failures_ = 0;
    successes_ = 0;
    last_ = CheckResult{up, "restored: " + reason, {}};
}

Duration CheckerState::first_delay(const RandomSource& random) const {
    const Duration bound = timing_.warmup.value_or(timing_.delay_loop);
    if (bound.count() <= 0 || !random) return Duration{0};
    return std::clamp(random(bound), Duration{0}, bound);
}

Duration CheckerState::down_interval() const {
    return timing_.delay_loop_down.value_or(timing_.delay_loop);
}

CheckerState::Outcome CheckerState::on_result(const CheckResult& result) {
    last_ = result;
    checked_ = true;
    if (up_) {
        if (result.ok) {
            failures_ = 0;
            return {false, timing_.delay_loop};
        }
        if (failures_ < timing_.retry) {
            ++failures_;
            return {false, timing_.delay_before_retry};
        }
        up_ = false;
        failures_ = 0;
        successes_ = 0;
        return {true, down_interval()};
    }
    if (!result.ok) {
        successes_ = 0;
        return {false, down_interval()};
    }
    if (++successes_ >= std::max(1, timing_.rise)) {
        up_ = true;
        successes_ = 0;
        failures_ = 0;
        return {true, timing_.delay_loop};
    }
    // On the way up: confirm quickly when a fast interval is configured.
    return {false, timing_.delay_loop_fast.value_or(down_interval())};
}

RealServerHealth::RealServerHealth(const RealServerSpec& spec) : configured_weight_(spec.weight) {
    checkers_.reserve(spec.checks.size());
    for (const auto& c : spec.checks) checkers_.emplace_back(c.timing);
    dynamic_weights_.resize(spec.checks.size());
}

RealServerHealth::Outcome RealServerHealth::on_result(std::size_t index, const CheckResult& result) {
    const bool was_up = up();
    const int old_weight = weight();
    last_index_ = index;
    // A check that reports no weight (misc_dynamic exit 0) leaves the one it set before.
    if (result.weight) dynamic_weights_[index] = result.weight;
    auto outcome = checkers_[index].on_result(result);
    return {was_up != up() || old_weight != weight(), outcome.next};
}

void RealServerHealth::restore(bool up, const std::string& reason) {
    for (auto& c : checkers_) c.restore(up, reason);
}

bool RealServerHealth::up() const {
    return std::all_of(checkers_.begin(), checkers_.end(), [](const CheckerState& c) { return c.up(); });
}

int RealServerHealth::weight() const {
    // keepalived adds each dynamic checker's difference to the configured weight.
    long w = configured_weight_;
    for (const auto& d : dynamic_weights_) {
        if (d) w += *d - configured_weight_;
    }
    return static_cast<int>(std::clamp<long>(w, 0, 65535));
}

std::string RealServerHealth::reason() const {
    for (const auto& c : checkers_) {
        if (!c.up()) return c.last().reason;
    }
    if (checkers_.empty()) return "no checkers";
    return checkers_[last_index_].last().reason;
}

bool RealServerHealth::timed_out() const {
    for (const auto& c : checkers_) {
        if (!c.up()) return c.last().timed_out;
    }
    return false;
}

QuorumState::QuorumState(const VirtualServerSpec& spec)
    : quorum_(spec.quorum), hysteresis_(spec.hysteresis) {}

void QuorumState::init(long live_weight) {
    live_weight_ = live_weight;
    up_ = live_weight >= static_cast<long>(quorum_) + hysteresis_;
}

bool QuorumState::update(long live_weight) {
    live_weight_ = live_weight;
    const long threshold = static_cast<long>(quorum_) + (up_ ? -hysteresis_ : hysteresis_);
    if (!up_ && live_weight >= threshold) {
        up_ = true;
        return true;
    }
    if (up_ && (live_weight == 0 || live_weight < threshold)) {
        up_ = false;
        return true;
    }
    return false;
}

long live_weight(const std::vector<RealServerHealth>& servers) {
    long sum = 0;
    for (const auto& s : servers) {
        if (s.up()) sum += s.weight();
    }
    return sum;
}

std::vector<DesiredDestination> desired_destinations(const VirtualServerSpec& spec,
                                                     const std::vector<RealServerHealth>& servers,
                                                     bool quorum_up) {
    std::vector<DesiredDestination> out;
    const bool use_sorry = spec.sorry_server && !quorum_up;
    for (std::size_t i = 0; i < spec.real_servers.size() && i < servers.size(); ++i) {
        const auto& rs = spec.real_servers[i];
        if (!use_sorry && servers[i].up()) {
            out.push_back({rs.ip, rs.port, servers[i].weight(), false});
        } else if (rs.inhibit_on_failure) {
            out.push_back({rs.ip, rs.port, 0, false});
        }
    }
    if (spec.sorry_server) {
        const auto& s = *spec.sorry_server;
        if (use_sorry) {
            out.push_back({s.ip, s.port, s.weight, true});
        } else if (spec.sorry_server_inhibit) {
            out.push_back({s.ip, s.port, 0, true});
        }
    }
    return out;
}

}  // namespace vigil::check
