#include "checker_child/script_runner.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "checker_child/timer_wheel.hpp"

namespace vigil::check {

namespace {

using common::script::Runner;
using common::script::ScriptResult;
using common::script::ScriptSpec;

// The Runner of one execution context: created on first use, destroyed (its scripts killed) at shutdown.
class ScriptService : public asio::execution_context::service {
  public:
    static asio::execution_context::id id;
    explicit ScriptService(asio::execution_context& context) : asio::execution_context::service(context) {}

    static Runner& of(const asio::any_io_executor& executor) {
        auto& service = asio::use_service<ScriptService>(asio::query(executor, asio::execution::context));
        if (!service.runner_) service.runner_ = std::make_unique<Runner>(executor);
        return *service.runner_;
    }

  private:
    void shutdown() override { runner_.reset(); }
    std::unique_ptr<Runner> runner_;
};

asio::execution_context::id ScriptService::id;

// Forks the script. Its caller often runs inside a turn of the timer wheel (a MISC_CHECK started by its
// timer, a notify script run from a check's result), and a fork takes long enough to matter to the timeouts
// armed after it in that turn: the wheel reads the clock again.
void start(const asio::any_io_executor& executor, const ScriptSpec& spec, Runner::Callback done) {
    ScriptService::of(executor).run(spec, std::move(done));
    TimerWheel::of(executor).refresh();
}

// The spec, with user and group resolved before fork (the child may only call async-signal-safe functions);
// empty with `why` set when they do not resolve.
std::optional<ScriptSpec> to_spec(ScriptRun&& run, std::string& why) {
    ScriptSpec spec;
    spec.argv = std::move(run.argv);
    spec.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(run.timeout);
    spec.kill_grace = std::chrono::duration_cast<std::chrono::milliseconds>(run.kill_grace);
    if (run.user.empty()) return spec;
    auto ids = common::script::lookup_user(run.user);
    if (!ids) {
        why = "unknown user " + run.user;
        return std::nullopt;
    }
    spec.uid = ids->first;
    spec.gid = ids->second;
    if (!run.group.empty()) {
        auto gid = common::script::lookup_group(run.group);
        if (!gid) {
            why = "unknown group " + run.group;
            return std::nullopt;
        }
        spec.gid = *gid;
    }
    return spec;
}

ScriptOutcome outcome_of(const ScriptResult& r, std::chrono::milliseconds timeout) {
    ScriptOutcome o;
    o.code = r.code;
    o.reason = r.reason(timeout);
    switch (r.kind) {
        case ScriptResult::Kind::kExited:
            o.kind = ScriptOutcome::Kind::kExited;
            break;
        case ScriptResult::Kind::kSignaled:
            o.kind = ScriptOutcome::Kind::kSignaled;
            break;
        case ScriptResult::Kind::kTimedOut:
            o.kind = ScriptOutcome::Kind::kTimedOut;
            break;
        case ScriptResult::Kind::kSpawnFailed:
            o.kind = ScriptOutcome::Kind::kFailedToStart;
            o.code = 0;
            break;
    }
    return o;
}

}  // namespace

asio::awaitable<ScriptOutcome> run_script(ScriptRun run) {
    std::string why;
    auto spec = to_spec(std::move(run), why);
    if (!spec) co_return ScriptOutcome{ScriptOutcome::Kind::kFailedToStart, 0, why};
    const auto executor = co_await asio::this_coro::executor;
    const auto result = co_await asio::async_initiate<decltype(asio::use_awaitable), void(ScriptResult)>(
        [&executor, &spec](auto handler) {
            // Runner's callbacks are copyable std::functions; the coroutine's handler is move-only.
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            start(executor, *spec, [shared](const ScriptResult& r) { std::move (*shared)(r); });
        },
        asio::use_awaitable);
    co_return outcome_of(result, spec->timeout);
}

void spawn_script(const asio::any_io_executor& executor, ScriptRun run) {
    const std::string program = run.argv.empty() ? std::string() : run.argv[0];
    std::string why;
    auto spec = to_spec(std::move(run), why);
    if (!spec) {
        spdlog::warn("script {} not run: {}", program, why);
        return;
    }
    start(executor, *spec, [program, timeout = spec->timeout](const ScriptResult& r) {
        if (!r.ok()) spdlog::warn("script {}: {}", program, r.reason(timeout));
    });
}

}  // namespace vigil::check
