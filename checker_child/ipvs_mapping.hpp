#pragma once
// From the configuration model to the IPVS services and destinations it names: one service per virtual_server
// (or per entry of its virtual_server_group), with the scheduler, persistence and flags of the config, and a
// destination per real server with the forwarding method and thresholds of the config.

#include <string>
#include <vector>

#include "checker_child/health.hpp"
#include "checker_child/ipvs_table.hpp"
#include "proto/config.pb.h"

namespace vigil::check {

// The services of one virtual_server (several for a group), or the reason there are none.
struct MappedServices {
    std::vector<Service> services;
    std::string error;
};

// The services `vs` stands for. `config` is needed for virtual_server_group entries.
MappedServices services_of(const vigil::config::VirtualServer& vs, const vigil::config::Config& config);

// The destination for `ip`:`port` of `vs` (weight as given), using the real server's own lb_kind and
// thresholds when the config has that real server, else the virtual server's.
Dest dest_of(const vigil::config::VirtualServer& vs, const DesiredDestination& d);

// Everything vs names in IPVS, healthy or not: its services with every real server and the sorry server.
void own_everything(const vigil::config::VirtualServer& vs, const std::vector<Service>& services,
                    Ownership& owned);

}  // namespace vigil::check
