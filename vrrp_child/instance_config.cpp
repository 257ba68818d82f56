#include "vrrp_child/instance_config.hpp"

namespace vigil::vrrp {

bool same_identity(const InstanceConfig& a, const InstanceConfig& b) {
    return a.name == b.name && a.interface == b.interface && a.vrid == b.vrid && a.family == b.family &&
           a.version == b.version;
}

}  // namespace vigil::vrrp
