#include "checker_child/check_misc.hpp"

namespace vigil::check {

CheckResult misc_result(const ScriptOutcome& outcome, bool dynamic) {
    if (outcome.kind == ScriptOutcome::Kind::kTimedOut) return CheckResult::timeout(outcome.reason);
    if (outcome.kind != ScriptOutcome::Kind::kExited) return {false, outcome.reason, {}};
    if (outcome.code == 0) return {true, outcome.reason, {}};
    if (dynamic && outcome.code >= 2) return {true, outcome.reason, outcome.code - 2};
    return {false, outcome.reason, {}};
}

MiscCheck::MiscCheck(MiscParams params, std::string subject)
    : params_(std::move(params)), subject_(std::move(subject)) {}

std::string MiscCheck::describe() const {
    return "MISC_CHECK " + subject_ + " " + params_.path;
}

asio::awaitable<CheckResult> MiscCheck::run() {
    ScriptRun run;
    run.argv = split_command(params_.path);
    run.timeout = params_.timeout;
    run.user = params_.user;
    run.group = params_.group;
    const auto outcome = co_await run_script(std::move(run));
    co_return misc_result(outcome, params_.dynamic);
}

ScriptCheck::ScriptCheck(ScriptParams params, std::string ip, uint16_t port)
    : params_(std::move(params)), ip_(std::move(ip)), port_(port) {}

std::string ScriptCheck::describe() const {
    return "check_script " + params_.name + " " + format_endpoint(ip_, port_);
}

asio::awaitable<CheckResult> ScriptCheck::run() {
    ScriptRun run;
    run.argv = split_command(params_.script);
    run.argv.push_back(ip_);
    run.argv.push_back(std::to_string(port_));
    run.timeout = params_.timeout;
    run.user = params_.user;
    run.group = params_.group;
    const auto outcome = co_await run_script(std::move(run));
    co_return misc_result(outcome, false);
}

}  // namespace vigil::check
