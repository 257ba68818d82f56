#pragma once
// MISC_CHECK: run misc_path; exit 0 is up, anything else down, except that with misc_dynamic an exit status
// of 2-255 is up with weight status - 2 (keepalived's rule). check_script: a vrrp_script run against each
// real server with its address and port appended as arguments; exit 0 is up.

#include "checker_child/check.hpp"
#include "checker_child/script_runner.hpp"

namespace vigil::check {

class MiscCheck : public Check {
  public:
    MiscCheck(MiscParams params, std::string subject);
    // Runs the program without capabilities, as `user` when set, killed at misc_timeout.
    asio::awaitable<CheckResult> run() override;
    std::string describe() const override;

  private:
    MiscParams params_;
    std::string subject_;
};

// Maps a finished run to a result under the MISC_CHECK rules.
CheckResult misc_result(const ScriptOutcome& outcome, bool dynamic);

class ScriptCheck : public Check {
  public:
    ScriptCheck(ScriptParams params, std::string ip, uint16_t port);
    // Runs `script ADDRESS PORT`.
    asio::awaitable<CheckResult> run() override;
    std::string describe() const override;

  private:
    ScriptParams params_;
    std::string ip_;
    uint16_t port_;
};

}  // namespace vigil::check
