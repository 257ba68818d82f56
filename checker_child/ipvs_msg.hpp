#pragma once
// The generic netlink messages of the kernel's "IPVS" family (linux/ip_vs.h), built and parsed with libmnl.
// Pure functions over byte buffers: no socket here, so the encoding is tested against golden bytes without a
// kernel that has IPVS. Builders append one complete netlink message to a buffer, so that several commands
// can travel in one sendmsg.

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "checker_child/ipvs_types.hpp"

namespace vigil::check {

// IPVS genetlink commands (linux/ip_vs.h IPVS_CMD_*).
enum class IpvsCmd : std::uint8_t {
    kNewService = 1,
    kSetService = 2,
    kDelService = 3,
    kGetService = 4,
    kNewDest = 5,
    kSetDest = 6,
    kDelDest = 7,
    kGetDest = 8,
    kSetInfo = 14,  // the kernel's reply to GET_INFO
    kGetInfo = 15,
    kFlush = 17,
};

// The genetlink version of the IPVS family.
inline constexpr std::uint8_t kIpvsGenlVersion = 1;

// Bytes of netlink messages, one after the other, each aligned to 4.
using MsgBuffer = std::vector<std::uint8_t>;

// Appends CTRL_CMD_GETFAMILY for the family named "IPVS" (to the generic netlink controller).
void put_get_family(MsgBuffer& out, std::uint32_t seq);

// Appends IPVS_CMD_GET_INFO (version and connection table size), acked.
void put_get_info(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq);

// Appends NEW_SERVICE or SET_SERVICE (all attributes) or DEL_SERVICE (the key only), with NLM_F_ACK.
void put_service(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq, IpvsCmd cmd,
                 const Service& service);

// Appends NEW_DEST or SET_DEST (all attributes) or DEL_DEST (the key only) for `service`, with NLM_F_ACK.
void put_dest(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq, IpvsCmd cmd,
              const ServiceKey& service, const Dest& dest);

// Appends a GET_SERVICE dump request (every service in the kernel).
void put_dump_services(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq);

// Appends a GET_DEST dump request for the destinations of `service`.
void put_dump_dests(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq, const ServiceKey& service);

// Appends IPVS_CMD_FLUSH (deletes every service and destination), with NLM_F_ACK.
void put_flush(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq);

// The netlink messages in a received datagram, or why it is malformed (a length that runs past the end).
Result<std::vector<const nlmsghdr*>> split_messages(std::span<const std::uint8_t> datagram);

// The family id in the controller's reply to CTRL_CMD_GETFAMILY.
Result<std::uint16_t> parse_family_id(const nlmsghdr* msg);

struct IpvsInfo {
    std::uint32_t version = 0;  // 0x010201 is 1.2.1
    std::uint32_t conn_tab_size = 0;
};

// The reply to GET_INFO.
Result<IpvsInfo> parse_info(const nlmsghdr* msg);

// One service of a GET_SERVICE dump (or the service nested in any IPVS message).
Result<Service> parse_service(const nlmsghdr* msg);

// One destination of a GET_DEST dump.
Result<Dest> parse_dest(const nlmsghdr* msg);

// A netlink acknowledgement: NLMSG_ERROR with error 0 (success) or a negative errno, and the kernel's
// extended ack message when it sent one.
struct Ack {
    std::uint32_t seq = 0;
    int error = 0;  // 0, or a positive errno (EEXIST, ENOENT, ...)
    std::string message;
};

// Decodes an NLMSG_ERROR message.
Result<Ack> parse_ack(const nlmsghdr* msg);

}  // namespace vigil::check
