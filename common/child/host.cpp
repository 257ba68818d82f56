#include "common/child/host.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>

namespace vigil::common::child {

bool interface_exists(const std::string& name) {
    return !name.empty() && name.size() < IF_NAMESIZE && ::if_nametoindex(name.c_str()) != 0;
}

bool is_local_address(const std::string& address) {
    in_addr v4{};
    in6_addr v6{};
    bool is_v4 = ::inet_pton(AF_INET, address.c_str(), &v4) == 1;
    bool is_v6 = !is_v4 && ::inet_pton(AF_INET6, address.c_str(), &v6) == 1;
    if (!is_v4 && !is_v6) return false;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return false;
    bool found = false;
    for (ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
        if (i->ifa_addr == nullptr) continue;
        if (is_v4 && i->ifa_addr->sa_family == AF_INET) {
            auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            found = sin->sin_addr.s_addr == v4.s_addr;
        } else if (is_v6 && i->ifa_addr->sa_family == AF_INET6) {
            auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            found = std::memcmp(&sin6->sin6_addr, &v6, sizeof(v6)) == 0;
        }
    }
    ::freeifaddrs(list);
    return found;
}

}  // namespace vigil::common::child
