#include "checker_child/ipvs_types.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace vigil::check {

std::optional<IpAddress> parse_ip(const std::string& text) {
    IpAddress a;
    if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET;
        return a;
    }
    if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET6;
        return a;
    }
    return std::nullopt;
}

std::string to_string(const IpAddress& address) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(address.family, address.bytes.data(), buf, sizeof buf);
    return buf;
}

namespace {

std::string with_port(const IpAddress& address, std::uint16_t port) {
    if (address.family == AF_INET6) return "[" + to_string(address) + "]:" + std::to_string(port);
    return to_string(address) + ":" + std::to_string(port);
}

const char* protocol_name(std::uint16_t protocol) {
    switch (protocol) {
        case IPPROTO_TCP:
            return "TCP";
        case IPPROTO_UDP:
            return "UDP";
        case IPPROTO_SCTP:
            return "SCTP";
        default:
            return "PROTO?";
    }
}

}  // namespace

std::string to_string(const ServiceKey& key) {
    if (key.fwmark != 0)
        return std::string("FWM ") + std::to_string(key.fwmark) + (key.family == AF_INET6 ? " IPv6" : "");
    return std::string(protocol_name(key.protocol)) + " " + with_port(key.address, key.port);
}

std::string to_string(const DestKey& key) {
    return with_port(key.address, key.port);
}

}  // namespace vigil::check
