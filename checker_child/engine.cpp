#include "checker_child/engine.hpp"

#include <sys/resource.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "checker_child/script_runner.hpp"
#include "checker_child/timer_wheel.hpp"

namespace vigil::check {

namespace {

constexpr Duration kScriptTimeout{std::chrono::seconds(30)};

// Runs one check; an exception (a bug, or bad_alloc) becomes a failed result instead of crossing the loop.
asio::awaitable<CheckResult> run_guarded(std::shared_ptr<Check> check) {
    CheckResult result;
    std::string error;
    try {
        result = co_await check->run();
    } catch (const std::exception& e) {
        error = e.what();
    }
    if (!error.empty()) result = CheckResult{false, "internal error: " + error, {}};
    co_return result;
}

}  // namespace

struct Engine::Slot {
    Slot(std::size_t v, std::size_t r, std::size_t c) : vs(v), rs(r), ck(c) {}
    std::size_t vs, rs, ck;  // where it is in servers_
    std::shared_ptr<Check> check;
    TimerWheel::Entry timer;  // the next run; on the loop's wheel (checker_child/timer_wheel.hpp)
    std::chrono::steady_clock::time_point due{};      // when the current or last run was due
    std::chrono::steady_clock::time_point started{};  // when it actually started
    bool running = false;
    bool queued = false;  // in waiting_ for a free running place
    uint64_t epoch = 0;   // the virtual server's epoch when the current or last run started
};

struct Engine::VirtualServer {
    explicit VirtualServer(const VirtualServerSpec& spec) : quorum(spec) {}
    QuorumState quorum;
    std::vector<RealServerHealth> states;
    std::vector<std::vector<std::unique_ptr<Slot>>> slots;  // [real server][checker]
    std::vector<DesiredDestination> published;
    bool ever_published = false;
    bool suspended = false;
    uint64_t epoch = 0;  // bumped on suspend/stop: results of checks started before are dropped
};

namespace {

std::size_t running_budget() {
    rlimit limit{};
    const rlim_t soft = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 1024;
    return std::max<std::size_t>(16, static_cast<std::size_t>(soft / 2));
}

}  // namespace

Engine::Engine(asio::any_io_executor executor, CheckerConfig config, Sinks sinks, RandomSource random)
    : executor_(std::move(executor)),
      wheel_(TimerWheel::of(executor_)),
      max_running_(running_budget()),
      config_(std::move(config)),
      sinks_(std::move(sinks)),
      random_(std::move(random)),
      alive_(std::make_shared<bool>(true)) {
    for (std::size_t v = 0; v < config_.virtual_servers.size(); ++v) {
        const auto& vs = config_.virtual_servers[v];
        auto runtime = std::make_unique<VirtualServer>(vs);
        for (std::size_t r = 0; r < vs.real_servers.size(); ++r) {
            const auto& rs = vs.real_servers[r];
            runtime->states.emplace_back(rs);
            auto& slots = runtime->slots.emplace_back();
            for (std::size_t c = 0; c < rs.checks.size(); ++c) {
                auto slot = std::make_unique<Slot>(v, r, c);
                slot->check = make_check(rs.checks[c], rs);
                Slot* raw = slot.get();
                slot->timer.set([this, raw] { launch(raw->vs, raw->rs, raw->ck); });
                slots.push_back(std::move(slot));
            }
        }
        runtime->suspended = !vs.ha_suspend_instance.empty();
        servers_.push_back(std::move(runtime));
    }
}

Engine::~Engine() {
    *alive_ = false;  // the slots' wheel entries cancel themselves as they go
}

bool Engine::restore(const std::string& virtual_server, const std::string& real_server, bool up,
                     const std::string& reason) {
    for (std::size_t v = 0; v < servers_.size(); ++v) {
        const auto& spec = config_.virtual_servers[v];
        if (spec.name != virtual_server) continue;
        for (std::size_t r = 0; r < spec.real_servers.size(); ++r) {
            const auto& rs = spec.real_servers[r];
            if (format_endpoint(rs.ip, rs.port) != real_server) continue;
            servers_[v]->states[r].restore(up, reason);
            return true;
        }
    }
    return false;
}

void Engine::start() {
    if (started_) return;
    started_ = true;
    for (std::size_t v = 0; v < servers_.size(); ++v) {
        auto& vs = *servers_[v];
        const auto& spec = config_.virtual_servers[v];
        vs.quorum.init(live_weight(vs.states));
        spdlog::info("[{}] starting with quorum {} (live weight {}, quorum {}, hysteresis {}){}", spec.name,
                     vs.quorum.up() ? "up" : "down", vs.quorum.live_weight(), spec.quorum, spec.hysteresis,
                     vs.suspended ? ", suspended until " + spec.ha_suspend_instance + " is MASTER" : "");
        if (sinks_.on_quorum) sinks_.on_quorum({spec.name, vs.quorum.up(), vs.quorum.live_weight()});
        if (!vs.quorum.up()) run_command(spec.quorum_down, {});
        publish_destinations(v, true);
        if (!vs.suspended) resume(v);
    }
}

void Engine::resume(std::size_t v) {
    auto& vs = *servers_[v];
    vs.suspended = false;
    const auto& spec = config_.virtual_servers[v];
    for (std::size_t r = 0; r < spec.real_servers.size(); ++r) {
        for (std::size_t c = 0; c < spec.real_servers[r].checks.size(); ++c) {
            schedule(v, r, c, vs.states[r].checkers()[c].first_delay(random_));
        }
    }
}

void Engine::suspend(std::size_t v) {
    auto& vs = *servers_[v];
    vs.suspended = true;
    ++vs.epoch;
    for (auto& slots : vs.slots) {
        for (auto& slot : slots) wheel_.cancel(slot->timer);
    }
}

void Engine::stop() {
    if (!started_) return;
    started_ = false;
    for (std::size_t v = 0; v < servers_.size(); ++v) {
        auto& vs = *servers_[v];
        const auto& spec = config_.virtual_servers[v];
        suspend(v);
        if (!spec.omega) continue;
        for (std::size_t r = 0; r < spec.real_servers.size(); ++r) {
            const auto& rs = spec.real_servers[r];
            if (vs.states[r].up()) run_command(rs.notify_down, {});
        }
        if (vs.quorum.up()) run_command(spec.quorum_down, {});
    }
}

void Engine::set_vrrp_state(const std::string& instance, bool master) {
    for (std::size_t v = 0; v < servers_.size(); ++v) {
        const auto& spec = config_.virtual_servers[v];
        if (spec.ha_suspend_instance != instance) continue;
        auto& vs = *servers_[v];
        if (master && vs.suspended) {
            spdlog::info("[{}] {} is MASTER: checks resume", spec.name, instance);
            if (started_)
                resume(v);
            else
                vs.suspended = false;
        } else if (!master && !vs.suspended) {
            spdlog::info("[{}] {} is not MASTER: checks suspended (ha_suspend)", spec.name, instance);
            suspend(v);
        }
    }
}

std::chrono::steady_clock::time_point Engine::next_due(std::chrono::steady_clock::time_point due,
                                                       std::chrono::steady_clock::time_point started,
                                                       Duration delay) const {
    // As in keepalived, the next run waits a whole `delay` after this one ended (a check that took 1.5 s to
    // time out is retried delay_before_retry after the timeout, not sooner). Only the lateness of the start
    // (the loop was busy, or the run queued for a free place) is taken back, up to half a delay, so a loop
    // that fell behind for a moment (a start, a burst of changes) does not leave every check it delayed due
    // at the same instant forever after: a steady stream of checks, not one clump per delay_loop.
    const auto now = wheel_.now();
    const auto late = std::clamp<std::chrono::steady_clock::duration>(
        started - due, std::chrono::steady_clock::duration::zero(),
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay / 2));
    return now + delay - late;
}

std::chrono::steady_clock::time_point Engine::due_time(Duration delay) const {
    return wheel_.now() + delay;
}

void Engine::schedule(std::size_t v, std::size_t r, std::size_t c, Duration delay) {
    schedule_at(v, r, c, due_time(delay));
}

void Engine::schedule_at(std::size_t v, std::size_t r, std::size_t c,
                         std::chrono::steady_clock::time_point due) {
    auto& slot = *servers_[v]->slots[r][c];
    slot.due = due;
    // suspend() cancels the entry, so a run that fires is always one of the current epoch.
    wheel_.arm(slot.timer, due, executor_);
}

void Engine::launch(std::size_t v, std::size_t r, std::size_t c) {
    auto& vs = *servers_[v];
    auto& slot = *vs.slots[r][c];
    if (vs.suspended || slot.running) return;
    if (running_ >= max_running_) {
        if (!slot.queued) waiting_.push_back({v, r, c});
        slot.queued = true;
        return;
    }
    ++running_;
    slot.running = true;
    slot.started = wheel_.now();
    slot.epoch = vs.epoch;
    // TCP_CHECK runs without a coroutine (two pointers: the callback needs no allocation). The slot owns the
    // check, which cancels its run when it goes, so the callback never outlives the engine.
    Slot* raw = &slot;
    if (slot.check->start(executor_, [this, raw](const CheckResult& result) {
            --running_;
            on_result(raw->vs, raw->rs, raw->ck, raw->epoch, result);
            finished();
        }))
        return;
    asio::co_spawn(
        executor_, run_guarded(slot.check),
        [this, alive = alive_, v, r, c, epoch = vs.epoch](std::exception_ptr error, CheckResult result) {
            if (!*alive) return;
            if (error) result = CheckResult{false, "internal error", {}};
            --running_;
            on_result(v, r, c, epoch, result);
            finished();
        });
}

void Engine::finished() {
    while (running_ < max_running_ && !waiting_.empty()) {
        const auto next = waiting_.front();
        waiting_.pop_front();
        servers_[next.vs]->slots[next.rs][next.ck]->queued = false;
        launch(next.vs, next.rs, next.ck);
    }
}

void Engine::on_result(std::size_t v, std::size_t r, std::size_t c, uint64_t epoch,
                       const CheckResult& result) {
    auto& vs = *servers_[v];
    vs.slots[r][c]->running = false;
    if (vs.epoch != epoch || vs.suspended) {
        // Suspended or stopped while it ran: the result is stale. If checks resumed meanwhile, the resumed
        // run may have found this one still running and skipped, so run again now.
        if (!vs.suspended && started_) schedule(v, r, c, Duration{0});
        return;
    }
    const auto& spec = config_.virtual_servers[v];
    const auto& rs = spec.real_servers[r];
    auto& state = vs.states[r];
    const auto& checker_before = state.checkers()[c];
    const bool checker_was_up = checker_before.up();
    const auto outcome = state.on_result(c, result);
    const auto& checker = state.checkers()[c];
    // Built only when something is logged: most results (a live server answering again) log nothing.
    auto subject = [&] { return spec.name + " -> " + format_endpoint(rs.ip, rs.port); };
    auto type = [&] { return check_type_name(rs.checks[c].params); };
    if (!result.ok && checker.up()) {
        spdlog::info("[{}] {} failed: {}, retry {} of {}", subject(), type(), result.reason,
                     checker.failures(), rs.checks[c].timing.retry);
    } else if (checker_was_up != checker.up()) {
        spdlog::info("[{}] {} {}: {}", subject(), type(), checker.up() ? "succeeded" : "failed",
                     result.reason);
    } else if (result.ok && !checker.up()) {
        spdlog::info("[{}] {} succeeded: {}, {} of {} to come up", subject(), type(), result.reason,
                     checker.successes(), rs.checks[c].timing.rise);
    }
    if (outcome.changed) {
        const bool up = state.up();
        spdlog::info("[{}] real server {} (weight {}): {}", subject(), up ? "UP" : "DOWN", state.weight(),
                     state.reason());
        if (sinks_.on_health) {
            sinks_.on_health(
                {spec.name, rs.ip, rs.port, up, state.weight(), state.reason(), state.timed_out()});
        }
        run_command(up ? rs.notify_up : rs.notify_down, {});
        if (vs.quorum.update(live_weight(vs.states))) {
            spdlog::info("[{}] {} quorum (live weight {}, quorum {}, hysteresis {})", spec.name,
                         vs.quorum.up() ? "gained" : "lost", vs.quorum.live_weight(), spec.quorum,
                         spec.hysteresis);
            if (sinks_.on_quorum) sinks_.on_quorum({spec.name, vs.quorum.up(), vs.quorum.live_weight()});
            run_command(vs.quorum.up() ? spec.quorum_up : spec.quorum_down, {});
        }
        publish_destinations(v, false);
    }
    const auto& slot = *vs.slots[r][c];
    schedule_at(v, r, c, next_due(slot.due, slot.started, outcome.next));
}

void Engine::publish_destinations(std::size_t v, bool force) {
    auto& vs = *servers_[v];
    const auto& spec = config_.virtual_servers[v];
    auto wanted = desired_destinations(spec, vs.states, vs.quorum.up());
    if (!force && vs.ever_published && wanted == vs.published) return;
    vs.published = std::move(wanted);
    vs.ever_published = true;
    if (sinks_.on_destinations) sinks_.on_destinations({v, spec.name, vs.published});
}

void Engine::run_command(const ScriptCommand& command, const std::vector<std::string>& extra_args) {
    if (command.command.empty()) return;
    ScriptRun run;
    run.argv = split_command(command.command);
    run.argv.insert(run.argv.end(), extra_args.begin(), extra_args.end());
    run.timeout = kScriptTimeout;
    run.user = command.user;
    run.group = command.group;
    spawn_script(executor_, std::move(run));
}

std::vector<VirtualServerStatus> Engine::status() const {
    std::vector<VirtualServerStatus> out;
    for (std::size_t v = 0; v < servers_.size(); ++v) {
        const auto& vs = *servers_[v];
        const auto& spec = config_.virtual_servers[v];
        VirtualServerStatus s{spec.name, vs.quorum.up(), live_weight(vs.states), vs.suspended, {}};
        for (std::size_t r = 0; r < spec.real_servers.size(); ++r) {
            const auto& rs = spec.real_servers[r];
            const auto& state = vs.states[r];
            RealServerStatus rst{rs.ip,          rs.port, state.up(),       state.weight(),
                                 state.reason(), {},      state.timed_out()};
            for (std::size_t c = 0; c < rs.checks.size(); ++c) {
                const auto& ck = state.checkers()[c];
                rst.checkers.push_back({check_type_name(rs.checks[c].params), ck.up(), ck.last().reason,
                                        ck.failures(), ck.successes(), ck.checked()});
            }
            s.real_servers.push_back(std::move(rst));
        }
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace vigil::check
