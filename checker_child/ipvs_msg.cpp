#include "checker_child/ipvs_msg.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>

#include <cstring>

namespace vigil::check {

namespace {

// The largest message we build: headers, a service and a destination nest, with room to spare.
constexpr std::size_t kMaxMsg = 512;

// Appends a netlink + genetlink header for `cmd`; returns the message to fill.
nlmsghdr* begin(MsgBuffer& out, std::uint16_t type, std::uint16_t flags, std::uint32_t seq, std::uint8_t cmd,
                std::uint8_t version) {
    std::size_t at = out.size();
    out.resize(at + kMaxMsg, 0);
    nlmsghdr* nlh = mnl_nlmsg_put_header(out.data() + at);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
    genl->cmd = cmd;
    genl->version = version;
    return nlh;
}

// Trims the buffer to the end of the message that `begin` started at `at`.
void finish(MsgBuffer& out, std::size_t at) {
    auto* nlh = reinterpret_cast<nlmsghdr*>(out.data() + at);
    out.resize(at + MNL_ALIGN(nlh->nlmsg_len));
}

void put_address(nlmsghdr* nlh, std::uint16_t type, const IpAddress& address) {
    // Always the 16 bytes of union nf_inet_addr, as the kernel reports it and ipvsadm sends it.
    mnl_attr_put(nlh, type, address.bytes.size(), address.bytes.data());
}

void put_service_key(nlmsghdr* nlh, const ServiceKey& key) {
    mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_AF, key.family);
    if (key.fwmark != 0) {
        mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_FWMARK, key.fwmark);
        return;
    }
    mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PROTOCOL, key.protocol);
    put_address(nlh, IPVS_SVC_ATTR_ADDR, key.address);
    mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PORT, htons(key.port));
}

std::uint32_t netmask_to_kernel(const Service& service) {
    std::uint32_t netmask = service.effective_netmask();
    return service.key.family == AF_INET ? htonl(netmask) : netmask;
}

void put_service_nest(nlmsghdr* nlh, const Service& service, bool full) {
    nlattr* nest = mnl_attr_nest_start(nlh, IPVS_CMD_ATTR_SERVICE);
    put_service_key(nlh, service.key);
    if (full) {
        mnl_attr_put_strz(nlh, IPVS_SVC_ATTR_SCHED_NAME, service.scheduler.c_str());
        if (!service.pe_name.empty()) mnl_attr_put_strz(nlh, IPVS_SVC_ATTR_PE_NAME, service.pe_name.c_str());
        ip_vs_flags flags{service.flags & ~kSvcFlagHashed, 0xffffffff};
        mnl_attr_put(nlh, IPVS_SVC_ATTR_FLAGS, sizeof flags, &flags);
        mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_TIMEOUT, service.timeout);
        mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_NETMASK, netmask_to_kernel(service));
    }
    mnl_attr_nest_end(nlh, nest);
}

std::uint16_t ack_flags() {
    return NLM_F_REQUEST | NLM_F_ACK;
}

}  // namespace

void put_get_family(MsgBuffer& out, std::uint32_t seq) {
    std::size_t at = out.size();
    nlmsghdr* nlh = begin(out, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq, CTRL_CMD_GETFAMILY, 1);
    mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME);
    finish(out, at);
}

void put_get_info(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq) {
    std::size_t at = out.size();
    begin(out, family_id, ack_flags(), seq, IPVS_CMD_GET_INFO, kIpvsGenlVersion);
    finish(out, at);
}

void put_service(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq, IpvsCmd cmd,
                 const Service& service) {
    std::size_t at = out.size();
    nlmsghdr* nlh = begin(out, family_id, ack_flags(), seq, static_cast<std::uint8_t>(cmd), kIpvsGenlVersion);
    put_service_nest(nlh, service, cmd != IpvsCmd::kDelService);
    finish(out, at);
}

void put_dest(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq, IpvsCmd cmd,
              const ServiceKey& service, const Dest& dest) {
    std::size_t at = out.size();
    nlmsghdr* nlh = begin(out, family_id, ack_flags(), seq, static_cast<std::uint8_t>(cmd), kIpvsGenlVersion);
    Service key_only;
    key_only.key = service;
    put_service_nest(nlh, key_only, false);
    nlattr* nest = mnl_attr_nest_start(nlh, IPVS_CMD_ATTR_DEST);
    put_address(nlh, IPVS_DEST_ATTR_ADDR, dest.key.address);
    mnl_attr_put_u16(nlh, IPVS_DEST_ATTR_PORT, htons(dest.key.port));
    mnl_attr_put_u16(nlh, IPVS_DEST_ATTR_ADDR_FAMILY, dest.key.address.family);
    if (cmd != IpvsCmd::kDelDest) {
        mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_FWD_METHOD, static_cast<std::uint32_t>(dest.forward));
        mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_WEIGHT, dest.weight);
        mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_U_THRESH, dest.upper_threshold);
        mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_L_THRESH, dest.lower_threshold);
    }
    mnl_attr_nest_end(nlh, nest);
    finish(out, at);
}

void put_dump_services(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq) {
    std::size_t at = out.size();
    begin(out, family_id, NLM_F_REQUEST | NLM_F_DUMP, seq, IPVS_CMD_GET_SERVICE, kIpvsGenlVersion);
    finish(out, at);
}

void put_dump_dests(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq, const ServiceKey& service) {
    std::size_t at = out.size();
    nlmsghdr* nlh =
        begin(out, family_id, NLM_F_REQUEST | NLM_F_DUMP, seq, IPVS_CMD_GET_DEST, kIpvsGenlVersion);
    Service key_only;
    key_only.key = service;
    put_service_nest(nlh, key_only, false);
    finish(out, at);
}

void put_flush(MsgBuffer& out, std::uint16_t family_id, std::uint32_t seq) {
    std::size_t at = out.size();
    begin(out, family_id, ack_flags(), seq, IPVS_CMD_FLUSH, kIpvsGenlVersion);
    finish(out, at);
}

// ---- decoding ----

Result<std::vector<const nlmsghdr*>> split_messages(std::span<const std::uint8_t> datagram) {
    std::vector<const nlmsghdr*> out;
    const void* p = datagram.data();
    int len = static_cast<int>(datagram.size());
    if (reinterpret_cast<std::uintptr_t>(p) % alignof(nlmsghdr) != 0)
        return Result<std::vector<const nlmsghdr*>>::failure("datagram is not aligned");
    auto* nlh = static_cast<const nlmsghdr*>(p);
    while (mnl_nlmsg_ok(nlh, len)) {
        out.push_back(nlh);
        nlh = mnl_nlmsg_next(nlh, &len);
    }
    if (len != 0)
        return Result<std::vector<const nlmsghdr*>>::failure("truncated netlink message (" +
                                                             std::to_string(len) + " bytes left over)");
    return out;
}

namespace {

// Attributes of one nest, indexed by type; types above N are ignored (newer kernels add some).
template <std::size_t N>
struct Attrs {
    std::array<const nlattr*, N + 1> at{};
    std::string error;
};

template <std::size_t N>
int collect(const nlattr* attr, void* data) {
    auto* attrs = static_cast<Attrs<N>*>(data);
    if (mnl_attr_type_valid(attr, N + 1) < 0) return MNL_CB_OK;  // unknown: newer kernel, skip
    attrs->at[mnl_attr_get_type(attr)] = attr;
    return MNL_CB_OK;
}

// The top-level attributes of a genetlink message, after the genetlink header.
template <std::size_t N>
Result<Attrs<N>> top_attrs(const nlmsghdr* msg) {
    if (msg->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(genlmsghdr))
        return Result<Attrs<N>>::failure("message shorter than a genetlink header");
    Attrs<N> attrs;
    if (mnl_attr_parse(msg, sizeof(genlmsghdr), collect<N>, &attrs) < 0)
        return Result<Attrs<N>>::failure("malformed attribute");
    return attrs;
}

template <std::size_t N>
Result<Attrs<N>> nested_attrs(const nlattr* nest, const char* what) {
    Attrs<N> attrs;
    if (mnl_attr_parse_nested(nest, collect<N>, &attrs) < 0)
        return Result<Attrs<N>>::failure(std::string("malformed attribute in ") + what);
    return attrs;
}

// Reads a fixed-size attribute, checking its length.
template <typename T>
bool get_exact(const nlattr* attr, T& out) {
    if (attr == nullptr || mnl_attr_get_payload_len(attr) < sizeof(T)) return false;
    std::memcpy(&out, mnl_attr_get_payload(attr), sizeof(T));
    return true;
}

bool get_address(const nlattr* attr, std::uint16_t family, IpAddress& out) {
    if (attr == nullptr) return false;
    std::size_t need = family == AF_INET6 ? 16 : 4;
    std::size_t len = mnl_attr_get_payload_len(attr);
    if (len < need) return false;
    out = IpAddress{};
    out.family = family;
    std::memcpy(out.bytes.data(), mnl_attr_get_payload(attr), need);
    return true;
}

bool get_string(const nlattr* attr, std::string& out) {
    if (attr == nullptr) return false;
    const char* s = static_cast<const char*>(mnl_attr_get_payload(attr));
    out.assign(s, strnlen(s, mnl_attr_get_payload_len(attr)));
    return true;
}

}  // namespace

Result<std::uint16_t> parse_family_id(const nlmsghdr* msg) {
    if (msg->nlmsg_type != GENL_ID_CTRL)
        return Result<std::uint16_t>::failure("not a genetlink controller message");
    auto attrs = top_attrs<CTRL_ATTR_MAX>(msg);
    if (!attrs) return Result<std::uint16_t>::failure(attrs.reason());
    std::uint16_t id = 0;
    if (!get_exact(attrs->at[CTRL_ATTR_FAMILY_ID], id))
        return Result<std::uint16_t>::failure("no CTRL_ATTR_FAMILY_ID in the controller's reply");
    return id;
}

Result<IpvsInfo> parse_info(const nlmsghdr* msg) {
    auto attrs = top_attrs<IPVS_INFO_ATTR_MAX>(msg);
    if (!attrs) return Result<IpvsInfo>::failure(attrs.reason());
    IpvsInfo info;
    if (!get_exact(attrs->at[IPVS_INFO_ATTR_VERSION], info.version))
        return Result<IpvsInfo>::failure("no IPVS_INFO_ATTR_VERSION");
    get_exact(attrs->at[IPVS_INFO_ATTR_CONN_TAB_SIZE], info.conn_tab_size);
    return info;
}

Result<Service> parse_service(const nlmsghdr* msg) {
    using R = Result<Service>;
    auto top = top_attrs<IPVS_CMD_ATTR_MAX>(msg);
    if (!top) return R::failure(top.reason());
    if (top->at[IPVS_CMD_ATTR_SERVICE] == nullptr) return R::failure("no IPVS_CMD_ATTR_SERVICE");
    auto a = nested_attrs<IPVS_SVC_ATTR_MAX>(top->at[IPVS_CMD_ATTR_SERVICE], "service");
    if (!a) return R::failure(a.reason());
    Service s;
    ServiceKey& k = s.key;
    if (!get_exact(a->at[IPVS_SVC_ATTR_AF], k.family)) return R::failure("service without IPVS_SVC_ATTR_AF");
    if (k.family != AF_INET && k.family != AF_INET6)
        return R::failure("service with unknown address family " + std::to_string(k.family));
    get_exact(a->at[IPVS_SVC_ATTR_FWMARK], k.fwmark);
    if (k.fwmark == 0) {
        std::uint16_t port_be = 0;
        if (!get_exact(a->at[IPVS_SVC_ATTR_PROTOCOL], k.protocol) ||
            !get_address(a->at[IPVS_SVC_ATTR_ADDR], k.family, k.address) ||
            !get_exact(a->at[IPVS_SVC_ATTR_PORT], port_be))
            return R::failure("service with neither a fwmark nor protocol, address and port");
        k.port = ntohs(port_be);
    } else {
        k.address.family = k.family;
    }
    if (!get_string(a->at[IPVS_SVC_ATTR_SCHED_NAME], s.scheduler))
        return R::failure("service " + to_string(k) + " without a scheduler name");
    ip_vs_flags flags{};
    if (!get_exact(a->at[IPVS_SVC_ATTR_FLAGS], flags))
        return R::failure("service " + to_string(k) + " without flags");
    s.flags = flags.flags;
    get_exact(a->at[IPVS_SVC_ATTR_TIMEOUT], s.timeout);
    std::uint32_t netmask = 0;
    if (get_exact(a->at[IPVS_SVC_ATTR_NETMASK], netmask))
        s.netmask = k.family == AF_INET ? ntohl(netmask) : netmask;
    get_string(a->at[IPVS_SVC_ATTR_PE_NAME], s.pe_name);
    return s;
}

Result<Dest> parse_dest(const nlmsghdr* msg) {
    using R = Result<Dest>;
    auto top = top_attrs<IPVS_CMD_ATTR_MAX>(msg);
    if (!top) return R::failure(top.reason());
    if (top->at[IPVS_CMD_ATTR_DEST] == nullptr) return R::failure("no IPVS_CMD_ATTR_DEST");
    auto a = nested_attrs<IPVS_DEST_ATTR_MAX>(top->at[IPVS_CMD_ATTR_DEST], "destination");
    if (!a) return R::failure(a.reason());
    Dest d;
    std::uint16_t family = AF_INET;
    // Kernels before 4.x omit the family: the destination then has its service's family, which a dump of one
    // IPv4 service's destinations does not tell; the 4 bytes of an IPv4 address are still read correctly.
    if (!get_exact(a->at[IPVS_DEST_ATTR_ADDR_FAMILY], family)) family = AF_INET;
    if (family != AF_INET && family != AF_INET6)
        return R::failure("destination with unknown address family " + std::to_string(family));
    std::uint16_t port_be = 0;
    if (!get_address(a->at[IPVS_DEST_ATTR_ADDR], family, d.key.address) ||
        !get_exact(a->at[IPVS_DEST_ATTR_PORT], port_be))
        return R::failure("destination without an address or port");
    d.key.port = ntohs(port_be);
    std::uint32_t fwd = 0;
    if (!get_exact(a->at[IPVS_DEST_ATTR_FWD_METHOD], fwd) ||
        !get_exact(a->at[IPVS_DEST_ATTR_WEIGHT], d.weight))
        return R::failure("destination " + to_string(d.key) + " without a forwarding method or weight");
    d.forward = static_cast<Forward>(fwd & IP_VS_CONN_F_FWD_MASK);
    get_exact(a->at[IPVS_DEST_ATTR_U_THRESH], d.upper_threshold);
    get_exact(a->at[IPVS_DEST_ATTR_L_THRESH], d.lower_threshold);
    return d;
}

Result<Ack> parse_ack(const nlmsghdr* msg) {
    using R = Result<Ack>;
    if (msg->nlmsg_type != NLMSG_ERROR) return R::failure("not an acknowledgement");
    if (mnl_nlmsg_get_payload_len(msg) < sizeof(nlmsgerr)) return R::failure("acknowledgement too short");
    auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(msg));
    Ack ack;
    ack.seq = err->msg.nlmsg_seq;
    ack.error = -err->error;
    if ((msg->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
        // The TLVs follow the echoed request: its header only when capped, the whole of it otherwise.
        std::size_t offset = sizeof(nlmsgerr);
        if ((msg->nlmsg_flags & NLM_F_CAPPED) == 0)
            offset += MNL_ALIGN(err->msg.nlmsg_len) - sizeof(nlmsghdr);
        if (offset <= mnl_nlmsg_get_payload_len(msg)) {
            Attrs<NLMSGERR_ATTR_MAX> attrs;
            mnl_attr_parse(msg, offset, collect<NLMSGERR_ATTR_MAX>, &attrs);
            get_string(attrs.at[NLMSGERR_ATTR_MSG], ack.message);
        }
    }
    return ack;
}

}  // namespace vigil::check
