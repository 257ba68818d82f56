#pragma once
// Keeps the kernel's IPVS table in step with what the check engine wants, on the checker's event loop.
// The engine calls set_desired() whenever the config or a real server's health changes; the keeper coalesces
// those calls into one sync on the loop. After the first read of the kernel's table it keeps a model of it
// and applies only the difference (no re-read per health change); it reads again after a race or a failure.
// While IPVS is unavailable (no ip_vs in the kernel) it retries with a growing delay and never throws or
// exits: the checker keeps checking and reporting health, and status() says why the table is not programmed.

// Standard headers first: Asio picks aligned_alloc or operator new from what libstdc++'s headers define, and
// a translation unit that includes Asio before any of them disagrees with the others (ASan:
// alloc-dealloc-mismatch).
#include <chrono>
#include <functional>
#include <optional>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "checker_child/ipvs_backend.hpp"

namespace vigil::check {

class IpvsKeeper {
  public:
    struct Options {
        IpvsBackend::Options backend;
        // lvs_flush: the first sync after start flushes the table (never a later one).
        bool flush_at_start = false;
        // The first retry delay after IPVS is found unavailable; it doubles up to 30 s.
        std::chrono::milliseconds retry_base{1000};
    };

    IpvsKeeper(asio::io_context& io, Options options);

    // The table vigil wants now and everything its config names (what it may delete); a sync follows on the
    // loop.
    void set_desired(IpvsTable desired, Ownership owned);

    // Called after every sync attempt, with its report (for status, events and tests).
    void on_synced(std::function<void(const SyncReport&)> callback) { on_synced_ = std::move(callback); }

    // Available or not, and why (for `vigilctl status` and the log).
    const IpvsStatus& status() const { return backend_.status(); }

    // Whether the kernel's table is known to equal the desired one.
    bool in_sync() const { return in_sync_; }

    // lvs_flush: the first sync flushes the whole table before programming it. Only before that first sync,
    // and only for a checker that is not a restart (a restart must not disturb flowing traffic).
    void flush_at_first_sync() {
        if (first_sync_) options_.flush_at_start = true;
    }

    // Cancels pending syncs and retries (an orderly stop leaves the kernel's table as it is).
    void stop();

    // lvs_flush_onstop: now and synchronously, flushes the whole table (`whole_table`, keepalived's bare
    // keyword) or removes every service `owned` names (`VS`; their destinations go with them), then stops.
    // Returns the report of that last sync.
    SyncReport clear_and_stop(Ownership owned, bool whole_table);

  private:
    void schedule(std::chrono::milliseconds delay);
    void run();
    SyncReport sync_once();

    asio::steady_timer timer_;
    Options options_;
    IpvsBackend backend_;
    IpvsTable desired_;
    Ownership owned_;
    std::optional<IpvsTable> known_;  // the kernel's table as of our last read plus what we applied since
    bool first_sync_ = true;
    bool scheduled_ = false;
    bool in_sync_ = false;
    bool stopped_ = false;
    int failures_ = 0;
    std::function<void(const SyncReport&)> on_synced_;
};

}  // namespace vigil::check
