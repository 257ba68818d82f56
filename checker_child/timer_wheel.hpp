#pragma once
// The checker's timers on a wheel of 10 ms ticks: one Asio timer per loop instead of one per check.
//
// At 50,000 checks a second every check arms two timers (its connect_timeout and its next run) and cancels
// one. On Asio's timer heap each of those is O(log n), and nearly every completion cancels the earliest
// timer, so the loop's timerfd is re-armed once per check (in a virtual machine a trap to the hypervisor each
// time). Here arming and cancelling are O(1) list operations on an intrusive entry, and the loop's timer is
// set once per 10 ms tick that has work. A deadline fires at the first tick boundary at or after it, never
// early; late by up to a tick, plus the wait behind earlier entries of the same wakeup (kBatch below), which
// no check interval or timeout notices.
//
// A wakeup fires at most kBatch entries, then lets the loop run before the next kBatch. A loop that fell
// behind (a stall, or more checks due than one core runs) otherwise starts every overdue check before it
// reads the completions of any: at 50,000 TCP checks a second that held SYN-ACKs past the 200 ms after
// which the kernel completes a held-back handshake (the server then accepts the check), and kept thousands
// of sockets in flight.

#include <asio.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace vigil::check {

class TimerWheel : public asio::execution_context::service {
  public:
    static asio::execution_context::id id;
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds kTick{10};
    static constexpr std::size_t kSlots =
        1024;  // 10.24 s around the wheel; later deadlines wait in their slot
    static constexpr std::size_t kBatch = 256;  // entries fired before the loop gets a turn

    // One timer. The owner keeps it alive while it is armed (its destructor cancels it); not movable.
    class Entry {
      public:
        Entry() = default;
        explicit Entry(std::function<void()> fire) : fire_(std::move(fire)) {}
        ~Entry();
        Entry(const Entry&) = delete;
        Entry& operator=(const Entry&) = delete;

        // What runs when the deadline passes (on the loop, never from inside arm()).
        void set(std::function<void()> fire) { fire_ = std::move(fire); }
        bool armed() const { return wheel_ != nullptr; }
        // Disarms it when armed.
        void cancel() {
            if (wheel_) wheel_->cancel(*this);
        }

      private:
        friend class TimerWheel;
        std::function<void()> fire_;
        TimerWheel* wheel_ = nullptr;
        Entry* prev_ = nullptr;
        Entry* next_ = nullptr;
        std::uint64_t tick_ = 0;
    };

    // While entries fire or a prober reads its completions (a Turn), now() is a time read at the turn's
    // start and again every kRefresh callbacks, at most that many callbacks old; outside a turn, the clock.
    // A check reads the time three times (its start, its timeout, its next run); where the clocksource has
    // no vDSO path, each read is a system call (a guest on HPET under emulation: 4% of a check's CPU).
    // Callbacks of a turn are short (a connect, a result counted); one that does slow work calls refresh()
    // after it (every fork of a script does, in script_runner.cpp), so the time never lags by more than
    // kRefresh short ones: a timeout armed from a lagging now() would end that much early.
    class Turn {
      public:
        explicit Turn(TimerWheel& wheel) : wheel_(wheel) {
            if (wheel_.turns_++ == 0) wheel_.turn_now_ = Clock::now();
        }
        ~Turn() { --wheel_.turns_; }
        Turn(const Turn&) = delete;
        Turn& operator=(const Turn&) = delete;
        // Call once per callback of the turn: reads the clock again every kRefresh calls.
        void step() {
            if (++steps_ % kRefresh == 0) wheel_.turn_now_ = Clock::now();
        }

      private:
        TimerWheel& wheel_;
        std::size_t steps_ = 0;
    };
    static constexpr std::size_t kRefresh = 32;
    Clock::time_point now() const { return turns_ > 0 ? turn_now_ : Clock::now(); }
    // Reads the clock again for the rest of the turn (after slow work inside it).
    void refresh() {
        if (turns_ > 0) turn_now_ = Clock::now();
    }

    explicit TimerWheel(asio::execution_context& context);
    ~TimerWheel() override;
    // The wheel of the loop `executor` runs on.
    static TimerWheel& of(const asio::any_io_executor& executor);

    // Arms `entry` (re-arms it when armed) to fire once `at` has passed; `executor` is the loop's.
    void arm(Entry& entry, Clock::time_point at, const asio::any_io_executor& executor);
    // Disarms `entry`; its callback will not run.
    void cancel(Entry& entry);
    // Timers armed now (for tests).
    std::size_t size() const { return size_; }

  private:
    // A circular list through a sentinel, so that an entry unlinks itself from whichever list holds it.
    struct List {
        Entry head;
        List() { head.prev_ = head.next_ = &head; }
        bool empty() const { return head.next_ == &head; }
    };
    static void link(List& list, Entry& e);
    static void unlink(Entry& e);
    static std::uint64_t tick_of(Clock::time_point t);
    static Clock::time_point time_of(std::uint64_t tick);

    void shutdown() override;
    void schedule();
    void on_timer();
    // Fires up to kBatch entries of due_, then posts itself again or sets the timer.
    void fire_due();

    std::vector<List> slots_;
    List due_;  // due, not yet fired: by tick, then arming order (by slot after a stall longer than the
                // wheel); still armed (cancel unlinks)
    bool fire_posted_ = false;  // fire_due() is posted to the loop
    std::optional<asio::steady_timer> timer_;
    std::optional<std::uint64_t> timer_tick_;  // the tick the loop's timer is set for
    std::uint64_t processed_ = 0;              // every tick up to this one has fired
    std::size_t size_ = 0;
    std::size_t turns_ = 0;         // Turns open now (nested: a callback's callback)
    Clock::time_point turn_now_{};  // now() while turns_ > 0
};

}  // namespace vigil::check
