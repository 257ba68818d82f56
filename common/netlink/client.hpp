#pragma once
// An rtnetlink client (libmnl): adds and deletes addresses, lists them, looks interfaces up.
//
// It never blocks: the socket is non-blocking, and it can be, because the kernel handles an rtnetlink request
// inside sendmsg (the ack or the first part of a dump is queued before sendmsg returns) and produces the rest
// of a dump inside each recvmsg. A reply that is not there when it should be is reported as an error.

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "common/netlink/message.hpp"
#include "common/netlink/result.hpp"

struct mnl_socket;

namespace vigil::common::netlink {

class Client {
  public:
    // Opens a NETLINK_ROUTE socket (non-blocking, close-on-exec, extended acks on).
    static Result<Client> open();

    // Adds an address. An address already present fails with error().already_exists() (EEXIST).
    Status add_address(const AddressSpec& spec);
    // Deletes an address. An address not present fails with error().not_present() (EADDRNOTAVAIL).
    Status delete_address(const AddressSpec& spec);
    // Lists the addresses of one family (AF_UNSPEC for both), of one interface or of all (ifindex 0).
    Result<std::vector<AddressInfo>> list_addresses(int family = 0, int ifindex = 0);

    // Looks one interface up by index (name, MAC, MTU, flags, operational state).
    Result<LinkInfo> link(int ifindex);
    // Looks one interface up by name.
    Result<LinkInfo> link(std::string_view name);
    // Lists every interface.
    Result<std::vector<LinkInfo>> links();

  private:
    struct SocketCloser {
        void operator()(mnl_socket* s) const;
    };
    explicit Client(mnl_socket* socket);
    // Sends `request` and reads the reply up to its ack or NLMSG_DONE, giving each other message to
    // `on_message`.
    Status transact(const Bytes& request, const std::string& what,
                    const std::function<Status(const MessageView&)>& on_message);

    std::unique_ptr<mnl_socket, SocketCloser> socket_;
    std::uint32_t port_ = 0;
    std::uint32_t seq_ = 0;
};

}  // namespace vigil::common::netlink
