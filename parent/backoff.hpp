#pragma once
// When to restart a child that exited: at once after a long run, otherwise 1, 2, 4 ... seconds, capped.

#include <chrono>

namespace vigil::parent {

class RestartBackoff {
  public:
    using Duration = std::chrono::milliseconds;
    // A child that ran at least this long counts as stable: its next failure restarts at once.
    static constexpr Duration kStableRun = std::chrono::seconds(60);
    static constexpr Duration kMaxDelay = std::chrono::seconds(30);

    // Records an exit after `ran_for` and returns the delay before the next start.
    Duration on_exit(Duration ran_for);

    // Failures in a row since the last stable run.
    int consecutive_failures() const { return failures_; }

  private:
    int failures_ = 0;
};

}  // namespace vigil::parent
