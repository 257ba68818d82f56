// run_child(): what happens to a child process between exec and its event loop, and around it.
#include <cap-ng.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <iostream>

#include "common/child/runtime.hpp"
#include "vigil/version.hpp"

namespace vigil::common::child {

namespace {

std::string capability_name(int cap) {
    const char* name = capng_capability_to_name(static_cast<unsigned int>(cap));
    std::string s = name ? name : "cap " + std::to_string(cap);
    for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return s.rfind("CAP_", 0) == 0 ? s : "CAP_" + s;
}

std::string joined_names(const std::vector<int>& caps) {
    std::string out;
    for (int cap : caps) {
        if (!out.empty()) out += ' ';
        out +=
            capability_name(cap);  // not `"literal" + std::string`: g++ 12 false -Wrestrict (GCC bug 105651)
    }
    return out.empty() ? "none" : out;
}

// Returns the capabilities of `required` missing from the effective set.
std::vector<int> missing_capabilities(const std::vector<int>& required) {
    capng_get_caps_process();
    std::vector<int> missing;
    for (int cap : required)
        if (capng_have_capability(CAPNG_EFFECTIVE, static_cast<unsigned int>(cap)) == 0)
            missing.push_back(cap);
    return missing;
}

// Keeps exactly `required` in the effective and permitted sets: nothing inheritable, nothing ambient, so a
// script or anything else this child execs starts with none (common/script clears them again, on purpose).
std::string keep_only(const std::vector<int>& required) {
    capng_clear(CAPNG_SELECT_CAPS);
    for (int cap : required)
        if (capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED),
                         static_cast<unsigned int>(cap)) != 0)
            return "capng_update " + capability_name(cap);
    if (capng_apply(CAPNG_SELECT_CAPS) != 0) return "capng_apply failed";
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return std::string("PR_CAP_AMBIENT_CLEAR_ALL: ") + std::strerror(errno);
    return {};
}

// The channel must be what vigild hands over: a SOCK_SEQPACKET socket at `fd`.
std::string check_channel(int fd) {
    if (::fcntl(fd, F_GETFD) < 0) return "descriptor " + std::to_string(fd) + " is not open";
    int type = 0;
    socklen_t len = sizeof(type);
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET)
        return "descriptor " + std::to_string(fd) + " is not a SOCK_SEQPACKET socket";
    // Not inherited by anything we exec (scripts).
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return {};
}

// Hardening that needs no privilege: die with the parent, never gain privileges through exec.
std::string harden() {
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0)
        return std::string("PR_SET_PDEATHSIG: ") + std::strerror(errno);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno);
    return {};
}

int run_loop(const ChildSpec& spec, const ChildArguments& args) {
    // A child is one thread with one loop (no resolver, no thread pool), so the loop needs no locks: an idle
    // VRRP master at advert_int 0.01 otherwise takes and releases the scheduler's and reactor's mutexes for
    // each of its hundred adverts a second.
    asio::io_context io(ASIO_CONCURRENCY_HINT_UNSAFE);
    // SIGHUP is the parent's business (reload) and SIGPIPE is handled per socket: both are caught here rather
    // than ignored, so that a script we exec starts with default dispositions.
    asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
    signals.add(SIGPIPE);
    auto handler = spec.make_handler(args, io);
    Runtime runtime(io, ipc::UniqueFd(args.channel_fd), *handler);
    runtime.on_finished([&io] { io.stop(); });

    std::function<void(const asio::error_code&, int)> on_signal = [&](const asio::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGTERM || sig == SIGINT)
            runtime.request_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
        else
            spdlog::debug("signal {} ignored", sig);
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);
    runtime.start();
    handler->run(io);
    return runtime.exit_status().value_or(kExitFailure);
}

}  // namespace

int run_child(int argc, char** argv, const ChildSpec& spec) {
    auto parsed = parse_child_arguments(argc, argv);
    if (!parsed.error.empty()) {
        std::cerr << spec.ident << ": " << parsed.error << " (this program is started by vigild)\n";
        return kExitUsage;
    }
    ChildArguments& args = parsed.args;
    args.log.ident = spec.ident;
    if (auto err = log::setup(args.log); !err.empty()) {
        std::cerr << spec.ident << ": " << err << "\n";
        return kExitUsage;
    }
    if (auto err = harden(); !err.empty()) {
        spdlog::critical("{}", err);
        return kExitFailure;
    }
    const std::vector<int> required = spec.required_capabilities(args);
    if (auto missing = missing_capabilities(required); !missing.empty()) {
        spdlog::critical(
            "missing capability {} in the effective set (needs {}); start vigild as root, or with "
            "AmbientCapabilities={} (systemd); not retrying",
            joined_names(missing), joined_names(required), joined_names(required));
        return kExitPermanent;
    }
    // Descriptors that need a capability the child then gives up are opened now.
    if (spec.before_trim) spec.before_trim(args);
    if (auto err = keep_only(required); !err.empty()) {
        spdlog::critical("cannot drop capabilities: {}", err);
        return kExitFailure;
    }
    if (auto err = check_channel(args.channel_fd); !err.empty()) {
        spdlog::critical("{}: {} is started by vigild, not by hand", err, spec.ident);
        return kExitUsage;
    }
    spdlog::info("{} {} started, capabilities: {}", spec.ident, kVersion, joined_names(required));
    try {
        int status = run_loop(spec, args);
        spdlog::info("{} exits with status {}", spec.ident, status);
        return status;
    } catch (const std::exception& ex) {
        spdlog::critical("{} failed: {}", spec.ident, ex.what());
        return kExitFailure;
    }
}

}  // namespace vigil::common::child
