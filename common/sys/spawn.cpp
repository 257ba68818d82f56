#include "common/sys/spawn.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

#include "common/ipc/unique_fd.hpp"
#include "common/sys/capabilities.hpp"

namespace vigil::common::sys {

namespace {

// Reports the failing step and errno to the parent, then exits. Async-signal-safe.
[[noreturn]] void child_fail(int report_fd, int step) {
    int msg[2] = {step, errno};
    [[maybe_unused]] auto n = ::write(report_fd, msg, sizeof msg);
    _exit(127);
}

void close_from(unsigned first, unsigned last) {
    if (first > last) return;
    if (::syscall(SYS_close_range, first, last, 0) != 0) {
        // Kernels before 5.9: close one by one up to a sane limit.
        for (unsigned fd = first; fd <= last && fd < 65536; ++fd) ::close(static_cast<int>(fd));
    }
}

const char* step_name(int step) {
    switch (step) {
        case 1:
            return "moving the channel descriptor";
        case 2:
            return "lowering an ambient capability";
        case 3:
            return "exec";
        default:
            return "preparing the child";
    }
}

}  // namespace

std::string executable_dir() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return ".";
    return exe.parent_path().string();
}

Result<pid_t> spawn(const SpawnRequest& request) {
    using R = Result<pid_t>;
    if (request.pass_as <= 2) return R::failure("the passed descriptor must be above 2");
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return R::failure(std::string("pipe2: ") + std::strerror(errno));
    common::ipc::UniqueFd report_read(pipefd[0]);
    // The report end must survive the descriptor shuffle: keep it above pass_as.
    common::ipc::UniqueFd report_write(::fcntl(pipefd[1], F_DUPFD_CLOEXEC, request.pass_as + 1));
    ::close(pipefd[1]);
    if (!report_write) return R::failure(std::string("fcntl: ") + std::strerror(errno));

    std::vector<char*> argv;
    for (const auto& a : request.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) return R::failure(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        const int rep = report_write.get();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
        if (request.pass_fd == request.pass_as) {
            if (::fcntl(request.pass_as, F_SETFD, 0) != 0) child_fail(rep, 1);
        } else if (request.pass_fd >= 0) {
            if (::dup2(request.pass_fd, request.pass_as) < 0) child_fail(rep, 1);
        }
        close_from(static_cast<unsigned>(request.pass_as) + 1, static_cast<unsigned>(rep) - 1);
        close_from(static_cast<unsigned>(rep) + 1, UINT_MAX);
        // Descriptors 3 .. pass_as-1 too.
        close_from(3, static_cast<unsigned>(request.pass_as) - 1);
        for (int cap : request.lower_ambient)
            if (!lower_ambient(cap)) child_fail(rep, 2);
        ::execv(request.path.c_str(), argv.data());
        child_fail(rep, 3);
    }
    report_write.reset();
    int msg[2];
    ssize_t n;
    do {
        n = ::read(report_read.get(), msg, sizeof msg);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof msg)) {
        // The child exited with 127; it is reaped by whoever reaps children (the supervisor's SIGCHLD
        // handling).
        return R::failure(std::string(step_name(msg[0])) + " " + request.path + ": " + std::strerror(msg[1]));
    }
    return pid;
}

}  // namespace vigil::common::sys
