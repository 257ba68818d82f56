#pragma once
// One vrrp_instance as the VRRP core sees it: a plain value, built from the protobuf model by
// make_instance_config() and compared with == on reload.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vrrp_child/ip_addr.hpp"
#include "vrrp_child/packet.hpp"

namespace vigil::config {
class VrrpInstance;
class VrrpSyncGroup;
}  // namespace vigil::config

namespace vigil::vrrp {

using std::chrono::milliseconds;

// One address of virtual_ipaddress / virtual_ipaddress_excluded.
struct VirtualAddress {
    IpAddr address;
    std::uint8_t prefix_len = 32;
    std::string device;  // `dev`; empty means the instance's interface
    std::string label;   // `label`, IPv4 only
    bool operator==(const VirtualAddress&) const = default;
};

// `authentication { auth_type PASS; auth_pass ... }` (VRRPv2 only).
struct AuthConfig {
    AuthType type = AuthType::kNone;
    std::string password;  // at most 8 bytes are carried on the wire
    bool operator==(const AuthConfig&) const = default;
};

// A tracked object (track_interface, track_script, track_virtual_server) and the weight it contributes.
// weight 0: failure puts the instance in FAULT. weight > 0: while up, priority += weight.
// weight < 0: while down, priority += weight (lowered).
struct Tracked {
    std::string name;
    int weight = 0;
    bool operator==(const Tracked&) const = default;
};

// keepalived's gratuitous ARP / unsolicited NA settings after becoming MASTER.
struct GarpConfig {
    milliseconds master_delay{5000};     // garp_master_delay: second burst after this delay (0: none)
    unsigned master_repeat = 5;          // garp_master_repeat: messages per burst
    milliseconds master_refresh{0};      // garp_master_refresh: periodic refresh while MASTER (0: none)
    unsigned master_refresh_repeat = 1;  // garp_master_refresh_repeat
    // garp_lower_prio_repeat: a MASTER hearing a lower priority master (split brain) re-announces (0: never).
    unsigned lower_prio_repeat = 5;
    bool operator==(const GarpConfig&) const = default;
};

enum class InitialState : std::uint8_t { kBackup, kMaster };

struct InstanceConfig {
    std::string name;          // vrrp_instance NAME
    std::string interface;     // interface
    std::uint8_t vrid = 0;     // virtual_router_id, 1..255
    std::uint8_t version = 2;  // version (keepalived's default vrrp_version is 2)
    Family family = Family::kIpv4;
    std::uint8_t priority = 100;                // priority, 1..255 (255: address owner)
    milliseconds advert_int{1000};              // advert_int (v2: whole seconds; v3: multiples of 10 ms)
    std::vector<VirtualAddress> vips;           // virtual_ipaddress (carried in adverts)
    std::vector<VirtualAddress> excluded_vips;  // virtual_ipaddress_excluded (added, not carried)
    AuthConfig auth;
    InitialState initial_state = InitialState::kBackup;  // state: the initial wish
    bool preempt = true;                                 // false with nopreempt
    milliseconds preempt_delay{0};                       // preempt_delay
    std::vector<Tracked> track_interfaces;
    std::vector<Tracked> track_scripts;
    std::vector<Tracked> track_virtual_servers;
    GarpConfig garp;
    std::optional<IpAddr> unicast_src;  // unicast_src_ip (also our primary address for elections)
    std::vector<IpAddr> unicast_peers;  // unicast_peer; empty: multicast
    ChecksumMode checksum_mode = ChecksumMode::kPseudoHeader;  // v3_checksum_as_v2 -> kAsV2
    std::string sync_group;  // the vrrp_sync_group this instance belongs to, if any

    // True when the instance speaks unicast to its peers.
    bool unicast() const { return !unicast_peers.empty(); }
    bool operator==(const InstanceConfig&) const = default;
};

// Two configs describe the same instance on the wire (same interface, VRID, family and version): a reload may
// then change the rest in place instead of replacing the instance.
bool same_identity(const InstanceConfig& a, const InstanceConfig& b);

// The result of building an InstanceConfig: the config, or the errors that prevent it.
struct InstanceConfigResult {
    std::optional<InstanceConfig> config;
    std::vector<std::string> errors;
    std::vector<std::string> warnings;  // accepted but not acted on (e.g. authentication with VRRPv3)
};

// Builds the core's view of one instance from the protobuf model; `errors` names every field that is invalid.
// track_script weights are the instance's overrides only (0 when not overridden): the caller, which sees the
// vrrp_script blocks, fills in each script's own weight. track_virtual_server names use common/ipc/keys'
// form.
InstanceConfigResult make_instance_config(const vigil::config::VrrpInstance& proto);

}  // namespace vigil::vrrp
