#pragma once
// The I/O side of IPVS: a generic netlink socket to the kernel's "IPVS" family. Reads the kernel's table and
// applies the reconciler's operations, many commands per sendmsg with one ack each, matched by sequence
// number. Synchronous but never blocking for long: the socket is non-blocking and every wait is bounded by a
// timeout (the kernel handles a batch inside sendmsg, so the acks are normally already queued when we wait).
// On a kernel without IPVS the backend is "unavailable" with the kernel's reason; the caller retries later.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "checker_child/ipvs_msg.hpp"
#include "checker_child/ipvs_table.hpp"

namespace vigil::check {

// What `vigilctl status` and the log show about the backend.
struct IpvsStatus {
    bool available = false;
    std::string reason = "not opened yet";  // why it is unavailable; empty when available
    std::uint16_t family_id = 0;
    std::uint32_t version = 0;  // IPVS version, 0x010201 = 1.2.1
};

// The outcome of one apply().
struct ApplyReport {
    std::size_t sent = 0;       // commands sent
    std::size_t succeeded = 0;  // acked with success, or a race that leaves the wanted result (see raced)
    // EEXIST on a NEW, ENOENT/ESRCH on a DEL or SET: someone else changed the table meanwhile. The caller
    // re-reads the table and reconciles again.
    std::size_t raced = 0;
    std::vector<std::pair<IpvsOp, int>> races;  // each raced command with its errno
    std::size_t sendmsg_calls = 0;
    std::vector<std::pair<IpvsOp, std::string>> failed;  // each with the kernel's reason
    std::string transport_error;                         // the socket failed: the backend became unavailable

    bool ok() const { return failed.empty() && transport_error.empty(); }
};

// The outcome of one sync(): read, reconcile, apply (and again after a race).
struct SyncReport {
    bool ok = false;
    std::string error;
    std::size_t operations = 0;     // operations applied over all rounds
    std::size_t rounds = 0;         // reconcile rounds (more than 1 only after a race)
    std::vector<IpvsOp> first_ops;  // what the first round decided, for logs and tests
    ApplyReport last_apply;
};

// Owns a file descriptor: closed when replaced or destroyed.
class IpvsFd {
  public:
    IpvsFd() = default;
    explicit IpvsFd(int fd) : fd_(fd) {}
    ~IpvsFd() { reset(); }
    IpvsFd(IpvsFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    IpvsFd& operator=(IpvsFd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    // The descriptor, or -1.
    int get() const { return fd_; }
    // Closes the descriptor, if any.
    void reset();

  private:
    int fd_ = -1;
};

class IpvsBackend {
  public:
    struct Options {
        // The longest we wait for the kernel's answer to one request.
        std::chrono::milliseconds timeout{3000};
        // Commands per sendmsg, at most (fewer when the receive buffer granted is small).
        std::size_t batch = 256;
        // SO_RCVBUF(FORCE): room for a whole batch of acks.
        int receive_buffer = 8 << 20;
        // NLM_F_ACK on every command; by default only a batch's last command asks for one (the others are
        // acked when they fail), which measured faster under emulation.
        bool ack_every_command = false;
    };

    IpvsBackend();
    explicit IpvsBackend(Options options);
    IpvsBackend(const IpvsBackend&) = delete;
    IpvsBackend& operator=(const IpvsBackend&) = delete;

    // Opens the socket and resolves the "IPVS" family. Returns whether the backend is available; status()
    // says why not. Calling it again while available does nothing; while unavailable, it tries again.
    bool open();

    // Available or not, and why.
    const IpvsStatus& status() const { return status_; }

    // How long to wait before the next open() after a failure: 1 s doubling up to 30 s.
    std::chrono::seconds retry_delay() const;

    // Every service in the kernel, with the destinations of those `wanted` says (all when it is empty). One
    // dump a service: a table that vigil shares with 1,000 services of another tool costs 1,000 round trips
    // for nothing when reconcile() never touches them.
    Result<IpvsTable> read_table(const std::function<bool(const ServiceKey&)>& wanted = {});

    // Sends `ops` in batches of Options::batch commands per sendmsg and collects the acks.
    ApplyReport apply(const std::vector<IpvsOp>& ops);

    // Reads the kernel's table, reconciles it with `desired` and applies the result; after a race (EEXIST,
    // ENOENT) reads again and reconciles again, at most 3 rounds. `options.flush` applies to the first round.
    SyncReport sync(const IpvsTable& desired, const Ownership& owned, const ReconcileOptions& options = {});

  private:
    void mark_unavailable(std::string reason);
    bool resolve_family();
    // Sends one buffer of messages; false (with status updated) when the socket fails.
    bool send_buffer(const MsgBuffer& buffer, std::string& error);
    // Collects the acks of seqs [first, first + count); calls on_ack for each (with last_only, a command
    // that sent no ack before the last one's succeeded).
    template <typename F>
    bool collect_acks(std::uint32_t first, std::size_t count, bool last_only, F on_ack, std::string& error);
    // Runs a dump request and calls on_msg for each message until NLMSG_DONE.
    template <typename F>
    bool dump(const MsgBuffer& request, std::uint32_t seq, F on_msg, std::string& error);
    std::uint32_t next_seq(std::size_t count = 1);

    Options options_;
    IpvsStatus status_;
    IpvsFd fd_;
    std::uint32_t seq_ = 0;
    std::size_t batch_limit_ =
        16;  // commands per sendmsg, from Options::batch and the granted receive buffer
    int failures_ = 0;
};

}  // namespace vigil::check
