#pragma once
// The section parsers: each fills its part of the model from a statement of the tree.

#include "common/config/values.hpp"

namespace vigil::common::config {

// global_defs { ... }
void parse_global_defs(Ctx& ctx, const Node& n);
// vrrp_script NAME { ... }
void parse_vrrp_script(Ctx& ctx, const Node& n);
// track_file / vrrp_track_file NAME { ... }
void parse_track_file(Ctx& ctx, const Node& n);
// vrrp_instance NAME { ... }
void parse_vrrp_instance(Ctx& ctx, const Node& n);
// vrrp_sync_group NAME { ... }
void parse_vrrp_sync_group(Ctx& ctx, const Node& n);
// virtual_server_group NAME { ... }
void parse_virtual_server_group(Ctx& ctx, const Node& n);
// virtual_server ADDR PORT | fwmark N | group NAME { ... }
void parse_virtual_server(Ctx& ctx, const Node& n);
// One checker block (TCP_CHECK, HTTP_GET, ...) of a real server.
void parse_checker(Ctx& ctx, const Node& n, vigil::config::RealServer& rs);

// One address line of virtual_ipaddress / static_ipaddress: `ADDR[/PREFIX] [brd X] [dev X] [scope X] ...`.
bool parse_ip_address(Ctx& ctx, const Node& n, vigil::config::IpAddress* out);
// One line of virtual_routes / static_routes.
bool parse_route(Ctx& ctx, const Node& n, vigil::config::Route* out);
// One line of virtual_rules / static_rules.
bool parse_rule(Ctx& ctx, const Node& n, vigil::config::Rule* out);

// Reports a script command whose program does not exist (an error when checking against the host).
void check_script_path(Ctx& ctx, const Node& n, const std::string& command);
// Reports an interface missing on this host (an error when checking against the host).
void check_interface(Ctx& ctx, const Node& n, size_t arg);

// Fills an instance's defaults and checks its limits (router id, priority, advert_int per version, address
// count and family, nopreempt with state MASTER).
void finish_instance(Ctx& ctx, const Node& n, vigil::config::VrrpInstance& vi);

// Fills keepalived's global defaults once the whole file is read.
void fill_global_defaults(vigil::config::GlobalDefs* g);

// The checks that need the whole file: references, duplicates across sections, per-instance limits, defaults.
void check_semantics(Ctx& ctx);

}  // namespace vigil::common::config
