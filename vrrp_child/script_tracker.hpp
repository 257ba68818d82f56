#pragma once
// Runs the vrrp_scripts that instances track, each on its own interval, and turns exit statuses into an
// up/down state with keepalived's rise/fall rules. Scripts run through common/script (no capabilities,
// timeout, never blocking the loop).

#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/script/script_runner.hpp"
#include "proto/config.pb.h"

namespace vigil::vrrp {

class ScriptTracker {
  public:
    // Called on the loop when a script's state changes (ok: up).
    using Callback = std::function<void(const std::string& name, bool ok)>;

    ScriptTracker(asio::io_context& io, common::script::Runner& runner, Callback on_change);
    ~ScriptTracker();

    // Tracks exactly `scripts` from now on. A script whose definition is unchanged keeps its state and
    // schedule; a new or changed one starts in its initial state (up, or down with init_fail) and runs at
    // once.
    void configure(const std::vector<vigil::config::VrrpScript>& scripts,
                   const vigil::config::GlobalDefs& globals);

    // Stops every schedule (scripts already running finish and are ignored).
    void stop();

    // The current state of script `name`; nullopt when not tracked.
    std::optional<bool> state(const std::string& name) const;

    // Initial states of every tracked script, to report before the instances start.
    std::map<std::string, bool> states() const;

  private:
    struct Tracked;
    void schedule(Tracked& t, std::chrono::milliseconds after);
    void run(Tracked& t);
    void result(Tracked& t, const common::script::ScriptResult& r);

    asio::io_context& io_;
    common::script::Runner& runner_;
    Callback on_change_;
    std::map<std::string, std::unique_ptr<Tracked>> scripts_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::vrrp
