#pragma once
// Runs user scripts (vrrp_script, notify*, MISC_CHECK, quorum_up/down) as DESIGN.md asks: in a forked process
// that drops every capability before exec, as the configured user, with a timeout (TERM, then KILL), never
// blocking the event loop. The exit is observed through a pidfd on the loop, so no SIGCHLD handler is needed.

#include <sys/types.h>

#include <asio.hpp>
#include <chrono>
#include <functional>
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
    int code = 0;  // exit status, signal number, or errno for kSpawnFailed

    // True when the script exited with status 0.
    bool ok() const { return kind == Kind::kExited && code == 0; }
    // "exit 1", "killed by signal 9", "timeout after 3 s", "cannot start: No such file or directory".
    std::string reason(std::chrono::milliseconds timeout) const;
};

// Splits a keepalived script line into argv: words separated by blanks, single or double quotes group words.
std::vector<std::string> split_command(std::string_view line);

// Resolves a user name (or numeric uid) to uid and primary gid. Empty on failure.
std::optional<std::pair<uid_t, gid_t>> lookup_user(const std::string& name);

// Runs scripts on one io_context. Destroying the runner kills (SIGKILL) the scripts still running and reaps
// them.
class Runner {
  public:
    using Callback = std::function<void(const ScriptResult&)>;

    explicit Runner(asio::io_context& io);
    ~Runner();
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    // Starts `spec`; `done` is called on the loop when it has ended (never from inside run()).
    void run(const ScriptSpec& spec, Callback done);

    // Number of scripts still running.
    std::size_t running() const { return jobs_.size(); }

  private:
    struct Job;
    void finish(Job* job, ScriptResult result);

    asio::io_context& io_;
    std::vector<std::unique_ptr<Job>> jobs_;
};

}  // namespace vigil::common::script
