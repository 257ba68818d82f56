#pragma once
// Time for the sans-IO VRRP core. The core never reads a clock: every input carries `now`, so a scenario
// replays in virtual time. The runtime reads a Clock (SteadyClock in production, ManualClock in tests) and
// passes it in.

#include <chrono>

namespace vigil::vrrp {

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::microseconds;

class Clock {
  public:
    virtual ~Clock() = default;
    // The current time on this clock.
    virtual TimePoint now() const = 0;
};

// The monotonic system clock.
class SteadyClock final : public Clock {
  public:
    // std::chrono::steady_clock::now().
    TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told to (tests, simulations).
class ManualClock final : public Clock {
  public:
    // Starts at `start` (the steady_clock epoch by default).
    explicit ManualClock(TimePoint start = TimePoint{}) : now_(start) {}
    // The current virtual time.
    TimePoint now() const override { return now_; }
    // Moves time forward by `d`.
    void advance(Duration d) { now_ += d; }
    // Jumps to `t` (never backwards in a sane test).
    void set(TimePoint t) { now_ = t; }

  private:
    TimePoint now_;
};

}  // namespace vigil::vrrp
