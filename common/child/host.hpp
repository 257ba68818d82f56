#pragma once
// What a child's prepare() checks against the host it runs on: interfaces and local addresses.

#include <string>

namespace vigil::common::child {

// True when an interface of that name exists in this network namespace.
bool interface_exists(const std::string& name);

// True when `address` (IPv4 or IPv6 text) is assigned to an interface here.
bool is_local_address(const std::string& address);

}  // namespace vigil::common::child
