#pragma once
// What `vigilctl status` shows: assembled from the supervisor's view of its children and the latest states
// the children reported (sans-IO), printed as tables or as protobuf JSON.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "parent/state_store.hpp"
#include "proto/control.pb.h"

namespace vigil::parent {

// One child as the supervisor sees it.
struct ChildReport {
    std::string role;  // vrrp, checker
    int pid = 0;
    vigil::control::ChildStatus::State state = vigil::control::ChildStatus::STATE_UNSPECIFIED;
    std::uint32_t restarts = 0;
    std::chrono::milliseconds uptime{0};
    std::string reason;
    std::uint64_t generation = 0;
};

struct StatusInputs {
    int pid = 0;
    std::string config_file;
    std::uint64_t generation = 0;
    const vigil::control::ReloadResult* last_reload = nullptr;  // null before the first reload
    std::vector<ChildReport> children;
    const StateStore* store = nullptr;
};

// The StatusResponse for `inputs` (version filled from this build).
vigil::control::StatusResponse assemble_status(const StatusInputs& inputs);

// Readable tables: the daemon, its children, VRRP instances, virtual and real servers.
std::string format_status_text(const vigil::control::StatusResponse& status);

// Protobuf's JSON with its default lowerCamelCase names, every field printed (zeros and empty lists too), so
// scripts find `restarts: 0` rather than nothing.
std::string to_json(const google::protobuf::Message& message);

}  // namespace vigil::parent
