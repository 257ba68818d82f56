#pragma once
// Runs user scripts (vrrp_script, notify*, MISC_CHECK, check_script, notify_up/down, quorum_up/down) as
// DESIGN.md asks: in a forked process that leads its own session, drops every capability (effective,
// permitted, inheritable, ambient and, when it may, bounding) before exec, as the configured user, with stdin
// and stdout on /dev/null, no inherited descriptor and the usual soft RLIMIT_NOFILE of 1,024; TERM at the
// timeout (to its whole process group), KILL if it lingers; never blocking the event loop. The exit is
// observed through a pidfd on the loop, so no SIGCHLD handler is needed (the process must not reap with
// waitpid(-1)). The one implementation for both children.

#include <sys/types.h>

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::common::script {

// What to run and how.
struct ScriptSpec {
    std::vector<std::string> argv;  // argv[0] is the program; searched in PATH when it has no '/'
    std::optional<uid_t> uid;       // run as this user (script_user); unchanged when empty
    std::optional<gid_t> gid;
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};
    std::chrono::milliseconds kill_grace{std::chrono::seconds(1)};  // between TERM and KILL
};

// How a script ended.
struct ScriptResult {
    enum class Kind { kExited, kSignaled, kTimedOut, kSpawnFailed };
    Kind kind = Kind::kSpawnFailed;
    int code = 0;  // exit status, signal number, or errno for kSpawnFailed (0: `failed` says it all)
    // kSpawnFailed: what could not be done, e.g. "cannot exec /usr/bin/x", "unknown user bob".
    std::string failed;

    // True when the script exited with status 0.
    bool ok() const { return kind == Kind::kExited && code == 0; }
    // "exit 1", "killed by signal 9 (Killed)", "timeout after 3 s", "timeout after 0.5 s",
    // "cannot exec /x: No such file or directory".
    std::string reason(std::chrono::milliseconds timeout) const;
};

// Splits a keepalived script line into argv: blanks separate words, single and double quotes group them, a
// backslash escapes the next character (outside quotes and inside double quotes). No shell, no expansion.
std::vector<std::string> split_command(std::string_view line);

// Resolves a user name (or numeric uid) to uid and primary gid. Empty on failure.
std::optional<std::pair<uid_t, gid_t>> lookup_user(const std::string& name);
// Resolves a group name (or numeric gid). Empty on failure.
std::optional<gid_t> lookup_group(const std::string& name);

// Runs scripts on one executor. Destroying the runner kills (SIGKILL) the scripts still running and reaps
// them, without calling their callbacks.
class Runner {
  public:
    using Callback = std::function<void(const ScriptResult&)>;

    explicit Runner(asio::any_io_executor executor);
    explicit Runner(asio::io_context& io) : Runner(io.get_executor()) {}
    ~Runner();
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    // Starts `spec`; `done` (may be empty) is called on the loop when it has ended, never from inside run().
    void run(const ScriptSpec& spec, Callback done);

    // Number of scripts still running.
    std::size_t running() const { return jobs_.size(); }

  private:
    struct Job;
    void finish(Job* job, ScriptResult result);

    asio::any_io_executor executor_;
    std::vector<std::unique_ptr<Job>> jobs_;
};

}  // namespace vigil::common::script
