#pragma once
// Which child a config needs, and with which capabilities.

#include "proto/config.pb.h"

namespace vigil::parent {

// True when the config has something for vigil-vrrp: VRRP instances, or static addresses, routes or rules.
bool has_vrrp_part(const vigil::config::Config& config);

// True when the config has something for vigil-checker: virtual servers.
bool has_checker_part(const vigil::config::Config& config);

// True when some real server has a PING_CHECK: the checker then needs CAP_NET_RAW for ICMP sockets.
bool needs_icmp(const vigil::config::Config& config);

}  // namespace vigil::parent
