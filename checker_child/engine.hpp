#pragma once
// The check engine: runs every real server's checks on the checker's event loop, feeds their results to the
// decision logic (health.hpp) and reports what changed. It does no IPVS itself: it hands the IPVS side the
// destinations each virtual server should have, and the parent the health changes.

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>

#include "checker_child/check.hpp"
#include "checker_child/checker_config.hpp"
#include "checker_child/health.hpp"
#include "checker_child/timer_wheel.hpp"

namespace vigil::check {

// A real server's health changed (up/down or weight).
struct HealthEvent {
    std::string virtual_server;
    std::string ip;
    uint16_t port = 0;
    bool up = false;
    int weight = 0;
    std::string reason;
    bool timed_out = false;  // down because a check's time ran out (RealServerHealth::timed_out)
};

// A virtual server's quorum changed.
struct QuorumEvent {
    std::string virtual_server;
    bool up = false;
    long live_weight = 0;
};

// The IPVS destinations a virtual server should now have (all of them, not a diff).
struct DestinationsEvent {
    std::size_t index = 0;  // in CheckerConfig::virtual_servers
    std::string virtual_server;
    std::vector<DesiredDestination> destinations;
};

struct CheckerStatus {
    std::string type;
    bool up = false;
    std::string reason;
    int failures = 0;
    int successes = 0;
    bool checked = false;  // it has run since start: `reason` is a result's
};

struct RealServerStatus {
    std::string ip;
    uint16_t port = 0;
    bool up = false;
    int weight = 0;
    std::string reason;
    std::vector<CheckerStatus> checkers;
    bool timed_out = false;  // RealServerHealth::timed_out
};

struct VirtualServerStatus {
    std::string name;
    bool quorum_up = false;
    long live_weight = 0;
    bool suspended = false;  // ha_suspend and its instance is not MASTER
    std::vector<RealServerStatus> real_servers;
};

class Engine {
  public:
    struct Sinks {
        std::function<void(const HealthEvent&)> on_health;
        std::function<void(const QuorumEvent&)> on_quorum;
        std::function<void(const DestinationsEvent&)> on_destinations;
    };

    Engine(asio::any_io_executor executor, CheckerConfig config, Sinks sinks,
           RandomSource random = default_random_source());
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Before start(): the health the parent kept for a real server (virtual server name as in
    // VirtualServerSpec::name, real server "IP:PORT"), so a restarted checker resumes instead of flapping.
    // Returns false when no such real server is configured.
    bool restore(const std::string& virtual_server, const std::string& real_server, bool up,
                 const std::string& reason);
    // Reports every virtual server's initial destinations and quorum, then schedules the first checks, each
    // at a random point within its warmup.
    void start();
    // Stops every check. Under omega, runs quorum_down (when quorum is up) and notify_down of live servers.
    void stop();
    // The VRRP child's state of `instance`: virtual servers under ha_suspend check only while it is MASTER.
    void set_vrrp_state(const std::string& instance, bool master);
    // Everything status shows.
    std::vector<VirtualServerStatus> status() const;

  private:
    struct Slot;
    struct VirtualServer;

    // When a check `delay` from now is due.
    std::chrono::steady_clock::time_point due_time(Duration delay) const;
    // When a check that was due at `due`, started at `started` and has just ended is due again, `delay`
    // after its end (see engine.cpp).
    std::chrono::steady_clock::time_point next_due(std::chrono::steady_clock::time_point due,
                                                   std::chrono::steady_clock::time_point started,
                                                   Duration delay) const;
    void schedule(std::size_t vs, std::size_t rs, std::size_t ck, Duration delay);
    void schedule_at(std::size_t vs, std::size_t rs, std::size_t ck,
                     std::chrono::steady_clock::time_point due);
    void launch(std::size_t vs, std::size_t rs, std::size_t ck);
    void on_result(std::size_t vs, std::size_t rs, std::size_t ck, uint64_t epoch, const CheckResult& result);
    void publish_destinations(std::size_t vs, bool force);
    void suspend(std::size_t vs);
    void resume(std::size_t vs);
    void run_command(const ScriptCommand& command, const std::vector<std::string>& extra_args);

    struct Pending {
        std::size_t vs, rs, ck;
    };
    void finished();

    asio::any_io_executor executor_;
    TimerWheel& wheel_;  // the loop's, looked up once: a lookup per check costs a lock and a list walk
    // Checks running at once are capped (half of RLIMIT_NOFILE): when thousands of timers come due at once
    // (a start, a stall), the rest wait in `waiting_` instead of failing with EMFILE (and taking the IPC
    // channel's descriptors with them).
    std::size_t max_running_;
    std::size_t running_ = 0;
    std::deque<Pending> waiting_;
    CheckerConfig config_;
    Sinks sinks_;
    RandomSource random_;
    std::vector<std::unique_ptr<VirtualServer>> servers_;
    std::shared_ptr<bool> alive_;
    bool started_ = false;
};

}  // namespace vigil::check
