#pragma once
// vigild's event loop: the two children, signals (HUP reload, TERM/INT stop, CHLD reaping), reloads in two
// phases, the control socket, and what systemd is told. Single-threaded; nothing on it blocks.

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "parent/child_process.hpp"
#include "parent/config_parts.hpp"
#include "parent/control_server.hpp"
#include "parent/options.hpp"
#include "parent/privileges.hpp"
#include "parent/reload.hpp"
#include "parent/state_store.hpp"
#include "proto/config.pb.h"

namespace vigil::parent {

class Supervisor final : public ControlHandler {
  public:
    // How long children have to answer a reload's Configure, and to stop.
    static constexpr auto kConfigureTimeout = std::chrono::seconds(10);
    static constexpr auto kStopGrace = std::chrono::seconds(5);
    // How long `vigilctl status` waits for the checker's fresh Status before it answers with what vigild
    // last knew (a checker whose loop is that busy is still shown, with its last Status).
    static constexpr auto kStatusWait = std::chrono::seconds(1);

    Supervisor(asio::io_context& io, const Options& options, vigil::config::Config config,
               StartResources resources);
    ~Supervisor() override;

    // Runs the loop until the children are stopped after SIGTERM/SIGINT. Returns the exit status.
    int run();

    void status(std::function<void(const vigil::control::StatusResponse&)> done) override;
    void reload(std::function<void(const vigil::control::ReloadResult&)> done) override;
    vigil::control::ConfigResponse config() override;

  private:
    SupervisedChild::Hooks hooks();
    SupervisedChild::Launch launch_for(const std::string& role) const;
    void apply_children_to_config();
    void on_signal(int signo);
    void arm_signals();
    void reap();
    void on_started(SupervisedChild& child);
    void on_child_message(SupervisedChild& child, vigil::ipc::Envelope&& envelope);
    void on_config_result(SupervisedChild& child, const vigil::ipc::ConfigResult& result);
    void on_lost(SupervisedChild& child);
    SupervisedChild* other(SupervisedChild& child);
    // The status from what vigild keeps now.
    vigil::control::StatusResponse current_status();
    // Answers every waiting `vigilctl status` with current_status().
    void answer_status();

    void start_reload();
    void decide(ConfigTransaction::Decision decision);
    void finish_reload(vigil::control::ReloadResult result);
    void begin_stop(const char* why);
    void stop_next();

    asio::io_context& io_;
    Options options_;
    vigil::config::Config config_;
    std::uint64_t generation_ = 1;
    StartResources resources_;
    asio::signal_set signals_;
    std::unique_ptr<ControlServer> control_;
    std::unique_ptr<SupervisedChild> vrrp_;
    std::unique_ptr<SupervisedChild> checker_;
    StateStore store_;
    CheckerRaw checker_raw_{};  // what the running checker was started with

    ReloadQueue reloads_;
    std::optional<ConfigTransaction> txn_;
    vigil::config::Config pending_config_;
    std::vector<std::string> pending_warnings_;
    asio::steady_timer txn_timer_;
    std::optional<vigil::control::ReloadResult> last_reload_;

    // `vigilctl status` requests waiting for the checker's Status: one StatusRequest answers them all.
    std::vector<std::function<void(const vigil::control::StatusResponse&)>> status_waiters_;
    asio::steady_timer status_timer_;
    std::uint64_t status_round_ = 0;  // a timer that fired for an earlier round answers nobody
    // A StatusRequest is with the checker and its Status has not come yet: a new round waits for that one
    // rather than asking again (a script polling faster than a busy checker builds would queue them up).
    bool status_requested_ = false;

    bool stopping_ = false;
    int exit_status_ = 0;
};

// Where a child executable is: beside vigild, else the install's libexec folder. Empty when not found.
std::string find_child_executable(const std::string& name);

}  // namespace vigil::parent
