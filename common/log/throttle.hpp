#pragma once
// One rule for log lines of events that can repeat without end (a dropped packet, a failing read on a
// level-triggered loop): the first one goes out, then at most one per interval, the caller's count saying
// how many happened meanwhile.

#include <chrono>

namespace vigil::common::log {

class Throttle {
  public:
    using Clock = std::chrono::steady_clock;
    explicit Throttle(Clock::duration every = std::chrono::seconds(10)) : every_(every) {}

    // Whether a line may go out at `now`; when it may, the next one waits a whole interval from `now`.
    bool ready(Clock::time_point now) {
        if (logged_ && now - last_ < every_) return false;
        logged_ = true;
        last_ = now;
        return true;
    }

  private:
    Clock::duration every_;
    Clock::time_point last_{};
    bool logged_ = false;
};

}  // namespace vigil::common::log
