#include "common/script/script_runner.hpp"

#include <cap-ng.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace vigil::common::script {

namespace {

int pidfd_open(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// In the forked child: from here on only async-signal-safe calls until exec.
[[noreturn]] void exec_child(const ScriptSpec& spec, char* const* argv, int err_fd) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    setsid();
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        if (devnull > STDERR_FILENO) close(devnull);
    }
    // Every descriptor but stdio and the error pipe (close-on-exec) goes.
    for (int fd = STDERR_FILENO + 1; fd < 1024; ++fd)
        if (fd != err_fd) close(fd);
    int err = 0;
    if (spec.gid && (setgroups(0, nullptr) != 0 || setgid(*spec.gid) != 0)) err = errno;
    if (!err && spec.uid && setuid(*spec.uid) != 0) err = errno;
    if (!err) {
        // No capability survives into a script, whoever it runs as.
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        capng_clear(CAPNG_SELECT_BOTH);
        if (capng_apply(CAPNG_SELECT_BOTH) != 0 && geteuid() == 0) err = EPERM;
    }
    if (!err) {
        execvp(argv[0], argv);
        err = errno;
    }
    (void)!write(err_fd, &err, sizeof err);
    _exit(127);
}

}  // namespace

struct Runner::Job {
    pid_t pid = -1;
    std::chrono::milliseconds timeout{0};
    bool timed_out = false;
    asio::posix::stream_descriptor pidfd;
    asio::steady_timer timer;
    Callback done;

    explicit Job(asio::io_context& io) : pidfd(io), timer(io) {}
};

std::string ScriptResult::reason(std::chrono::milliseconds timeout) const {
    switch (kind) {
        case Kind::kExited:
            return "exit " + std::to_string(code);
        case Kind::kSignaled:
            return "killed by signal " + std::to_string(code) + " (" + strsignal(code) + ")";
        case Kind::kTimedOut: {
            auto ms = timeout.count();
            return ms % 1000 == 0 ? "timeout after " + std::to_string(ms / 1000) + " s"
                                  : "timeout after " + std::to_string(ms) + " ms";
        }
        case Kind::kSpawnFailed:
            return std::string("cannot start: ") + std::strerror(code);
    }
    return "unknown";
}

std::vector<std::string> split_command(std::string_view line) {
    std::vector<std::string> out;
    std::string cur;
    bool have = false;
    char quote = 0;
    for (char c : line) {
        if (quote) {
            if (c == quote)
                quote = 0;
            else
                cur += c;
        } else if (c == '"' || c == '\'') {
            quote = c;
            have = true;
        } else if (c == ' ' || c == '\t') {
            if (have) out.push_back(std::move(cur));
            cur.clear();
            have = false;
        } else {
            cur += c;
            have = true;
        }
    }
    if (have) out.push_back(std::move(cur));
    return out;
}

std::optional<std::pair<uid_t, gid_t>> lookup_user(const std::string& name) {
    if (name.empty()) return std::nullopt;
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        getpwuid_r(static_cast<uid_t>(std::stoul(name)), &pw, buf.data(), buf.size(), &found);
    } else {
        getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    }
    if (!found) return std::nullopt;
    return std::make_pair(found->pw_uid, found->pw_gid);
}

Runner::Runner(asio::io_context& io) : io_(io) {}

Runner::~Runner() {
    for (auto& job : jobs_) {
        ::kill(-job->pid, SIGKILL);
        ::waitpid(job->pid, nullptr, 0);
    }
}

void Runner::run(const ScriptSpec& spec, Callback done) {
    auto fail = [this, &done](int err) {
        ScriptResult r;
        r.kind = ScriptResult::Kind::kSpawnFailed;
        r.code = err;
        asio::post(io_, [done = std::move(done), r] { done(r); });
    };
    if (spec.argv.empty()) return fail(ENOENT);
    std::vector<char*> argv;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    int err_pipe[2];
    if (pipe2(err_pipe, O_CLOEXEC) != 0) return fail(errno);
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(err_pipe[0]);
        close(err_pipe[1]);
        return fail(err);
    }
    if (pid == 0) exec_child(spec, argv.data(), err_pipe[1]);
    close(err_pipe[1]);
    // The pipe closes at exec; a value in it is the errno of a failed setup or exec.
    int child_err = 0;
    ssize_t n;
    do n = read(err_pipe[0], &child_err, sizeof child_err);
    while (n < 0 && errno == EINTR);
    close(err_pipe[0]);
    if (n == sizeof child_err) {
        ::waitpid(pid, nullptr, 0);
        return fail(child_err);
    }

    int fd = pidfd_open(pid);
    if (fd < 0) {
        int err = errno;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return fail(err);
    }
    auto job = std::make_unique<Job>(io_);
    job->pid = pid;
    job->timeout = spec.timeout;
    job->done = std::move(done);
    job->pidfd.assign(fd);
    Job* raw = job.get();
    jobs_.push_back(std::move(job));

    raw->pidfd.async_wait(asio::posix::stream_descriptor::wait_read, [this, raw](const asio::error_code& ec) {
        if (ec == asio::error::operation_aborted) return;
        int status = 0;
        ScriptResult r;
        if (::waitpid(raw->pid, &status, WNOHANG) == raw->pid) {
            if (raw->timed_out) {
                r.kind = ScriptResult::Kind::kTimedOut;
            } else if (WIFEXITED(status)) {
                r.kind = ScriptResult::Kind::kExited;
                r.code = WEXITSTATUS(status);
            } else {
                r.kind = ScriptResult::Kind::kSignaled;
                r.code = WTERMSIG(status);
            }
        }
        finish(raw, r);
    });
    auto grace = spec.kill_grace;
    raw->timer.expires_after(spec.timeout);
    raw->timer.async_wait([raw, grace](const asio::error_code& ec) {
        if (ec) return;
        raw->timed_out = true;
        // The script leads its own session: the whole group goes, not just the shell.
        ::kill(-raw->pid, SIGTERM);
        raw->timer.expires_after(grace);
        raw->timer.async_wait([raw](const asio::error_code& ec2) {
            if (!ec2) ::kill(-raw->pid, SIGKILL);
        });
    });
}

void Runner::finish(Job* job, ScriptResult result) {
    auto it = std::find_if(jobs_.begin(), jobs_.end(), [job](const auto& j) { return j.get() == job; });
    if (it == jobs_.end()) return;
    std::unique_ptr<Job> owned = std::move(*it);
    jobs_.erase(it);
    owned->timer.cancel();
    auto done = std::move(owned->done);
    // The job (and its pidfd) must outlive the handler that is running now: destroy it later on the loop.
    asio::post(io_, [owned = std::shared_ptr<Job>(std::move(owned))] {});
    done(result);
}

}  // namespace vigil::common::script
