#pragma once
// The runtime every child's main() uses: process hardening (no_new_privs, parent-death signal, exactly the
// capabilities it needs), logging, one Asio loop with signals, and the child side of the protocol with the
// parent: Ping -> Pong (and Status after it when the Ping sets want_status; not while stopping), Configure ->
// prepare -> ConfigResult, Commit / Abort, Restore, StatusRequest -> Status, forwarded VrrpState / Health,
// Shutdown. What a child actually does lives in its Handler.

#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/child/protocol.hpp"
#include "common/ipc/channel.hpp"
#include "proto/config.pb.h"
#include "proto/ipc.pb.h"

namespace vigil::common::child {

// How a handler talks to the parent.
class Uplink {
  public:
    virtual ~Uplink() = default;
    // Sends a VrrpState, Health, Event or Status (version and seq are filled in).
    virtual void send(vigil::ipc::Envelope envelope) = 0;
    // Sends a Status filled by the handler's fill_status() (the runtime also sends one after each Commit and
    // for each StatusRequest): vigil-vrrp calls it when an instance changed, since vigild shows its
    // instances from the latest Status it has.
    virtual void send_status() = 0;
};

// What a child does with the parent's requests. Every method runs on the loop and must not block.
class Handler {
  public:
    virtual ~Handler() = default;
    // Called once before any other method; `uplink` outlives the handler's use of it.
    virtual void start(Uplink& uplink) { (void)uplink; }
    // Phase 1: checks `config` against this host and keeps it prepared. Returns every reason to refuse it,
    // empty when it can be applied.
    virtual std::vector<std::string> prepare(std::uint64_t generation,
                                             const vigil::config::Config& config) = 0;
    // Phase 2: applies the prepared generation (only ever one that prepare() accepted).
    virtual void commit(std::uint64_t generation) = 0;
    // Phase 2: drops the prepared generation; the running config stays.
    virtual void abort(std::uint64_t generation) = 0;
    // The states the previous instance of this child reported (sent before the first Configure).
    virtual void restore(const vigil::ipc::Snapshot& snapshot) = 0;
    // Fills the live state for the parent (vrrp_instances, virtual_servers, ipvs).
    virtual void fill_status(vigil::ipc::Status& status) = 0;
    // A VrrpState or Health from the other child, forwarded by the parent.
    virtual void on_peer_message(const vigil::ipc::Envelope& envelope) { (void)envelope; }
    // Stop in order (release addresses, send priority-0 adverts...), then call `done` (from the loop).
    virtual void stop(std::function<void()> done) { done(); }
    // Runs `io` until it is stopped or out of work. A handler that waits on descriptors of its own beside
    // Asio's (vigil-vrrp's EventLoop) runs its loop here, with Asio's inside it.
    virtual void run(asio::io_context& io) { io.run(); }
};

// The protocol engine of a child over one channel; no process-wide effects, so tests drive it in-process over
// a socketpair.
class Runtime final : public Uplink {
  public:
    // `fd` is the child's end of the socketpair. Nothing happens before start().
    Runtime(asio::io_context& io, ipc::UniqueFd fd, Handler& handler);
    ~Runtime() override;

    // Calls handler.start() and starts reading from the parent.
    void start();

    // Stops gracefully (SIGTERM, SIGINT): handler.stop(), then closes the channel. `why` is logged.
    void request_stop(const std::string& why);

    // Set once the runtime is finished: the exit status for main() (kExitOk, kExitProtocol, kExitFailure).
    std::optional<int> exit_status() const { return exit_status_; }

    // Runs when the runtime finishes (after the exit status is set); main() stops the loop there.
    void on_finished(std::function<void()> callback) { on_finished_ = std::move(callback); }

    // The generation running now (0 before the first Commit).
    std::uint64_t committed_generation() const { return committed_; }

    void send(vigil::ipc::Envelope envelope) override;
    void send_status() override;

  private:
    void dispatch(vigil::ipc::Envelope&& envelope);
    void on_configure(const vigil::ipc::Configure& configure);
    void on_commit(std::uint64_t generation);
    void on_abort(std::uint64_t generation);
    void protocol_error(const std::string& what);
    // Asks the handler to stop; once it is done, closes the channel and finishes with `status`.
    void begin_stop(int status);
    // Runs a handler method; an exception from it is logged and ends the child (kExitFailure): none crosses
    // the loop. Returns false when that happened.
    bool guarded(const char* what, const std::function<void()>& body);
    void finish(int status);

    ipc::Channel channel_;
    Handler& handler_;
    std::optional<std::uint64_t> prepared_;  // the generation prepared and not yet committed or aborted
    bool prepared_ok_ = false;
    std::uint64_t committed_ = 0;
    bool stopping_ = false;
    std::optional<int> exit_status_;
    std::function<void()> on_finished_;
    // Lets the handler's stop callback notice that the Runtime was destroyed under it.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// What distinguishes one child executable from another.
struct ChildSpec {
    // The process name in logs: vigil-vrrp, vigil-checker.
    std::string ident;
    // The capabilities (CAP_NET_RAW, ...) the child needs in its effective set, given its arguments. Every
    // other capability is dropped.
    std::function<std::vector<int>(const ChildArguments&)> required_capabilities;
    // Optional: runs before the capabilities are trimmed, while the child still has those it was started
    // with, to open what needs one it then gives up (vigil-checker's raw TCP sockets: CAP_NET_RAW).
    std::function<void(const ChildArguments&)> before_trim;
    // Builds the handler once the process is set up, on the loop it will run on.
    std::function<std::unique_ptr<Handler>(const ChildArguments&, asio::io_context&)> make_handler;
};

// The whole life of a child process: parses argv, sets up logging, PR_SET_PDEATHSIG(SIGTERM), no_new_privs,
// checks and trims capabilities (exits kExitPermanent naming a missing one), runs the loop with
// SIGTERM/SIGINT handled through it, and returns the exit status for main().
int run_child(int argc, char** argv, const ChildSpec& spec);

}  // namespace vigil::common::child
