#pragma once
// The bookkeeping of reloads, sans-IO: queueing (a reload asked for while one runs is run next, not lost) and
// the two-phase decision (Commit only when every child acked its Configure, otherwise Abort).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "proto/config.pb.h"
#include "proto/control.pb.h"

namespace vigil::parent {

// Who asked for reloads and whether one runs. Requests that arrive during a reload are coalesced into one
// queued reload: it re-reads the file, which then holds the latest text anyway. Each asker gets the result of
// the reload that covered its request.
class ReloadQueue {
  public:
    using Waiter = std::function<void(const vigil::control::ReloadResult&)>;

    // Records a request (`waiter` may be empty: SIGHUP). True when the caller must start a reload now.
    bool request(Waiter waiter);
    // The running reload ended with `result`: its waiters are told. True when a queued reload must start now.
    bool finish(const vigil::control::ReloadResult& result);
    // True while a reload runs.
    bool busy() const { return running_; }
    // True when a reload waits behind the running one.
    bool queued() const { return queued_; }

  private:
    bool running_ = false;
    bool queued_ = false;
    std::vector<Waiter> current_;
    std::vector<Waiter> next_;
};

// One reload's phase 1: the answers of the children it was sent to.
class ConfigTransaction {
  public:
    enum class Decision { kWait, kCommit, kAbort };

    // `roles`: the children that were sent Configure{generation}. With none, the decision is kCommit at once.
    ConfigTransaction(std::uint64_t generation, std::vector<std::string> roles);

    // Records `role`'s ConfigResult. Answers for another generation or from a child not asked are ignored.
    Decision on_result(const std::string& role, std::uint64_t generation, bool ok,
                       const std::vector<std::string>& errors);
    // The deadline passed: the children that did not answer count as refusals.
    Decision on_timeout();
    // A child died or was restarted before answering: it counts as a refusal.
    Decision on_child_lost(const std::string& role);
    // The decision so far.
    Decision decision() const;

    std::uint64_t generation() const { return generation_; }
    // Every answer (and missing answer) so far, per child, in the order of `roles`.
    const std::vector<vigil::control::ChildConfigResult>& results() const { return results_; }
    // Every error of every child, prefixed with its role.
    std::vector<std::string> errors() const;

  private:
    vigil::control::ChildConfigResult* find(const std::string& role);
    std::uint64_t generation_;
    std::vector<vigil::control::ChildConfigResult> results_;
    std::vector<bool> answered_;
};

// Settings a reload cannot change, compared between the running and the new config. Each returned message
// names the setting, e.g. "global_defs log_file cannot change on reload (was /a, now /b): restart vigild".
std::vector<std::string> immutable_changes(const vigil::config::Config& running,
                                           const vigil::config::Config& next);

}  // namespace vigil::parent
