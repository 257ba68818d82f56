#pragma once
// One supervised child (vigil-vrrp or vigil-checker): spawns it with its channel, pings it every second, and
// replaces it when it dies, hangs (3 missed Pongs) or breaks the protocol, with back-off. A child that exits
// with the permanent-error status is not restarted until the next reload.

#include <sys/types.h>

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ipc/channel.hpp"
#include "parent/backoff.hpp"
#include "parent/status_report.hpp"
#include "proto/ipc.pb.h"

namespace vigil::parent {

class SupervisedChild {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto kPingInterval = std::chrono::seconds(1);
    static constexpr int kMaxMissedPongs = 3;

    struct Hooks {
        // A message other than Ping/Pong.
        std::function<void(SupervisedChild&, vigil::ipc::Envelope&&)> on_message;
        // A new process runs and its channel is open: send it Restore and Configure.
        std::function<void(SupervisedChild&)> on_started;
        // The process is gone (or about to be replaced): what it was asked is void.
        std::function<void(SupervisedChild&)> on_lost;
        // Stopped for good after stop(): the supervisor may exit.
        std::function<void(SupervisedChild&)> on_stopped;
    };

    // How to start the process (re-read at every spawn).
    struct Launch {
        std::string executable;
        std::vector<std::string> arguments;  // without argv[0]
        std::vector<int> lower_ambient;      // capabilities the child must not get
    };

    SupervisedChild(asio::io_context& io, std::string role, Hooks hooks);
    ~SupervisedChild();
    SupervisedChild(const SupervisedChild&) = delete;
    SupervisedChild& operator=(const SupervisedChild&) = delete;

    // Sets how the next spawn starts the process.
    void set_launch(Launch launch) { launch_ = std::move(launch); }
    // Starts the process now (first start, or a FAILED / DISABLED child after a reload).
    void start();
    // The process exited with `wait_status` (from waitpid): restart per the back-off, or not.
    void on_exit(int wait_status);
    // Replaces the process: SIGKILL now, restarted by the exit path. `why` is logged and shown in status.
    void kill_and_replace(const std::string& why);
    // Asks the process to stop (Shutdown) so it restarts at once with the current launch settings, not
    // counted as a failure (e.g. the checker now needs CAP_NET_RAW).
    void respawn(const std::string& why);
    // Orderly stop: Shutdown, SIGKILL after `grace`; on_stopped runs once it is gone (at once if not
    // running).
    void stop(std::chrono::milliseconds grace);
    // Marks the child as not wanted (its part of the config is empty); stops it when running.
    void disable(const std::string& why);

    // Whether the once-a-second Ping also asks for the child's Status (true by default). The checker's is
    // asked for only when `vigilctl status` wants it: at 50,000 real servers it is megabytes to build and
    // parse, and Health messages keep vigild's record of up and down current between requests.
    void set_status_on_ping(bool on) { status_on_ping_ = on; }
    // Sends a message when the channel is open; false otherwise.
    bool send(vigil::ipc::Envelope envelope);
    // True between respawn() and the exit of the process it replaces.
    bool replacing() const { return respawn_; }
    // True once it was asked to go (respawn, disable, stop): its process answers nothing but Pings now.
    bool leaving() const { return respawn_ || disabled_ || stopping_; }
    // True when the process runs and its channel is open.
    bool connected() const { return channel_ && channel_->is_open(); }

    const std::string& role() const { return role_; }
    pid_t pid() const { return pid_; }
    vigil::control::ChildStatus::State state() const { return state_; }
    // Marks the child configured (its first Commit went out) with `generation`.
    void set_running(std::uint64_t generation);
    std::uint64_t generation() const { return generation_; }
    // Sets the text shown beside the state.
    void set_reason(std::string reason) { reason_ = std::move(reason); }
    // How long the previous process has been gone when this one started (for Restore), in ms.
    std::uint64_t gone_ms() const { return gone_ms_; }
    // Whether the current process replaces an earlier one of this child (a restart: Restore is due).
    bool restarted() const { return restarted_; }

    // The status line of this child.
    ChildReport report() const;

  private:
    void spawn_now();
    void schedule_restart(RestartBackoff::Duration delay);
    void arm_ping();
    void on_ping_timer();
    void on_channel_message(vigil::ipc::Envelope&& envelope);
    void on_channel_broken(const std::string& why);
    void close_channel();

    asio::io_context& io_;
    std::string role_;
    Hooks hooks_;
    Launch launch_;
    std::unique_ptr<common::ipc::Channel> channel_;
    asio::steady_timer ping_timer_;
    asio::steady_timer restart_timer_;
    asio::steady_timer kill_timer_;
    RestartBackoff backoff_;
    pid_t pid_ = 0;
    vigil::control::ChildStatus::State state_ = vigil::control::ChildStatus::DISABLED;
    std::string reason_;
    std::string last_exit_;  // why the previous process ended, shown while nothing more current is to say
    std::string pending_kill_reason_;
    std::uint32_t restarts_ = 0;
    std::uint64_t generation_ = 0;
    int missed_pongs_ = 0;
    bool status_on_ping_ = true;
    bool stopping_ = false;
    bool respawn_ = false;     // asked to stop so that it restarts with new launch settings
    bool respawning_ = false;  // that restart is due: not counted as a failure
    bool disabled_ = true;
    bool ever_ran_ = false;
    bool restarted_ = false;  // the current process is not the first one
    std::uint64_t gone_ms_ = 0;
    Clock::time_point started_at_{};
    Clock::time_point gone_at_{};
};

// "exited with status 1", "killed by SIGKILL".
std::string describe_wait_status(int wait_status);

}  // namespace vigil::parent
