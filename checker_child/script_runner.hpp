#pragma once
// The checker's scripts (MISC_CHECK, check_script, notify_up/down, quorum_up/down) on common/script's Runner,
// the one implementation both children use (DESIGN.md's rules: no capabilities, the configured user, a
// timeout, never blocking the loop): as a coroutine for the checks, fire-and-forget for notifications.
// One Runner per execution context; the context's shutdown kills what still runs.

#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "checker_child/checker_config.hpp"
#include "common/script/script_runner.hpp"

namespace vigil::check {

struct ScriptRun {
    std::vector<std::string> argv;  // argv[0] is the program (searched in PATH when it has no '/')
    Duration timeout{std::chrono::seconds(10)};
    Duration kill_grace{std::chrono::seconds(2)};  // between TERM and KILL
    std::string user;                              // empty: keep the current user
    std::string group;                             // empty: the user's primary group
};

struct ScriptOutcome {
    enum class Kind { kExited, kSignaled, kTimedOut, kFailedToStart };
    Kind kind = Kind::kFailedToStart;
    int code = 0;  // exit status or signal number
    // "exit 1", "killed by signal 9 (Killed)", "timeout after 3 s", "cannot exec /x: No such file or
    // directory".
    std::string reason;
};

using common::script::split_command;

// Runs the script to completion (or its timeout) without blocking the loop.
asio::awaitable<ScriptOutcome> run_script(ScriptRun run);

// Starts a script and forgets it (notify and quorum scripts); it is still timed out and reaped.
void spawn_script(const asio::any_io_executor& executor, ScriptRun run);

}  // namespace vigil::check
