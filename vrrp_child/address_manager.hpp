#pragma once
// Adds and removes virtual IP addresses with rtnetlink, idempotently: reconciling to "present" or "absent"
// succeeds whether or not the address was already in that state, and says which it was.

#include <string_view>

#include "common/netlink/client.hpp"
#include "common/netlink/message.hpp"
#include "common/netlink/result.hpp"

namespace vigil::vrrp {

// What add() or remove() found and did.
enum class AddressChange : std::uint8_t {
    kAdded,           // the address was not there and now is
    kAlreadyPresent,  // the kernel answered EEXIST: nothing to do
    kRemoved,         // the address was there and now is not
    kNotPresent,      // the kernel answered EADDRNOTAVAIL: nothing to do
};

// "added", "already present", "removed", "not present".
std::string_view to_string(AddressChange change);

class AddressManager {
  public:
    // `netlink` must outlive the manager.
    explicit AddressManager(common::netlink::Client& netlink) : netlink_(netlink) {}

    // Adds `vip` to its interface. IPv6 addresses are added with IFA_F_NODAD, as keepalived does: a VIP
    // moving between routers must answer at once, not after duplicate address detection.
    common::netlink::Result<AddressChange> add(common::netlink::AddressSpec vip);

    // Removes `vip` from its interface.
    common::netlink::Result<AddressChange> remove(const common::netlink::AddressSpec& vip);

    // True when `vip` (address and interface) is currently configured.
    common::netlink::Result<bool> present(const common::netlink::AddressSpec& vip);

  private:
    common::netlink::Client& netlink_;
};

}  // namespace vigil::vrrp
