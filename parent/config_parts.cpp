#include "parent/config_parts.hpp"

namespace vigil::parent {

bool has_vrrp_part(const vigil::config::Config& config) {
    return config.vrrp_instance_size() > 0 || config.static_ipaddress_size() > 0 ||
           config.static_routes_size() > 0 || config.static_rules_size() > 0;
}

bool has_checker_part(const vigil::config::Config& config) {
    return config.virtual_server_size() > 0;
}

bool needs_icmp(const vigil::config::Config& config) {
    for (const auto& vs : config.virtual_server())
        for (const auto& rs : vs.real_server())
            for (const auto& c : rs.checkers())
                if (c.has_ping_check()) return true;
    return false;
}

bool needs_raw_tcp(const vigil::config::Config& config) {
    for (const auto& vs : config.virtual_server())
        for (const auto& rs : vs.real_server())
            for (const auto& c : rs.checkers())
                if (c.has_tcp_check()) return true;
    return false;
}

CheckerRaw checker_raw(const vigil::config::Config& config) {
    return {needs_icmp(config), needs_raw_tcp(config)};
}

}  // namespace vigil::parent
