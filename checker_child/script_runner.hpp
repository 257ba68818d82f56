#pragma once
// Runs a script the way DESIGN.md asks: in a forked child that drops every capability (effective, permitted,
// inheritable, ambient and, when it may, bounding) before exec, as the configured user, with stdin from
// /dev/null and no inherited descriptors; TERM at the timeout, KILL if it lingers; reaped through a pidfd so
// the event loop never blocks. The caller's process must not reap with waitpid(-1).

#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "checker_child/checker_config.hpp"

namespace vigil::check {

struct ScriptRun {
    std::vector<std::string> argv;  // argv[0] is the program's path
    Duration timeout{std::chrono::seconds(10)};
    Duration kill_grace{std::chrono::seconds(2)};  // between TERM and KILL
    std::string user;                              // empty: keep the current user
    std::string group;                             // empty: the user's primary group
};

struct ScriptOutcome {
    enum class Kind { kExited, kSignaled, kTimedOut, kFailedToStart };
    Kind kind = Kind::kFailedToStart;
    int code = 0;  // exit status or signal number
    // "exit 1", "killed by signal 9", "timeout after 3 s", "cannot exec /x: No such file or directory".
    std::string reason;
};

// Splits a command line into words: blanks separate, single and double quotes group, backslash escapes (no
// shell, no expansion).
std::vector<std::string> split_command(const std::string& command);

// Runs the script to completion (or its timeout) without blocking the loop.
asio::awaitable<ScriptOutcome> run_script(ScriptRun run);

// Starts a script and forgets it (notify and quorum scripts); it is still timed out and reaped.
void spawn_script(const asio::any_io_executor& executor, ScriptRun run);

}  // namespace vigil::check
