#include "checker_child/timer_wheel.hpp"

namespace vigil::check {

asio::execution_context::id TimerWheel::id;

TimerWheel::Entry::~Entry() {
    cancel();
}

TimerWheel::TimerWheel(asio::execution_context& context)
    : asio::execution_context::service(context), slots_(kSlots) {
    processed_ = static_cast<std::uint64_t>(Clock::now().time_since_epoch() /
                                            std::chrono::duration_cast<Clock::duration>(kTick));
}

TimerWheel::~TimerWheel() {
    shutdown();
}

TimerWheel& TimerWheel::of(const asio::any_io_executor& executor) {
    return asio::use_service<TimerWheel>(asio::query(executor, asio::execution::context));
}

void TimerWheel::link(List& list, Entry& e) {
    e.prev_ = list.head.prev_;
    e.next_ = &list.head;
    list.head.prev_->next_ = &e;
    list.head.prev_ = &e;
}

void TimerWheel::unlink(Entry& e) {
    e.prev_->next_ = e.next_;
    e.next_->prev_ = e.prev_;
    e.prev_ = e.next_ = nullptr;
}

std::uint64_t TimerWheel::tick_of(Clock::time_point t) {
    // Rounded up: a deadline fires at the first tick boundary at or after it.
    const auto since = t.time_since_epoch();
    const auto tick = std::chrono::duration_cast<Clock::duration>(kTick);
    return static_cast<std::uint64_t>((since + tick - Clock::duration(1)) / tick);
}

TimerWheel::Clock::time_point TimerWheel::time_of(std::uint64_t tick) {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(kTick) *
                             static_cast<Clock::rep>(tick));
}

void TimerWheel::arm(Entry& entry, Clock::time_point at, const asio::any_io_executor& executor) {
    if (entry.wheel_) cancel(entry);
    if (!timer_) timer_.emplace(executor);
    // A deadline already past fires at the next tick: never from inside arm().
    entry.tick_ = std::max(tick_of(at), processed_ + 1);
    entry.wheel_ = this;
    link(slots_[entry.tick_ % kSlots], entry);
    ++size_;
    if (!timer_tick_ || entry.tick_ < *timer_tick_) schedule();
}

void TimerWheel::cancel(Entry& entry) {
    if (entry.wheel_ != this) return;
    unlink(entry);
    entry.wheel_ = nullptr;
    --size_;
    // The loop's timer stays set: an early wakeup with nothing due costs less than re-arming it here.
}

void TimerWheel::schedule() {
    if (!timer_) return;
    if (size_ == 0) {
        timer_tick_.reset();
        timer_->cancel();
        return;
    }
    // The next tick whose slot holds an entry (one a turn or more later waits in the same slot: the wakeup
    // finds it not yet due and looks again).
    std::uint64_t next = processed_ + 1;
    for (std::size_t i = 0; i < kSlots && slots_[next % kSlots].empty(); ++i) ++next;
    if (timer_tick_ && *timer_tick_ == next) return;
    timer_tick_ = next;
    timer_->expires_at(time_of(next));
    timer_->async_wait([this](const std::error_code& ec) {
        if (!ec) on_timer();
    });
}

void TimerWheel::on_timer() {
    timer_tick_.reset();
    Turn turn(*this);  // one clock read for the wakeup and the first entries it fires
    // The last tick boundary that has passed: whatever is due at or before it fires now.
    const std::uint64_t now = static_cast<std::uint64_t>(this->now().time_since_epoch() /
                                                         std::chrono::duration_cast<Clock::duration>(kTick));
    // Take what is due first, then fire: a callback may arm or cancel any entry, including those taken.
    // After a stall longer than a turn every slot is looked at once.
    std::uint64_t t = processed_ + 1;
    for (std::size_t i = 0; t <= now && i < kSlots && size_ > 0; ++t, ++i) {
        List& slot = slots_[t % kSlots];
        for (Entry* e = slot.head.next_; e != &slot.head;) {
            Entry* next = e->next_;
            if (e->tick_ <= now) {
                unlink(*e);
                link(due_, *e);
            }
            e = next;
        }
    }
    processed_ = std::max(processed_, now);
    if (!fire_posted_) fire_due();
}

void TimerWheel::fire_due() {
    fire_posted_ = false;
    Turn turn(*this);
    for (std::size_t n = 0; n < kBatch && !due_.empty(); ++n, turn.step()) {
        Entry& e = *due_.head.next_;
        unlink(e);
        e.wheel_ = nullptr;
        --size_;
        if (e.fire_) {
            // The callback may destroy the entry (a check ending): it runs from a copy.
            auto fire = e.fire_;
            fire();
        }
    }
    if (!due_.empty() && timer_) {
        // The rest after whatever the loop has ready (the completions of the checks just started).
        fire_posted_ = true;
        asio::post(timer_->get_executor(), [this] { fire_due(); });
        return;
    }
    schedule();
}

void TimerWheel::shutdown() {
    while (!due_.empty()) {
        Entry& e = *due_.head.next_;
        unlink(e);
        e.wheel_ = nullptr;
    }
    for (auto& slot : slots_) {
        while (!slot.empty()) {
            Entry& e = *slot.head.next_;
            unlink(e);
            e.wheel_ = nullptr;
        }
    }
    size_ = 0;
    timer_tick_.reset();
    timer_.reset();
}

}  // namespace vigil::check
