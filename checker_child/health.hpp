#pragma once
// The decision logic of the checker, free of I/O: how a checker's results become its state and its next
// interval, how a real server's checkers make its health, and how a virtual server's real servers make its
// quorum and its IPVS destinations. Driven by results and a clock the caller passes in, so a scenario replays
// in virtual time.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checker_child/check_result.hpp"
#include "checker_child/checker_config.hpp"

namespace vigil::check {

// Returns a uniformly distributed value in [0, bound]; injected so tests choose the jitter.
using RandomSource = std::function<Duration(Duration bound)>;

// A RandomSource from a seeded Mersenne twister.
RandomSource default_random_source();

// One checker of one real server: counts retries on the way down and successes (`rise`) on the way up.
class CheckerState {
  public:
    explicit CheckerState(const CheckTiming& timing);

    // The delay before the first run: random in [0, warmup] (warmup defaults to delay_loop), so checks
    // configured together do not all fire on one tick.
    Duration first_delay(const RandomSource& random) const;

    struct Outcome {
        bool changed = false;  // the checker's up/down state flipped
        Duration next{};       // when to run again
    };
    // Records one result and decides the state and the next interval.
    Outcome on_result(const CheckResult& result);

    // Takes a state handed back after a restart (no flapping): up or down, counters cleared.
    void restore(bool up, const std::string& reason);

    bool up() const { return up_; }
    // The last result (reason "not checked yet" before the first).
    const CheckResult& last() const { return last_; }
    // Whether a check has run since start (a restored state is not a result).
    bool checked() const { return checked_; }
    // Failures in a row while up (0 after a success or once it went down).
    int failures() const { return failures_; }
    // Successes in a row while down.
    int successes() const { return successes_; }

  private:
    Duration down_interval() const;

    CheckTiming timing_;
    bool up_;
    int failures_ = 0;
    int successes_ = 0;
    bool checked_ = false;
    CheckResult last_;
};

// A real server is up when every one of its checkers is up (a server with no checkers is always up).
class RealServerHealth {
  public:
    RealServerHealth(const RealServerSpec& spec);

    // Feeds checker `index`'s result; returns true when the server's up/down state or weight changed.
    struct Outcome {
        bool changed = false;
        Duration next{};
    };
    Outcome on_result(std::size_t index, const CheckResult& result);

    // Takes the health the parent kept across a checker restart: every checker starts in that state.
    void restore(bool up, const std::string& reason);

    bool up() const;
    // The weight while up: the last dynamic weight a checker asked for, else the configured one.
    int weight() const;
    // The reason of the most relevant result: the first failing checker's, else the last result's.
    std::string reason() const;
    // Whether that result is a timeout (false while every checker is up).
    bool timed_out() const;
    const std::vector<CheckerState>& checkers() const { return checkers_; }

  private:
    int configured_weight_;
    std::vector<CheckerState> checkers_;
    std::vector<std::optional<int>> dynamic_weights_;
    std::size_t last_index_ = 0;
};

// One entry the IPVS table should hold for a virtual server.
struct DesiredDestination {
    std::string ip;
    uint16_t port = 0;
    int weight = 0;
    bool sorry = false;
    bool operator==(const DesiredDestination&) const = default;
};

// Quorum with hysteresis over the real servers' weights, and the sorry server (keepalived's semantics: quorum
// is gained at quorum + hysteresis and lost below quorum - hysteresis or at a total weight of zero; while it
// is lost, a sorry server replaces every real server).
class QuorumState {
  public:
    explicit QuorumState(const VirtualServerSpec& spec);

    // Sets the initial state from the initial real server states (keepalived starts "up" when the live weight
    // reaches quorum + hysteresis).
    void init(long live_weight);
    // Re-evaluates with the current live weight; returns true when the quorum state flipped.
    bool update(long live_weight);

    bool up() const { return up_; }
    long live_weight() const { return live_weight_; }

  private:
    int quorum_;
    int hysteresis_;
    bool up_ = true;
    long live_weight_ = 0;
};

// The IPVS destinations a virtual server should have, given its real servers' states and its quorum.
// `up` and `weight` are per real server, in the spec's order.
std::vector<DesiredDestination> desired_destinations(const VirtualServerSpec& spec,
                                                     const std::vector<RealServerHealth>& servers,
                                                     bool quorum_up);

// Sum of the weights of the live real servers.
long live_weight(const std::vector<RealServerHealth>& servers);

}  // namespace vigil::check
