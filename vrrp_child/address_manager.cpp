#include "vrrp_child/address_manager.hpp"

#include <sys/socket.h>

namespace vigil::vrrp {

using common::netlink::AddressSpec;
using common::netlink::Result;

std::string_view to_string(AddressChange change) {
    switch (change) {
        case AddressChange::kAdded:
            return "added";
        case AddressChange::kAlreadyPresent:
            return "already present";
        case AddressChange::kRemoved:
            return "removed";
        case AddressChange::kNotPresent:
            return "not present";
    }
    return "?";
}

Result<AddressChange> AddressManager::add(AddressSpec vip) {
    if (vip.address.is_v6()) vip.no_dad = true;
    auto s = netlink_.add_address(vip);
    if (s) return AddressChange::kAdded;
    if (s.error().already_exists()) return AddressChange::kAlreadyPresent;
    return s.error();
}

Result<AddressChange> AddressManager::remove(const AddressSpec& vip) {
    auto s = netlink_.delete_address(vip);
    if (s) return AddressChange::kRemoved;
    if (s.error().not_present()) return AddressChange::kNotPresent;
    return s.error();
}

Result<bool> AddressManager::present(const AddressSpec& vip) {
    auto list = netlink_.list_addresses(vip.address.is_v6() ? AF_INET6 : AF_INET, vip.ifindex);
    if (!list) return list.error();
    for (const auto& a : list.value()) {
        if (a.address == vip.address) return true;
    }
    return false;
}

}  // namespace vigil::vrrp
