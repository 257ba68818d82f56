#include "common/ipc/keys.hpp"

namespace vigil::common::ipc {

namespace {

std::string host_port(const std::string& address, std::uint32_t port) {
    bool v6 = address.find(':') != std::string::npos;
    return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

}  // namespace

std::string protocol_name(vigil::config::Protocol protocol) {
    switch (protocol) {
        case vigil::config::UDP:
            return "UDP";
        case vigil::config::SCTP:
            return "SCTP";
        default:
            return "TCP";
    }
}

std::string virtual_server_key(const vigil::config::VirtualServer& vs) {
    std::string where;
    if (!vs.group().empty())
        where = "group " + vs.group();
    else if (vs.fwmark() != 0)
        where = "fwmark " + std::to_string(vs.fwmark());
    else
        where = host_port(vs.address(), vs.port());
    return where + " " + protocol_name(vs.protocol());
}

std::string real_server_key(const vigil::config::RealServer& rs) {
    return host_port(rs.address(), rs.port());
}

}  // namespace vigil::common::ipc
