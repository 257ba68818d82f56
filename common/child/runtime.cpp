#include "common/child/runtime.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace vigil::common::child {

namespace {

using vigil::ipc::Envelope;

std::string generation_text(const std::optional<std::uint64_t>& g) {
    return g ? std::to_string(*g) : "none";
}

}  // namespace

Runtime::Runtime(asio::io_context& io, ipc::UniqueFd fd, Handler& handler)
    : channel_(io, std::move(fd), ipc::Side::kChild,
               ipc::Channel::Callbacks{
                   .on_message = [this](Envelope&& e) { dispatch(std::move(e)); },
                   .on_error =
                       [this](const ipc::Error& error) {
                           if (error.code == ipc::ErrorCode::kSendFailed ||
                               error.code == ipc::ErrorCode::kReceiveFailed) {
                               // The parent is most likely gone: stop as on EOF, releasing what we hold.
                               spdlog::error("channel to vigild failed ({}): stopping", error.to_string());
                               begin_stop(kExitFailure);
                           } else {
                               protocol_error(error.to_string());
                           }
                       },
                   .on_eof =
                       [this] {
                           spdlog::warn("vigild closed the channel (it exited or died): stopping");
                           begin_stop(kExitOk);
                       },
               }),
      handler_(handler) {}

Runtime::~Runtime() {
    *alive_ = false;
}

void Runtime::start() {
    handler_.start(*this);
    channel_.start();
}

void Runtime::request_stop(const std::string& why) {
    if (stopping_) {
        spdlog::warn("{} while stopping: exiting without waiting", why);
        channel_.close();
        finish(kExitFailure);
        return;
    }
    spdlog::info("{}: stopping", why);
    begin_stop(kExitOk);
}

void Runtime::begin_stop(int status) {
    if (stopping_ || exit_status_) return;
    stopping_ = true;
    std::weak_ptr<bool> alive = alive_;
    guarded("stop", [&] {
        handler_.stop([this, alive, status] {
            if (!alive.lock()) return;
            channel_.close();
            finish(status);
        });
    });
}

void Runtime::send(Envelope envelope) {
    if (!ipc::payload_allowed(ipc::Side::kChild, envelope.payload_case())) {
        spdlog::error("bug: a child may not send {}; dropped", ipc::payload_name(envelope.payload_case()));
        return;
    }
    channel_.send(std::move(envelope));
}

void Runtime::send_status() {
    Envelope e;
    auto* status = e.mutable_status();
    status->set_generation(committed_);
    guarded("fill_status", [&] { handler_.fill_status(*status); });
    channel_.send(std::move(e));
}

void Runtime::dispatch(Envelope&& e) {
    if (exit_status_) return;
    if (stopping_ && e.payload_case() != Envelope::kPing) {
        spdlog::debug("stopping: ignored {} from vigild", ipc::payload_name(e.payload_case()));
        return;
    }
    switch (e.payload_case()) {
        case Envelope::kPing: {
            Envelope pong;
            pong.mutable_pong()->set_ping_seq(e.seq());
            // Ahead of whatever waits to be written (50,000 Health messages after a switch fails): the
            // parent judges this loop's liveness, not the depth of its queue.
            channel_.send(std::move(pong), ipc::Channel::Priority::kUrgent);
            if (e.ping().want_status() && !stopping_) send_status();
            break;
        }
        case Envelope::kPong:
            break;  // we never ping; a stray Pong is harmless
        case Envelope::kConfigure:
            on_configure(e.configure());
            break;
        case Envelope::kCommit:
            on_commit(e.commit().generation());
            break;
        case Envelope::kAbort:
            on_abort(e.abort().generation());
            break;
        case Envelope::kRestore:
            guarded("restore", [&] { handler_.restore(e.restore().snapshot()); });
            break;
        case Envelope::kStatusRequest:
            send_status();
            break;
        case Envelope::kVrrpState:
        case Envelope::kHealth:
            guarded("on_peer_message", [&] { handler_.on_peer_message(e); });
            break;
        case Envelope::kShutdown:
            spdlog::info("shutdown requested by vigild: stopping");
            begin_stop(kExitOk);
            break;
        default:
            // decode() lets through only what a parent may send; anything else here is a bug of ours.
            protocol_error(std::string("unhandled ") + std::string(ipc::payload_name(e.payload_case())));
            break;
    }
}

void Runtime::on_configure(const vigil::ipc::Configure& configure) {
    const std::uint64_t g = configure.generation();
    if (g <= committed_) {
        protocol_error("configure of generation " + std::to_string(g) + ", but " +
                       std::to_string(committed_) + " is running");
        return;
    }
    if (prepared_) {
        // The parent gave up on the previous one (it would have sent Abort); drop it before preparing anew.
        spdlog::warn("generation {} replaces prepared generation {}", g, *prepared_);
        guarded("abort", [&] { handler_.abort(*prepared_); });
    }
    std::vector<std::string> errors;
    bool ran = guarded("prepare", [&] { errors = handler_.prepare(g, configure.config()); });
    if (!ran) return;
    prepared_ = g;
    prepared_ok_ = errors.empty();
    if (prepared_ok_)
        spdlog::info("generation {} prepared", g);
    else
        for (const auto& err : errors) spdlog::error("generation {} refused: {}", g, err);

    Envelope reply;
    auto* result = reply.mutable_config_result();
    result->set_generation(g);
    result->set_ok(prepared_ok_);
    for (auto& err : errors) result->add_errors(std::move(err));
    channel_.send(std::move(reply));
}

void Runtime::on_commit(std::uint64_t g) {
    if (!prepared_ || *prepared_ != g || !prepared_ok_) {
        protocol_error("commit of generation " + std::to_string(g) + ", prepared: " +
                       generation_text(prepared_) + (prepared_ && !prepared_ok_ ? " (refused)" : ""));
        return;
    }
    prepared_.reset();
    if (!guarded("commit", [&] { handler_.commit(g); })) return;
    committed_ = g;
    spdlog::info("generation {} committed", g);
    send_status();
}

void Runtime::on_abort(std::uint64_t g) {
    if (!prepared_ || *prepared_ != g) {
        protocol_error("abort of generation " + std::to_string(g) +
                       ", prepared: " + generation_text(prepared_));
        return;
    }
    prepared_.reset();
    guarded("abort", [&] { handler_.abort(g); });
    spdlog::info("generation {} aborted", g);
}

void Runtime::protocol_error(const std::string& what) {
    if (exit_status_) return;
    // Exit without stopping the handler: like a crash, the VIPs stay where they are and the restarted child
    // resumes from the parent's Restore (DESIGN.md's failure table).
    spdlog::error("protocol error from vigild: {}; exiting for a restart", what);
    channel_.close();
    finish(kExitProtocol);
}

bool Runtime::guarded(const char* what, const std::function<void()>& body) {
    try {
        body();
        return true;
    } catch (const std::exception& ex) {
        spdlog::critical("handler {} failed: {}", what, ex.what());
    } catch (...) {
        spdlog::critical("handler {} failed with an unknown exception", what);
    }
    channel_.close();
    finish(kExitFailure);
    return false;
}

void Runtime::finish(int status) {
    if (exit_status_) return;
    exit_status_ = status;
    if (on_finished_) on_finished_();
}

}  // namespace vigil::common::child
