#include "parent/child_process.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "common/child/protocol.hpp"
#include "common/sys/spawn.hpp"

namespace vigil::parent {

using vigil::control::ChildStatus;
namespace ipc = common::ipc;

std::string describe_wait_status(int st) {
    if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
    if (WIFSIGNALED(st)) {
        const char* name = sigabbrev_np(WTERMSIG(st));
        return std::string("killed by ") + (name ? std::string("SIG") + name : std::to_string(WTERMSIG(st)));
    }
    return "stopped (status " + std::to_string(st) + ")";
}

SupervisedChild::SupervisedChild(asio::io_context& io, std::string role, Hooks hooks)
    : io_(io),
      role_(std::move(role)),
      hooks_(std::move(hooks)),
      ping_timer_(io),
      restart_timer_(io),
      kill_timer_(io) {}

SupervisedChild::~SupervisedChild() {
    channel_.reset();
    if (pid_ > 0) ::kill(pid_, SIGKILL);
}

void SupervisedChild::start() {
    disabled_ = false;
    stopping_ = false;
    if (pid_ > 0) return;
    restart_timer_.cancel();
    spawn_now();
}

void SupervisedChild::spawn_now() {
    if (stopping_ || disabled_) return;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        spdlog::error("[{}] socketpair: {}", role_, std::strerror(errno));
        schedule_restart(backoff_.on_exit(RestartBackoff::Duration::zero()));
        return;
    }
    ipc::UniqueFd ours(sv[0]);
    ipc::UniqueFd theirs(sv[1]);
    common::sys::SpawnRequest req;
    req.path = launch_.executable;
    req.argv.push_back(launch_.executable);
    for (const auto& a : launch_.arguments) req.argv.push_back(a);
    req.pass_fd = theirs.get();
    req.pass_as = common::child::kChannelFd;
    req.lower_ambient = launch_.lower_ambient;
    auto spawned = common::sys::spawn(req);
    theirs.reset();
    if (!spawned) {
        state_ = ChildStatus::BACKOFF;
        reason_ = "cannot start: " + spawned.error();
        spdlog::error("[{}] cannot start {}: {}", role_, launch_.executable, spawned.error());
        schedule_restart(backoff_.on_exit(RestartBackoff::Duration::zero()));
        return;
    }
    if (ever_ran_) {
        // A respawn asked for by a reload is not a failure: it is not counted.
        if (!respawning_) ++restarts_;
        respawning_ = false;
        gone_ms_ = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - gone_at_).count());
    }
    // Set before on_started runs, which sends Restore only to a process that replaces another.
    restarted_ = ever_ran_;
    ever_ran_ = true;
    pid_ = spawned.value();
    started_at_ = Clock::now();
    state_ = ChildStatus::STARTING;
    reason_.clear();
    missed_pongs_ = 0;
    generation_ = 0;
    spdlog::info("[{}] started {} (pid {}){}", role_, launch_.executable, pid_,
                 restarts_ ? ", restart " + std::to_string(restarts_) : "");
    ipc::Channel::Callbacks cb;
    cb.on_message = [this](vigil::ipc::Envelope&& e) { on_channel_message(std::move(e)); };
    cb.on_error = [this](const ipc::Error& e) { on_channel_broken("protocol error: " + e.to_string()); };
    cb.on_eof = [this] { on_channel_broken("closed its channel"); };
    channel_ = std::make_unique<ipc::Channel>(io_, std::move(ours), ipc::Side::kParent, std::move(cb));
    channel_->start();
    arm_ping();
    if (hooks_.on_started) hooks_.on_started(*this);
}

void SupervisedChild::schedule_restart(RestartBackoff::Duration delay) {
    if (stopping_ || disabled_) return;
    state_ = ChildStatus::BACKOFF;
    if (delay > RestartBackoff::Duration::zero())
        spdlog::warn("[{}] restarting in {} s", role_, std::chrono::duration<double>(delay).count());
    restart_timer_.expires_after(delay);
    restart_timer_.async_wait([this](const asio::error_code& ec) {
        if (!ec) spawn_now();
    });
}

void SupervisedChild::arm_ping() {
    ping_timer_.expires_after(kPingInterval);
    ping_timer_.async_wait([this](const asio::error_code& ec) {
        if (!ec) on_ping_timer();
    });
}

void SupervisedChild::on_ping_timer() {
    if (pid_ <= 0 || !connected()) return;
    if (missed_pongs_ >= kMaxMissedPongs) {
        kill_and_replace("missed " + std::to_string(missed_pongs_) + " pongs (hung)");
        return;
    }
    ++missed_pongs_;
    // Status rides on the same tick and message when set_status_on_ping (vigil-vrrp): `vigilctl status` shows
    // its instances at most 1 s old. The checker's is asked for by each `vigilctl status` (Supervisor).
    vigil::ipc::Envelope ping;
    ping.mutable_ping()->set_want_status(status_on_ping_);
    channel_->send(std::move(ping), common::ipc::Channel::Priority::kUrgent);
    arm_ping();
}

void SupervisedChild::on_channel_message(vigil::ipc::Envelope&& e) {
    switch (e.payload_case()) {
        case vigil::ipc::Envelope::kPong:
            missed_pongs_ = 0;
            return;
        case vigil::ipc::Envelope::kPing: {
            vigil::ipc::Envelope pong;
            pong.mutable_pong()->set_ping_seq(e.seq());
            channel_->send(std::move(pong));
            return;
        }
        default:
            if (hooks_.on_message) hooks_.on_message(*this, std::move(e));
    }
}

void SupervisedChild::on_channel_broken(const std::string& why) {
    if (stopping_ || respawn_) {
        // Expected: it is on its way out. The exit arrives through SIGCHLD.
        return;
    }
    if (why.rfind("protocol error", 0) == 0) {
        spdlog::error("[{}] {}: restarting it", role_, why);
        kill_and_replace(why);
        return;
    }
    // EOF without an exit yet: give it a moment to exit on its own, then make sure.
    spdlog::warn("[{}] {}", role_, why);
    pending_kill_reason_ = why;
    kill_timer_.expires_after(std::chrono::seconds(2));
    kill_timer_.async_wait([this, pid = pid_](const asio::error_code& ec) {
        if (!ec && pid_ == pid && pid > 0) kill_and_replace(pending_kill_reason_ + ", did not exit");
    });
}

void SupervisedChild::kill_and_replace(const std::string& why) {
    if (pid_ <= 0) return;
    spdlog::error("[{}] killing pid {}: {}", role_, pid_, why);
    pending_kill_reason_ = why;
    close_channel();
    ping_timer_.cancel();
    ::kill(pid_, SIGKILL);
    if (hooks_.on_lost) hooks_.on_lost(*this);
}

void SupervisedChild::respawn(const std::string& why) {
    if (pid_ <= 0) return;
    spdlog::info("[{}] restarting it: {}", role_, why);
    respawn_ = true;
    vigil::ipc::Envelope bye;
    bye.mutable_shutdown();
    send(std::move(bye));
    kill_timer_.expires_after(std::chrono::seconds(5));
    kill_timer_.async_wait([this, pid = pid_](const asio::error_code& ec) {
        if (!ec && pid_ == pid && pid > 0) ::kill(pid, SIGKILL);
    });
}

void SupervisedChild::on_exit(int wait_status) {
    const auto what = describe_wait_status(wait_status);
    const auto ran_for = std::chrono::duration_cast<RestartBackoff::Duration>(Clock::now() - started_at_);
    close_channel();
    ping_timer_.cancel();
    kill_timer_.cancel();
    pid_ = 0;
    gone_at_ = Clock::now();
    generation_ = 0;
    if (stopping_ || disabled_) {
        spdlog::info("[{}] stopped ({})", role_, what);
        state_ = disabled_ && !stopping_ ? ChildStatus::DISABLED : ChildStatus::STOPPING;
        if (hooks_.on_lost) hooks_.on_lost(*this);
        if (stopping_ && hooks_.on_stopped) hooks_.on_stopped(*this);
        return;
    }
    if (hooks_.on_lost) hooks_.on_lost(*this);
    if (respawn_) {
        respawn_ = false;
        respawning_ = true;
        reason_ = "respawned";
        schedule_restart(RestartBackoff::Duration::zero());
        return;
    }
    const bool permanent =
        WIFEXITED(wait_status) && (WEXITSTATUS(wait_status) == common::child::kExitPermanent ||
                                   WEXITSTATUS(wait_status) == common::child::kExitUsage);
    if (permanent) {
        state_ = ChildStatus::FAILED;
        reason_ = what + ": permanent error, not restarted until a reload (see its log)";
        spdlog::critical(
            "[{}] {} (a permanent error: missing capability or bad command line); not restarting "
            "it until the next reload",
            role_, what);
        return;
    }
    reason_ = pending_kill_reason_.empty() ? what : pending_kill_reason_ + " (" + what + ")";
    last_exit_ = reason_;
    pending_kill_reason_.clear();
    spdlog::error("[{}] {} after {:.1f} s", role_, reason_, std::chrono::duration<double>(ran_for).count());
    schedule_restart(backoff_.on_exit(ran_for));
}

void SupervisedChild::stop(std::chrono::milliseconds grace) {
    stopping_ = true;
    restart_timer_.cancel();
    ping_timer_.cancel();
    if (pid_ <= 0) {
        state_ = ChildStatus::STOPPING;
        if (hooks_.on_stopped) hooks_.on_stopped(*this);
        return;
    }
    state_ = ChildStatus::STOPPING;
    spdlog::info("[{}] stopping pid {}", role_, pid_);
    vigil::ipc::Envelope bye;
    bye.mutable_shutdown();
    if (!send(std::move(bye))) ::kill(pid_, SIGTERM);
    kill_timer_.expires_after(grace);
    kill_timer_.async_wait([this, pid = pid_](const asio::error_code& ec) {
        if (!ec && pid_ == pid && pid > 0) {
            spdlog::warn("[{}] pid {} did not stop in time: killing it", role_, pid);
            ::kill(pid, SIGKILL);
        }
    });
}

void SupervisedChild::disable(const std::string& why) {
    disabled_ = true;
    restart_timer_.cancel();
    reason_ = why;
    if (pid_ <= 0) {
        state_ = ChildStatus::DISABLED;
        return;
    }
    spdlog::info("[{}] stopping it: {}", role_, why);
    vigil::ipc::Envelope bye;
    bye.mutable_shutdown();
    if (!send(std::move(bye))) ::kill(pid_, SIGTERM);
    kill_timer_.expires_after(std::chrono::seconds(5));
    kill_timer_.async_wait([this, pid = pid_](const asio::error_code& ec) {
        if (!ec && pid_ == pid && pid > 0) ::kill(pid, SIGKILL);
    });
}

bool SupervisedChild::send(vigil::ipc::Envelope envelope) {
    if (!connected()) return false;
    // Accepted, whether written at once or queued behind a full socket buffer (send() then returns 0).
    channel_->send(std::move(envelope));
    return channel_->is_open();
}

void SupervisedChild::set_running(std::uint64_t generation) {
    generation_ = generation;
    if (state_ == ChildStatus::STARTING) state_ = ChildStatus::RUNNING;
}

void SupervisedChild::close_channel() {
    if (channel_) {
        channel_->close();
        // Destroyed later from the loop: this may run inside one of its callbacks.
        std::shared_ptr<common::ipc::Channel> doomed(std::move(channel_));
        asio::post(io_, [doomed] {});
    }
}

ChildReport SupervisedChild::report() const {
    ChildReport r;
    r.role = role_;
    r.pid = pid_;
    r.state = state_;
    r.restarts = restarts_;
    if (pid_ > 0)
        r.uptime = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_at_);
    r.reason = reason_.empty() && !last_exit_.empty() ? "last exit: " + last_exit_ : reason_;
    r.generation = generation_;
    return r;
}

}  // namespace vigil::parent
