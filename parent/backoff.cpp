#include "parent/backoff.hpp"

#include <algorithm>

namespace vigil::parent {

RestartBackoff::Duration RestartBackoff::on_exit(Duration ran_for) {
    // The first failure after a stable run (or ever) restarts at once: a crash is usually a one-off, and the
    // VRRP child must be back within its master-down interval. Failures in a row back off exponentially.
    if (ran_for >= kStableRun) failures_ = 0;
    const int n = failures_++;
    if (n == 0) return Duration::zero();
    const int shift = std::min(n - 1, 10);
    return std::min<Duration>(std::chrono::seconds(1) * (1 << shift), kMaxDelay);
}

}  // namespace vigil::parent
