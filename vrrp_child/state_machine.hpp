#pragma once
// One VRRP instance: RFC 5798 section 6.4 (Initialize, Backup, Master) plus keepalived's FAULT, sans IO.
//
// Inputs are method calls carrying `now`; outputs are the returned Actions. The instance keeps its own timer
// deadlines (RFC names: Adver_Timer, Master_Down_Timer) and also reports them as ArmTimer / CancelTimer
// actions, so a runtime may either arm real timers from the actions or call poll() at next_deadline(). Every
// state change goes through one function that logs "[VI_1] BACKUP -> MASTER (reason)", counts it, records its
// time and emits the notification.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "vrrp_child/actions.hpp"
#include "vrrp_child/clock.hpp"
#include "vrrp_child/instance_config.hpp"
#include "vrrp_child/packet.hpp"
#include "vrrp_child/track.hpp"

namespace vigil::vrrp {

inline constexpr std::size_t kReasonCount = static_cast<std::size_t>(Reason::kNotUnicastPeer) + 1;

struct InstanceStats {
    std::uint64_t transitions = 0;
    std::uint64_t became_master = 0;
    std::uint64_t released_master = 0;
    std::uint64_t adverts_sent = 0;
    std::uint64_t adverts_received = 0;  // accepted ones
    std::uint64_t priority_zero_sent = 0;
    std::uint64_t priority_zero_received = 0;
    std::array<std::uint64_t, kReasonCount> rejected{};  // by Reason
    std::array<std::uint64_t, kReasonCount> warnings{};  // accepted with a warning, by Reason
};

class Instance {
  public:
    // A stopped instance (state Initialize); nothing happens until start() or resume().
    explicit Instance(InstanceConfig config);

    // RFC 5798 6.4.1 Initialize, with keepalived's choices: FAULT when tracking says so; priority 255 becomes
    // MASTER at once; `state MASTER` waits one advert interval (plus a minimal skew) for another master;
    // otherwise BACKUP for a full Master_Down_Interval.
    Actions start(TimePoint now);
    // Resumes a state remembered by the parent after a restart, with no transition: MASTER sends an advert at
    // once (the VIPs are assumed still present, so no GARP); BACKUP waits a full Master_Down_Interval;
    // anything else starts normally.
    Actions resume(State remembered, TimePoint now);
    // A parsed advertisement addressed to this instance: validated, counted, then handled per RFC 5798 6.4.
    Actions receive(const Advert& advert, const IpFacts& facts, TimePoint now);
    // Timer `timer` reached its deadline; stale expiries (cancelled or re-armed later) are ignored.
    Actions expire(TimerId timer, TimePoint now);
    // Fires every timer due at `now`, earliest first.
    Actions poll(TimePoint now);
    // The same, appending to `out` (an idle MASTER's advert every advert_int allocates no list).
    void poll(TimePoint now, Actions& out);
    // Link state of the instance's interface or a tracked interface.
    Actions set_link(const std::string& interface, bool up, TimePoint now);
    // Latest result of a tracked vrrp_script.
    Actions set_script(const std::string& name, bool ok, TimePoint now);
    // Quorum state of a tracked virtual server (track_virtual_server).
    Actions set_virtual_server(const std::string& name, bool up, TimePoint now);
    // Orderly stop: a MASTER sends priority 0 and releases its addresses; the instance returns to Initialize.
    Actions shutdown(TimePoint now);
    // Applies a new config with the same identity (see same_identity): unchanged, a MASTER sends one advert;
    // changed, addresses, priority and timers follow the new config without leaving the current state.
    Actions reconfigure(InstanceConfig config, TimePoint now);
    // The local primary address used to break priority ties (unicast_src_ip wins when configured).
    void set_primary_address(const IpAddr& address) { primary_address_ = address; }

    // Marks the instance as a sync group member: its Master_Down_Timer then only records that it wants
    // MASTER, and the Core moves the group when every member wants it (keepalived: prefer BACKUP to
    // thrashing).
    void set_sync_member(bool member) { sync_member_ = member; }
    // True when MASTER, or BACKUP with its Master_Down_Timer run out since the last accepted advert.
    bool wants_master() const { return state_ == State::kMaster || wants_master_; }
    // Sync group: become MASTER because another member did.
    Actions group_master(const std::string& reason, TimePoint now);
    // Sync group: become BACKUP because another member did.
    Actions group_backup(const std::string& reason, TimePoint now);
    // Sync group: held in FAULT (hold = true) while another member is in FAULT, released when none is.
    Actions group_hold(bool hold, const std::string& reason, TimePoint now);

    // The current config.
    const InstanceConfig& config() const { return config_; }
    // The current state.
    State state() const { return state_; }
    // The priority advertised now (base priority moved by tracking weights).
    std::uint8_t priority() const { return priority_; }
    // True when the instance's own tracking (not its sync group) requires FAULT.
    bool own_fault() const { return tracker_.fault(); }
    // RFC 5798 Master_Adver_Interval (learned from the master in v3).
    Duration master_adver_interval() const { return master_adver_interval_; }
    // RFC 5798 Skew_Time for our priority.
    Duration skew_time() const;
    // RFC 5798 Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time.
    Duration master_down_interval() const { return 3 * master_adver_interval_ + skew_time(); }
    // The deadline of `timer`, if armed.
    std::optional<TimePoint> deadline(TimerId timer) const {
        return timers_[static_cast<std::size_t>(timer)];
    }
    // The earliest armed deadline, if any.
    std::optional<TimePoint> next_deadline() const;
    // The address used as ours in elections and as the advert source: unicast_src_ip, else the one set.
    std::optional<IpAddr> primary_address() const;
    // The address of the last master heard from, if any.
    std::optional<IpAddr> master_address() const { return master_address_; }
    // Counters.
    const InstanceStats& stats() const { return stats_; }
    // When the last transition happened.
    TimePoint last_transition() const { return last_transition_; }

  private:
    void expire(TimerId timer, TimePoint now, Actions& out);
    void transition(State to, const std::string& reason, TimePoint now, Actions& out);
    void arm(TimerId timer, TimePoint at, Actions& out);
    void cancel(TimerId timer, Actions& out);
    void cancel_all(Actions& out);
    void send_advert(std::uint8_t priority, Actions& out);
    void become_master(const std::string& reason, TimePoint now, Actions& out);
    void become_backup(const std::string& reason, TimePoint now, Actions& out);
    void enter_fault(const std::string& reason, TimePoint now, Actions& out);
    void leave_fault(TimePoint now, Actions& out);
    void release_master(Actions& out);
    void receive_as_backup(const Advert& advert, const IpFacts& facts, TimePoint now, Actions& out);
    void receive_as_master(const Advert& advert, const IpFacts& facts, TimePoint now, Actions& out);
    void tracking_changed(TimePoint now, Actions& out);
    void update_addresses(const InstanceConfig& old, Actions& out);
    std::vector<VirtualAddress> all_addresses() const;
    Duration skew_for(unsigned priority_value) const;

    InstanceConfig config_;
    Tracker tracker_;
    State state_ = State::kInitialize;
    std::uint8_t priority_;
    Duration master_adver_interval_;
    std::array<std::optional<TimePoint>, kTimerCount> timers_{};
    std::optional<TimePoint> preempt_time_;
    std::optional<IpAddr> master_address_;
    std::optional<IpAddr> primary_address_;
    bool group_hold_ = false;
    bool sync_member_ = false;
    bool wants_master_ = false;
    Reason last_warning_ = Reason::kNone;
    InstanceStats stats_;
    TimePoint last_transition_{};
};

}  // namespace vigil::vrrp
