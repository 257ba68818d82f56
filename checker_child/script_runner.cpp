#include "checker_child/script_runner.hpp"

#include <cap-ng.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "checker_child/net_util.hpp"

namespace vigil::check {

std::vector<std::string> split_command(const std::string& command) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < command.size(); ++i) {
        const char c = command[i];
        if (quote) {
            if (c == quote) {
                quote = 0;
            } else if (c == '\\' && quote == '"' && i + 1 < command.size()) {
                word += command[++i];
            } else {
                word += c;
            }
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == '\\' && i + 1 < command.size()) {
            word += command[++i];
            in_word = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (in_word) words.push_back(std::move(word));
    return words;
}

namespace {

constexpr rlim_t kScriptNoFile = 1024;

struct Identity {
    bool change = false;
    uid_t uid = 0;
    gid_t gid = 0;
};

// Resolves user/group before fork: the child must only call async-signal-safe functions.
std::string resolve_identity(const ScriptRun& run, Identity& id) {
    if (run.user.empty()) return {};
    const passwd* pw = ::getpwnam(run.user.c_str());
    if (!pw) return "unknown user " + run.user;
    id.change = true;
    id.uid = pw->pw_uid;
    id.gid = pw->pw_gid;
    if (!run.group.empty()) {
        const group* gr = ::getgrnam(run.group.c_str());
        if (!gr) return "unknown group " + run.group;
        id.gid = gr->gr_gid;
    }
    return {};
}

// In the child, between fork and exec. Reports a failure's errno through `report` and exits.
[[noreturn]] void exec_child(char* const* argv, const Identity& id, int report) {
    auto fail = [report](int step) {  // exits the child
        const int err[2] = {step, errno};
        [[maybe_unused]] auto n = ::write(report, err, sizeof err);
        ::_exit(127);
    };
    ::setpgid(0, 0);  // its own group, so a timeout kills the script's children too
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    const int null = ::open("/dev/null", O_RDWR);
    if (null < 0) fail(1);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    if (null > STDERR_FILENO) ::close(null);
    // Every descriptor above stderr but the report pipe (close-on-exec) goes.
    for (int fd = 3; fd < report; ++fd) ::close(fd);
    ::syscall(SYS_close_range, report + 1, ~0U, 0);
    // The checker raised its own soft RLIMIT_NOFILE to the hard limit; a script gets the usual 1,024 back
    // (select() breaks above it), as systemd does for the services it starts.
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur > kScriptNoFile) {
        files.rlim_cur = files.rlim_max < kScriptNoFile ? files.rlim_max : kScriptNoFile;
        ::setrlimit(RLIMIT_NOFILE, &files);
    }

    // Clear every capability set. Dropping the bounding set needs CAP_SETPCAP; without it the other sets are
    // still empty and no_new_privs (set by the checker) keeps exec from granting any.
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    capng_clear(CAPNG_SELECT_BOTH);
    if (id.change) {
        if (::setgroups(0, nullptr) != 0 && errno != EPERM) fail(2);
        if (::setresgid(id.gid, id.gid, id.gid) != 0) fail(2);
        if (::setresuid(id.uid, id.uid, id.uid) != 0) fail(2);
    }
    if (capng_apply(CAPNG_SELECT_BOTH) != 0) fail(3);
    ::execv(argv[0], argv);
    fail(4);
    ::_exit(127);
}

std::string describe_start_failure(int step, int err, const std::string& program) {
    const char* what = step == 1   ? "cannot open /dev/null"
                       : step == 2 ? "cannot change user"
                       : step == 3 ? "cannot drop capabilities"
                                   : "cannot exec";
    return std::string(what) + " " + program + ": " + std::strerror(err);
}

}  // namespace

asio::awaitable<ScriptOutcome> run_script(ScriptRun run) {
    ScriptOutcome outcome;
    if (run.argv.empty()) {
        outcome.reason = "empty command";
        co_return outcome;
    }
    Identity id;
    if (auto err = resolve_identity(run, id); !err.empty()) {
        outcome.reason = err;
        co_return outcome;
    }
    std::vector<char*> argv;
    for (auto& a : run.argv) argv.push_back(a.data());
    argv.push_back(nullptr);

    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
        outcome.reason = std::string("pipe: ") + std::strerror(errno);
        co_return outcome;
    }
    const pid_t pid = ::fork();
    if (pid == 0) exec_child(argv.data(), id, report[1]);
    ::close(report[1]);
    if (pid < 0) {
        ::close(report[0]);
        outcome.reason = std::string("fork: ") + std::strerror(errno);
        co_return outcome;
    }

    auto executor = co_await asio::this_coro::executor;
    // The pidfd becomes readable when the child exits; waiting on it never blocks the loop.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    asio::posix::stream_descriptor exit_watch(executor);
    asio::posix::stream_descriptor report_watch(executor, report[0]);
    if (pidfd >= 0) exit_watch.assign(pidfd);

    bool timed_out = false;
    asio::steady_timer timer(executor);
    timer.expires_after(run.timeout);
    auto term_then_kill = [&, pid](auto self, int sig) -> void {
        timer.async_wait([&, pid, self, sig](const std::error_code& ec) {
            if (ec) return;
            timed_out = true;
            ::kill(-pid, sig);
            ::kill(pid, sig);
            if (sig == SIGTERM) {
                timer.expires_after(run.kill_grace);
                self(self, SIGKILL);
            }
        });
    };
    term_then_kill(term_then_kill, SIGTERM);

    std::error_code ec;
    if (pidfd >= 0) {
        co_await exit_watch.async_wait(asio::posix::stream_descriptor::wait_read,
                                       asio::redirect_error(asio::use_awaitable, ec));
    } else {
        // No pidfd (very old kernel): poll without blocking.
        asio::steady_timer poll(executor);
        while (::waitpid(pid, nullptr, WNOHANG | WNOWAIT) == 0) {
            poll.expires_after(std::chrono::milliseconds(20));
            co_await poll.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }
    timer.cancel();
    int status = 0;
    ::waitpid(pid, &status, 0);  // the child has exited: this returns at once

    int err[2] = {0, 0};
    const auto n = ::read(report[0], err, sizeof err);
    if (n == static_cast<ssize_t>(sizeof err)) {
        outcome.kind = ScriptOutcome::Kind::kFailedToStart;
        outcome.reason = describe_start_failure(err[0], err[1], run.argv[0]);
    } else if (timed_out) {
        outcome.kind = ScriptOutcome::Kind::kTimedOut;
        outcome.reason = "timeout after " + format_duration(run.timeout);
    } else if (WIFEXITED(status)) {
        outcome.kind = ScriptOutcome::Kind::kExited;
        outcome.code = WEXITSTATUS(status);
        outcome.reason = "exit " + std::to_string(outcome.code);
    } else {
        outcome.kind = ScriptOutcome::Kind::kSignaled;
        outcome.code = WTERMSIG(status);
        outcome.reason = "killed by signal " + std::to_string(outcome.code);
    }
    co_return outcome;
}

void spawn_script(const asio::any_io_executor& executor, ScriptRun run) {
    asio::co_spawn(executor, run_script(std::move(run)), [](std::exception_ptr, ScriptOutcome) {});
}

}  // namespace vigil::check
