#include "vrrp_child/actions.hpp"

#include <fmt/format.h>

namespace vigil::vrrp {

std::string_view to_string(State state) {
    switch (state) {
        case State::kInitialize:
            return "INIT";
        case State::kBackup:
            return "BACKUP";
        case State::kMaster:
            return "MASTER";
        case State::kFault:
            return "FAULT";
    }
    return "?";
}

std::string_view to_string(TimerId timer) {
    switch (timer) {
        case TimerId::kAdverTimer:
            return "Adver_Timer";
        case TimerId::kMasterDownTimer:
            return "Master_Down_Timer";
        case TimerId::kGarpDelay:
            return "garp_master_delay";
        case TimerId::kGarpRefresh:
            return "garp_master_refresh";
    }
    return "?";
}

std::string_view to_string(NotifyState state) {
    switch (state) {
        case NotifyState::kMaster:
            return "MASTER";
        case NotifyState::kBackup:
            return "BACKUP";
        case NotifyState::kFault:
            return "FAULT";
        case NotifyState::kStop:
            return "STOP";
    }
    return "?";
}

std::vector<std::string> Notify::arguments() const {
    return {"INSTANCE", instance, std::string(to_string(state)), std::to_string(priority)};
}

namespace {

std::string join(const std::vector<VirtualAddress>& addresses) {
    std::string out;
    for (const auto& a : addresses) {
        if (!out.empty()) out += ',';
        out += fmt::format("{}/{}", a.address.to_string(), a.prefix_len);
    }
    return out;
}

long long ms_since_epoch(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

struct Describer {
    std::string operator()(const SendAdvert& a) const {
        std::string to = "multicast";
        if (!a.destinations.empty()) {
            to.clear();
            for (const auto& d : a.destinations) to += (to.empty() ? "" : ",") + d.to_string();
        }
        return fmt::format("[{}] send advert prio {} to {}", a.instance, a.advert.priority, to);
    }
    std::string operator()(const AddAddresses& a) const {
        return fmt::format("[{}] add {}", a.instance, join(a.addresses));
    }
    std::string operator()(const RemoveAddresses& a) const {
        return fmt::format("[{}] remove {}", a.instance, join(a.addresses));
    }
    std::string operator()(const SendGratuitous& a) const {
        return fmt::format("[{}] gratuitous x{} {}", a.instance, a.repeat, join(a.addresses));
    }
    std::string operator()(const Notify& a) const {
        return fmt::format("[{}] notify {} {}", a.instance, to_string(a.state), a.priority);
    }
    std::string operator()(const ArmTimer& a) const {
        return fmt::format("[{}] arm {} at {} ms", a.instance, to_string(a.timer), ms_since_epoch(a.at));
    }
    std::string operator()(const CancelTimer& a) const {
        return fmt::format("[{}] cancel {}", a.instance, to_string(a.timer));
    }
    std::string operator()(const Transition& a) const {
        return fmt::format("[{}] {} -> {} ({})", a.instance, to_string(a.from), to_string(a.to), a.reason);
    }
};

}  // namespace

std::string describe(const Action& action) {
    return std::visit(Describer{}, action);
}

}  // namespace vigil::vrrp
