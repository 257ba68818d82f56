#include "vrrp_child/state_machine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace vigil::vrrp {
namespace {

NotifyState notify_state(State s) {
    switch (s) {
        case State::kMaster:
            return NotifyState::kMaster;
        case State::kBackup:
            return NotifyState::kBackup;
        case State::kFault:
            return NotifyState::kFault;
        case State::kInitialize:
            return NotifyState::kStop;
    }
    return NotifyState::kStop;
}

Advert make_advert(const InstanceConfig& config, std::uint8_t priority) {
    Advert ad;
    ad.version = config.version;
    ad.family = config.family;
    ad.vrid = config.vrid;
    ad.priority = priority;
    if (config.version == 2) {
        auto s = std::chrono::duration_cast<std::chrono::seconds>(config.advert_int).count();
        ad.interval_field = static_cast<std::uint16_t>(std::clamp<long long>(s, 1, 255));
        ad.auth_type = config.auth.type;
        if (config.auth.type == AuthType::kPass)
            std::copy_n(config.auth.password.begin(), std::min<std::size_t>(config.auth.password.size(), 8),
                        ad.auth_data.begin());
    } else {
        auto cs = config.advert_int.count() / 10;
        ad.interval_field = static_cast<std::uint16_t>(std::clamp<long long>(cs, 1, kV3MaxIntervalCs));
    }
    for (const auto& vip : config.vips) ad.addresses.push_back(vip.address);
    return ad;
}

// The advertisement interval as it travels on the wire (v2 whole seconds, v3 centiseconds).
Duration wire_interval(const InstanceConfig& config) {
    return make_advert(config, 0).interval();
}

}  // namespace

Instance::Instance(InstanceConfig config)
    : config_(std::move(config)),
      tracker_(config_),
      priority_(tracker_.effective_priority()),
      master_adver_interval_(wire_interval(config_)) {}

Duration Instance::skew_for(unsigned priority_value) const {
    const auto weight = static_cast<Duration::rep>(256 - priority_value);
    if (config_.version == 2) return Duration(weight * 1'000'000 / 256);
    return Duration(weight * master_adver_interval_.count() / 256);
}

Duration Instance::skew_time() const {
    return skew_for(priority_);
}

std::optional<TimePoint> Instance::next_deadline() const {
    std::optional<TimePoint> best;
    for (const auto& t : timers_)
        if (t && (!best || *t < *best)) best = t;
    return best;
}

std::optional<IpAddr> Instance::primary_address() const {
    return config_.unicast_src ? config_.unicast_src : primary_address_;
}

std::vector<VirtualAddress> Instance::all_addresses() const {
    auto all = config_.vips;
    all.insert(all.end(), config_.excluded_vips.begin(), config_.excluded_vips.end());
    return all;
}

void Instance::transition(State to, const std::string& reason, TimePoint now, Actions& out) {
    const State from = state_;
    state_ = to;
    wants_master_ = false;
    ++stats_.transitions;
    if (to == State::kMaster) ++stats_.became_master;
    if (from == State::kMaster) ++stats_.released_master;
    last_transition_ = now;
    spdlog::info("[{}] {} -> {} ({})", config_.name, to_string(from), to_string(to), reason);
    out.push_back(Transition{config_.name, from, to, reason, now});
    out.push_back(Notify{config_.name, notify_state(to), priority_});
}

void Instance::arm(TimerId timer, TimePoint at, Actions& out) {
    timers_[static_cast<std::size_t>(timer)] = at;
    out.push_back(ArmTimer{config_.name, timer, at});
}

void Instance::cancel(TimerId timer, Actions& out) {
    auto& t = timers_[static_cast<std::size_t>(timer)];
    if (!t) return;
    t.reset();
    out.push_back(CancelTimer{config_.name, timer});
}

void Instance::cancel_all(Actions& out) {
    for (std::size_t i = 0; i < kTimerCount; ++i) cancel(static_cast<TimerId>(i), out);
}

void Instance::send_advert(std::uint8_t priority, Actions& out) {
    ++stats_.adverts_sent;
    if (priority == kPriorityStop) ++stats_.priority_zero_sent;
    out.push_back(SendAdvert{config_.name, make_advert(config_, priority), config_.unicast_peers,
                             config_.checksum_mode, config_.unicast_src});
}

void Instance::become_master(const std::string& reason, TimePoint now, Actions& out) {
    cancel(TimerId::kMasterDownTimer, out);
    preempt_time_.reset();
    master_address_.reset();
    out.push_back(AddAddresses{config_.name, all_addresses()});
    send_advert(priority_, out);
    out.push_back(SendGratuitous{config_.name, all_addresses(), config_.garp.master_repeat});
    arm(TimerId::kAdverTimer, now + config_.advert_int, out);
    if (config_.garp.master_delay.count() > 0) arm(TimerId::kGarpDelay, now + config_.garp.master_delay, out);
    if (config_.garp.master_refresh.count() > 0)
        arm(TimerId::kGarpRefresh, now + config_.garp.master_refresh, out);
    transition(State::kMaster, reason, now, out);
}

void Instance::release_master(Actions& out) {
    cancel(TimerId::kAdverTimer, out);
    cancel(TimerId::kGarpDelay, out);
    cancel(TimerId::kGarpRefresh, out);
    out.push_back(RemoveAddresses{config_.name, all_addresses()});
}

void Instance::become_backup(const std::string& reason, TimePoint now, Actions& out) {
    if (state_ == State::kMaster) release_master(out);
    arm(TimerId::kMasterDownTimer, now + master_down_interval(), out);
    transition(State::kBackup, reason, now, out);
}

void Instance::enter_fault(const std::string& reason, TimePoint now, Actions& out) {
    if (state_ == State::kMaster) {
        // As keepalived: tell the peers at once so they need not wait for Master_Down_Interval.
        send_advert(kPriorityStop, out);
        release_master(out);
    }
    cancel_all(out);
    preempt_time_.reset();
    transition(State::kFault, reason, now, out);
}

void Instance::leave_fault(TimePoint now, Actions& out) {
    master_adver_interval_ = wire_interval(config_);
    if (config_.priority == kPriorityOwner) {
        become_master("fault cleared, address owner", now, out);
        return;
    }
    become_backup("fault cleared", now, out);
}

Actions Instance::start(TimePoint now) {
    Actions out;
    if (state_ != State::kInitialize) return out;
    master_adver_interval_ = wire_interval(config_);
    priority_ = tracker_.effective_priority();
    if (tracker_.fault() || group_hold_) {
        transition(State::kFault, group_hold_ ? "sync group in fault" : tracker_.fault_reason(), now, out);
    } else if (config_.priority == kPriorityOwner) {
        become_master("address owner (priority 255)", now, out);
    } else if (config_.initial_state == InitialState::kMaster) {
        // keepalived: allow one advert interval to pass so an existing master can show itself.
        arm(TimerId::kMasterDownTimer, now + master_adver_interval_ + skew_for(255), out);
        transition(State::kBackup, "start, state MASTER wanted", now, out);
    } else {
        arm(TimerId::kMasterDownTimer, now + master_down_interval(), out);
        transition(State::kBackup, "start", now, out);
    }
    return out;
}

Actions Instance::resume(State remembered, TimePoint now) {
    Actions out;
    if (state_ != State::kInitialize) return out;
    master_adver_interval_ = wire_interval(config_);
    priority_ = tracker_.effective_priority();
    if (remembered == State::kMaster) {
        spdlog::info("[{}] resuming as MASTER", config_.name);
        state_ = State::kMaster;
        send_advert(priority_, out);
        arm(TimerId::kAdverTimer, now + config_.advert_int, out);
        if (config_.garp.master_refresh.count() > 0)
            arm(TimerId::kGarpRefresh, now + config_.garp.master_refresh, out);
        if (tracker_.fault() || group_hold_) enter_fault(tracker_.fault_reason(), now, out);
        return out;
    }
    if (remembered == State::kBackup && !tracker_.fault() && !group_hold_) {
        spdlog::info("[{}] resuming as BACKUP", config_.name);
        state_ = State::kBackup;
        arm(TimerId::kMasterDownTimer, now + master_down_interval(), out);
        return out;
    }
    return start(now);
}

Actions Instance::receive(const Advert& advert, const IpFacts& facts, TimePoint now) {
    Actions out;
    const Verdict verdict = validate(config_, advert, facts);
    if (!verdict.accepted) {
        ++stats_.rejected[static_cast<std::size_t>(verdict.reason)];
        spdlog::debug("[{}] advert from {} dropped: {}", config_.name, facts.source.to_string(),
                      to_string(verdict.reason));
        return out;
    }
    if (verdict.reason != Reason::kNone) {
        ++stats_.warnings[static_cast<std::size_t>(verdict.reason)];
        if (verdict.reason != last_warning_)
            spdlog::warn("[{}] advert from {}: {}", config_.name, facts.source.to_string(),
                         to_string(verdict.reason));
    }
    last_warning_ = verdict.reason;
    ++stats_.adverts_received;
    if (advert.priority == kPriorityStop) ++stats_.priority_zero_received;
    if (state_ == State::kBackup) receive_as_backup(advert, facts, now, out);
    if (state_ == State::kMaster) receive_as_master(advert, facts, now, out);
    return out;
}

void Instance::receive_as_backup(const Advert& advert, const IpFacts& facts, TimePoint now, Actions& out) {
    if (advert.priority == kPriorityStop) {
        // RFC 5798 6.4.2: the master is leaving; take over after Skew_Time only.
        arm(TimerId::kMasterDownTimer, now + skew_time(), out);
        return;
    }
    const bool preempt_delayed =
        config_.preempt_delay.count() > 0 && (!preempt_time_ || *preempt_time_ > now);
    if (!config_.preempt || advert.priority >= priority_ || preempt_delayed) {
        if (config_.version == 3) master_adver_interval_ = advert.interval();
        arm(TimerId::kMasterDownTimer, now + master_down_interval(), out);
        master_address_ = facts.source;
        wants_master_ = false;
        if (config_.preempt_delay.count() > 0) {
            if (advert.priority >= priority_)
                preempt_time_.reset();
            else if (!preempt_time_)
                preempt_time_ = now + config_.preempt_delay;
        }
        return;
    }
    // Preempting a lower priority master: ignore its adverts and let Master_Down_Timer run out.
    spdlog::debug("[{}] lower priority {} advert from {} ignored (preempt)", config_.name, advert.priority,
                  facts.source.to_string());
}

void Instance::receive_as_master(const Advert& advert, const IpFacts& facts, TimePoint now, Actions& out) {
    if (advert.priority == kPriorityStop) {
        send_advert(priority_, out);
        arm(TimerId::kAdverTimer, now + config_.advert_int, out);
        return;
    }
    const auto ours = primary_address();
    const bool higher =
        advert.priority > priority_ || (advert.priority == priority_ && (!ours || facts.source > *ours));
    if (higher) {
        if (config_.version == 3) master_adver_interval_ = advert.interval();
        master_address_ = facts.source;
        become_backup(advert.priority > priority_
                          ? "higher priority advert from " + facts.source.to_string()
                          : "equal priority advert from higher address " + facts.source.to_string(),
                      now, out);
        return;
    }
    if (ours && facts.source == *ours) {
        spdlog::warn("[{}] equal priority advert carrying our own address {}", config_.name,
                     ours->to_string());
        return;
    }
    // A lower priority master exists (split brain healing): assert ourselves at once, as keepalived does.
    spdlog::info("[{}] lower priority {} advert from {}, ours {}: sending advert", config_.name,
                 advert.priority, facts.source.to_string(), priority_);
    send_advert(priority_, out);
    // Its gratuitous ARPs may have moved the clients: take them back.
    if (config_.garp.lower_prio_repeat > 0)
        out.push_back(SendGratuitous{config_.name, all_addresses(), config_.garp.lower_prio_repeat});
}

Actions Instance::expire(TimerId timer, TimePoint now) {
    Actions out;
    expire(timer, now, out);
    return out;
}

void Instance::expire(TimerId timer, TimePoint now, Actions& out) {
    auto& deadline = timers_[static_cast<std::size_t>(timer)];
    if (!deadline || *deadline > now) return;
    const TimePoint due = *deadline;
    deadline.reset();
    switch (timer) {
        case TimerId::kAdverTimer: {
            if (state_ != State::kMaster) break;
            send_advert(priority_, out);
            // One interval after this advert was due, not after this late wake-up: the adverts keep their
            // cadence (and the runtime's timer repeats without being set again). A wake-up later than a whole
            // interval starts the cadence again from now.
            const TimePoint next = due + config_.advert_int;
            arm(TimerId::kAdverTimer, next > now ? next : now + config_.advert_int, out);
            break;
        }
        case TimerId::kMasterDownTimer:
            if (state_ != State::kBackup) break;
            if (sync_member_) {
                // The Core decides for the whole group; keep watching for a master meanwhile.
                wants_master_ = true;
                arm(TimerId::kMasterDownTimer, now + master_down_interval(), out);
                break;
            }
            become_master("master down timer expired", now, out);
            break;
        case TimerId::kGarpDelay:
            if (state_ == State::kMaster)
                out.push_back(SendGratuitous{config_.name, all_addresses(), config_.garp.master_repeat});
            break;
        case TimerId::kGarpRefresh:
            if (state_ != State::kMaster) break;
            out.push_back(SendGratuitous{config_.name, all_addresses(), config_.garp.master_refresh_repeat});
            arm(TimerId::kGarpRefresh, now + config_.garp.master_refresh, out);
            break;
    }
}

Actions Instance::poll(TimePoint now) {
    Actions out;
    poll(now, out);
    return out;
}

void Instance::poll(TimePoint now, Actions& out) {
    while (true) {
        std::optional<std::size_t> due;
        for (std::size_t i = 0; i < kTimerCount; ++i)
            if (timers_[i] && *timers_[i] <= now && (!due || *timers_[i] < *timers_[*due])) due = i;
        if (!due) return;
        expire(static_cast<TimerId>(*due), now, out);
    }
}

void Instance::tracking_changed(TimePoint now, Actions& out) {
    const auto old_priority = priority_;
    priority_ = tracker_.effective_priority();
    if (priority_ != old_priority) {
        spdlog::info("[{}] effective priority {} -> {}", config_.name, old_priority, priority_);
        // As keepalived: a BACKUP's running Master_Down_Timer moves by the change of Skew_Time.
        if (state_ == State::kBackup) {
            if (auto d = deadline(TimerId::kMasterDownTimer))
                arm(TimerId::kMasterDownTimer, *d - skew_for(old_priority) + skew_time(), out);
        }
    }
    if (state_ == State::kInitialize) return;
    const bool fault = tracker_.fault() || group_hold_;
    if (fault && state_ != State::kFault)
        enter_fault(tracker_.fault() ? tracker_.fault_reason() : "sync group in fault", now, out);
    else if (!fault && state_ == State::kFault)
        leave_fault(now, out);
}

Actions Instance::set_link(const std::string& interface, bool up, TimePoint now) {
    Actions out;
    if (tracker_.set_interface(interface, up)) tracking_changed(now, out);
    return out;
}

Actions Instance::set_script(const std::string& name, bool ok, TimePoint now) {
    Actions out;
    if (tracker_.set_script(name, ok)) tracking_changed(now, out);
    return out;
}

Actions Instance::set_virtual_server(const std::string& name, bool up, TimePoint now) {
    Actions out;
    if (tracker_.set_virtual_server(name, up)) tracking_changed(now, out);
    return out;
}

Actions Instance::shutdown(TimePoint now) {
    Actions out;
    if (state_ == State::kInitialize) return out;
    if (state_ == State::kMaster) {
        send_advert(kPriorityStop, out);
        release_master(out);
    }
    cancel_all(out);
    transition(State::kInitialize, "shutdown", now, out);
    return out;
}

void Instance::update_addresses(const InstanceConfig& old, Actions& out) {
    auto gather = [](const InstanceConfig& c) {
        auto all = c.vips;
        all.insert(all.end(), c.excluded_vips.begin(), c.excluded_vips.end());
        return all;
    };
    const auto before = gather(old);
    const auto after = gather(config_);
    std::vector<VirtualAddress> removed, added;
    for (const auto& a : before)
        if (std::find(after.begin(), after.end(), a) == after.end()) removed.push_back(a);
    for (const auto& a : after)
        if (std::find(before.begin(), before.end(), a) == before.end()) added.push_back(a);
    if (!removed.empty()) out.push_back(RemoveAddresses{config_.name, removed});
    if (!added.empty()) {
        out.push_back(AddAddresses{config_.name, added});
        out.push_back(SendGratuitous{config_.name, added, config_.garp.master_repeat});
    }
}

Actions Instance::reconfigure(InstanceConfig config, TimePoint now) {
    Actions out;
    if (config == config_) {
        if (state_ == State::kMaster) send_advert(priority_, out);
        return out;
    }
    const InstanceConfig old = std::exchange(config_, std::move(config));
    tracker_.reconfigure(config_);
    if (config_.version == 2 || state_ != State::kBackup) master_adver_interval_ = wire_interval(config_);
    if (state_ == State::kMaster) {
        update_addresses(old, out);
        if (old.advert_int != config_.advert_int) arm(TimerId::kAdverTimer, now + config_.advert_int, out);
        if (config_.garp.master_refresh.count() == 0)
            cancel(TimerId::kGarpRefresh, out);
        else if (old.garp.master_refresh != config_.garp.master_refresh)
            arm(TimerId::kGarpRefresh, now + config_.garp.master_refresh, out);
    }
    tracking_changed(now, out);
    if (state_ == State::kMaster) send_advert(priority_, out);
    return out;
}

Actions Instance::group_master(const std::string& reason, TimePoint now) {
    Actions out;
    if (state_ == State::kBackup) become_master(reason, now, out);
    return out;
}

Actions Instance::group_backup(const std::string& reason, TimePoint now) {
    Actions out;
    if (state_ == State::kMaster) become_backup(reason, now, out);
    return out;
}

Actions Instance::group_hold(bool hold, const std::string& reason, TimePoint now) {
    Actions out;
    if (group_hold_ == hold) return out;
    group_hold_ = hold;
    if (state_ == State::kInitialize) return out;
    if (hold && state_ != State::kFault)
        enter_fault(reason, now, out);
    else if (!hold && state_ == State::kFault && !tracker_.fault())
        leave_fault(now, out);
    return out;
}

}  // namespace vigil::vrrp
