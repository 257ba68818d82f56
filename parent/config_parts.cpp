#include "parent/config_parts.hpp"

namespace vigil::parent {

bool has_vrrp_part(const vigil::config::Config& config) {
    return config.vrrp_instance_size() > 0 || config.static_ipaddress_size() > 0 ||
           config.static_routes_size() > 0 || config.static_rules_size() > 0;
}

bool has_checker_part(const vigil::config::Config& config) {
    return config.virtual_server_size() > 0;
}

CheckerRaw checker_raw(const vigil::config::Config& config) {
    CheckerRaw raw;
    for (const auto& vs : config.virtual_server())
        for (const auto& rs : vs.real_server())
            for (const auto& c : rs.checkers()) {
                raw.icmp = raw.icmp || c.has_ping_check();
                raw.tcp = raw.tcp || c.has_tcp_check();
                if (raw.icmp && raw.tcp) return raw;
            }
    return raw;
}

}  // namespace vigil::parent
