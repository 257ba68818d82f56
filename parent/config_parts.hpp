#pragma once
// Which child a config needs, and with which capabilities.

#include "proto/config.pb.h"

namespace vigil::parent {

// True when the config has something for vigil-vrrp: VRRP instances, or static addresses, routes or rules.
bool has_vrrp_part(const vigil::config::Config& config);

// True when the config has something for vigil-checker: virtual servers.
bool has_checker_part(const vigil::config::Config& config);

// What vigil-checker is started with, which only a new process can change.
struct CheckerRaw {
    bool icmp = false;  // some real server has a PING_CHECK: keeps CAP_NET_RAW for ICMP (--need-net-raw)
    bool tcp = false;   // some real server has a TCP_CHECK: opens raw TCP sockets at start (--raw-tcp)
    bool operator==(const CheckerRaw&) const = default;
};
// One walk over the real servers' checks.
CheckerRaw checker_raw(const vigil::config::Config& config);

}  // namespace vigil::parent
