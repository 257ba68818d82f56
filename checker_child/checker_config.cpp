#include "checker_child/checker_config.hpp"

namespace vigil::check {

std::string format_endpoint(const std::string& ip, uint16_t port) {
    if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
    return ip + ":" + std::to_string(port);
}

}  // namespace vigil::check
