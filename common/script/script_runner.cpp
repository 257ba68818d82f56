#include "common/script/script_runner.hpp"

#include "common/sys/sched.hpp"

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

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vigil::common::script {

namespace {

constexpr rlim_t kScriptNoFile = 1024;

// What the child reports through its pipe when it cannot get as far as the script.
enum Step : int { kDevNull = 1, kIdentity = 2, kCapabilities = 3, kExec = 4 };

int pidfd_open(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// In the forked child: from here on only async-signal-safe calls until exec. A failure's step and errno go
// into `report` (close-on-exec: it closes empty when exec succeeds).
[[noreturn]] void exec_child(const ScriptSpec& spec, char* const* argv, int report) {
    auto fail = [report](int step) {
        const int what[2] = {step, errno};
        [[maybe_unused]] auto n = ::write(report, what, sizeof what);
        ::_exit(127);
    };
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    ::setsid();  // its own session and process group: a timeout kills the script's children too
    const int null = ::open("/dev/null", O_RDWR);
    if (null < 0) fail(kDevNull);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    if (null > STDERR_FILENO) ::close(null);
    // Every descriptor above stderr but the report pipe goes, however many the daemon has open.
    for (int fd = STDERR_FILENO + 1; fd < report; ++fd) ::close(fd);
    ::syscall(SYS_close_range, report + 1, ~0U, 0);
    // A child may have raised its soft RLIMIT_NOFILE to the hard limit; a script gets the usual 1,024 back
    // (select() breaks above it), as systemd does for the services it starts.
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur > kScriptNoFile) {
        files.rlim_cur = files.rlim_max < kScriptNoFile ? files.rlim_max : kScriptNoFile;
        ::setrlimit(RLIMIT_NOFILE, &files);
    }
    // The VRRP child asks for a short time slice (vrrp_child/main.cpp); a script gets the default.
    common::sys::reset_slice();
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    capng_clear(CAPNG_SELECT_BOTH);
    if (spec.gid) {
        if (::setgroups(0, nullptr) != 0 && errno != EPERM) fail(kIdentity);
        if (::setresgid(*spec.gid, *spec.gid, *spec.gid) != 0) fail(kIdentity);
    }
    if (spec.uid && ::setresuid(*spec.uid, *spec.uid, *spec.uid) != 0) fail(kIdentity);
    // No capability survives into a script, whoever it runs as. The bounding set goes too when it may (it
    // needs CAP_SETPCAP, so it goes first): else a script run as root would get every capability back at
    // exec. Without CAP_SETPCAP the other sets are still emptied, and no_new_privs (set by the children)
    // keeps exec from granting any.
    if (capng_apply(CAPNG_SELECT_BOTH) != 0 && capng_apply(CAPNG_SELECT_CAPS) != 0) fail(kCapabilities);
    ::execvp(argv[0], argv);
    fail(kExec);
    ::_exit(127);
}

std::string describe_start_failure(int step, const std::string& program) {
    switch (step) {
        case kDevNull:
            return "cannot open /dev/null for " + program;
        case kIdentity:
            return "cannot change user for " + program;
        case kCapabilities:
            return "cannot drop capabilities for " + program;
        default:
            return "cannot exec " + program;
    }
}

std::string seconds(std::chrono::milliseconds d) {
    char buf[32];
    if (d.count() % 1000 == 0)
        std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(d.count() / 1000));
    else
        std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(d.count()) / 1000.0);
    return buf;
}

}  // namespace

struct Runner::Job {
    pid_t pid = -1;
    bool timed_out = false;
    bool reaped = false;  // from then on its pid may be another process's: no more kill()
    int report = -1;      // read end of the child's pipe
    std::string program;
    asio::posix::stream_descriptor pidfd;
    asio::steady_timer timer;
    Callback done;

    explicit Job(const asio::any_io_executor& ex) : pidfd(ex), timer(ex) {}
    ~Job() {
        if (report >= 0) ::close(report);
    }
};

std::string ScriptResult::reason(std::chrono::milliseconds timeout) const {
    switch (kind) {
        case Kind::kExited:
            return "exit " + std::to_string(code);
        case Kind::kSignaled:
            return "killed by signal " + std::to_string(code) + " (" + strsignal(code) + ")";
        case Kind::kTimedOut:
            return "timeout after " + seconds(timeout);
        case Kind::kSpawnFailed:
            if (code == 0) return failed.empty() ? "cannot start" : failed;
            return (failed.empty() ? std::string("cannot start") : failed) + ": " + std::strerror(code);
    }
    return "unknown";
}

std::vector<std::string> split_command(std::string_view line) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quote) {
            if (c == quote)
                quote = 0;
            else if (c == '\\' && quote == '"' && i + 1 < line.size())
                word += line[++i];
            else
                word += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == '\\' && i + 1 < line.size()) {
            word += line[++i];
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

std::optional<std::pair<uid_t, gid_t>> lookup_user(const std::string& name) {
    if (name.empty()) return std::nullopt;
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (all_digits(name))
        ::getpwuid_r(static_cast<uid_t>(std::stoul(name)), &pw, buf.data(), buf.size(), &found);
    else
        ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (!found) return std::nullopt;
    return std::make_pair(found->pw_uid, found->pw_gid);
}

std::optional<gid_t> lookup_group(const std::string& name) {
    if (name.empty()) return std::nullopt;
    group gr{};
    group* found = nullptr;
    std::vector<char> buf(16384);
    if (all_digits(name))
        ::getgrgid_r(static_cast<gid_t>(std::stoul(name)), &gr, buf.data(), buf.size(), &found);
    else
        ::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
    if (!found) return std::nullopt;
    return found->gr_gid;
}

Runner::Runner(asio::any_io_executor executor) : executor_(std::move(executor)) {}

Runner::~Runner() {
    for (auto& job : jobs_) {
        ::kill(-job->pid, SIGKILL);
        ::kill(job->pid, SIGKILL);
        ::waitpid(job->pid, nullptr, 0);
    }
}

void Runner::run(const ScriptSpec& spec, Callback done) {
    const std::string program = spec.argv.empty() ? std::string() : spec.argv[0];
    auto fail = [this, &done, &program](int err, std::string what) {
        ScriptResult r;
        r.kind = ScriptResult::Kind::kSpawnFailed;
        r.code = err;
        r.failed = std::move(what);
        if (done) asio::post(executor_, [done = std::move(done), r] { done(r); });
    };
    if (spec.argv.empty()) return fail(0, "empty command");
    std::vector<char*> argv;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return fail(errno, "pipe for " + program);
    const pid_t pid = ::fork();
    if (pid == 0) exec_child(spec, argv.data(), report[1]);
    const int fork_errno = errno;
    ::close(report[1]);
    if (pid < 0) {
        ::close(report[0]);
        return fail(fork_errno, "cannot fork for " + program);
    }
    const int fd = pidfd_open(pid);
    if (fd < 0) {
        const int err = errno;
        ::close(report[0]);
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return fail(err, "pidfd_open for " + program);
    }
    auto job = std::make_unique<Job>(executor_);
    job->pid = pid;
    job->report = report[0];
    job->program = program;
    job->done = std::move(done);
    job->pidfd.assign(fd);
    Job* raw = job.get();
    jobs_.push_back(std::move(job));

    // The pidfd becomes readable when the child has exited; then the pipe says whether it ever got to exec
    // (read only then, so a slow fork and exec never hold up the loop).
    raw->pidfd.async_wait(asio::posix::stream_descriptor::wait_read, [this, raw](const asio::error_code& ec) {
        if (ec == asio::error::operation_aborted) return;
        int status = 0;
        ScriptResult r;
        const bool reaped = ::waitpid(raw->pid, &status, WNOHANG) == raw->pid;
        raw->reaped = reaped;
        int what[2] = {0, 0};
        ssize_t n;
        do n = ::read(raw->report, what, sizeof what);
        while (n < 0 && errno == EINTR);
        if (n == static_cast<ssize_t>(sizeof what)) {
            r.kind = ScriptResult::Kind::kSpawnFailed;
            r.code = what[1];
            r.failed = describe_start_failure(what[0], raw->program);
        } else if (!reaped) {
            r.kind = ScriptResult::Kind::kSpawnFailed;
            r.failed = "lost track of " + raw->program;
        } else if (raw->timed_out) {
            r.kind = ScriptResult::Kind::kTimedOut;
        } else if (WIFEXITED(status)) {
            r.kind = ScriptResult::Kind::kExited;
            r.code = WEXITSTATUS(status);
        } else {
            r.kind = ScriptResult::Kind::kSignaled;
            r.code = WTERMSIG(status);
        }
        finish(raw, r);
    });
    auto grace = spec.kill_grace;
    raw->timer.expires_after(spec.timeout);
    raw->timer.async_wait([raw, grace](const asio::error_code& ec) {
        if (ec || raw->reaped) return;
        raw->timed_out = true;
        // The script leads its own session: the whole group goes, not just the shell.
        ::kill(-raw->pid, SIGTERM);
        ::kill(raw->pid, SIGTERM);
        raw->timer.expires_after(grace);
        raw->timer.async_wait([raw](const asio::error_code& ec2) {
            if (ec2 || raw->reaped) return;
            ::kill(-raw->pid, SIGKILL);
            ::kill(raw->pid, SIGKILL);
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
    asio::post(executor_, [owned = std::shared_ptr<Job>(std::move(owned))] {});
    if (done) done(result);
}

}  // namespace vigil::common::script
