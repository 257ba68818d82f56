#pragma once
// What the sans-IO VRRP core asks the outside world to do. The core returns a list of these; the runtime
// performs them in order (and tests compare them with the expected ones).

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vrrp_child/clock.hpp"
#include "vrrp_child/instance_config.hpp"
#include "vrrp_child/packet.hpp"

namespace vigil::vrrp {

// RFC 5798's states plus keepalived's FAULT.
enum class State : std::uint8_t { kInitialize, kBackup, kMaster, kFault };
// "INIT", "BACKUP", "MASTER", "FAULT" (keepalived's words).
std::string_view to_string(State state);

// The timers an instance runs, named as in RFC 5798 where it names them.
enum class TimerId : std::uint8_t { kAdverTimer, kMasterDownTimer, kGarpDelay, kGarpRefresh };
inline constexpr std::size_t kTimerCount = 4;
// "Adver_Timer", "Master_Down_Timer", "garp_master_delay", "garp_master_refresh".
std::string_view to_string(TimerId timer);

// Send one advertisement with TTL / hop limit 255. `destinations` empty: the VRRP multicast group of the
// family; otherwise one unicast copy to each. Encode with encode(advert, source, destination, checksum_mode).
struct SendAdvert {
    std::string instance;
    Advert advert;
    std::vector<IpAddr> destinations;
    ChecksumMode checksum_mode = ChecksumMode::kPseudoHeader;
    std::optional<IpAddr> source;  // unicast_src_ip when configured
};

// Add these addresses to their interfaces (idempotent in the runtime).
struct AddAddresses {
    std::string instance;
    std::vector<VirtualAddress> addresses;
};

// Remove these addresses from their interfaces.
struct RemoveAddresses {
    std::string instance;
    std::vector<VirtualAddress> addresses;
};

// Send `repeat` gratuitous ARPs (IPv4) / unsolicited neighbour advertisements (IPv6) for each address.
struct SendGratuitous {
    std::string instance;
    std::vector<VirtualAddress> addresses;
    unsigned repeat = 1;
};

enum class NotifyState : std::uint8_t { kMaster, kBackup, kFault, kStop };
// "MASTER", "BACKUP", "FAULT", "STOP".
std::string_view to_string(NotifyState state);

// Run notify_<state> and `notify` scripts.
struct Notify {
    std::string instance;
    NotifyState state = NotifyState::kBackup;
    int priority = 0;
    // keepalived's arguments to `notify`: {"INSTANCE", name, state, priority}.
    std::vector<std::string> arguments() const;
};

// (Re)arm `timer` to fire at `at`; the runtime then calls Core::expire / Instance::expire.
struct ArmTimer {
    std::string instance;
    TimerId timer = TimerId::kAdverTimer;
    TimePoint at;
};

struct CancelTimer {
    std::string instance;
    TimerId timer = TimerId::kAdverTimer;
};

// A state change (already logged and counted by the core); the runtime reports it to the parent.
struct Transition {
    std::string instance;
    State from = State::kInitialize;
    State to = State::kInitialize;
    std::string reason;
    TimePoint at;
};

using Action = std::variant<SendAdvert, AddAddresses, RemoveAddresses, SendGratuitous, Notify, ArmTimer,
                            CancelTimer, Transition>;
using Actions = std::vector<Action>;

// One line describing `action` ("send advert prio 100 to multicast"), for logs and test failure messages.
std::string describe(const Action& action);

}  // namespace vigil::vrrp
