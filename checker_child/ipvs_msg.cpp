#include "checker_child/ipvs_msg.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>

#include <algorithm>
#include <cstring>

namespace vigil::check {

namespace {

// The largest message we build: headers, a service and a destination nest, with room to spare.
constexpr std::size_t kMaxMsg = 512;

// Encoding writes the headers and attributes inline rather than through libmnl: a cold start programs one
// command per service and destination (11,000 for 1,000 x 10), and libmnl's out-of-line calls (about 50 calls
// and returns per command, each an indirect jump) were most of the encoder's time under qemu's emulation. The
// bytes are libmnl's, checked against golden messages in the unit tests. `begin` zero-fills kMaxMsg bytes,
// so the padding after each attribute is already zero.

// Appends a netlink + genetlink header for `cmd`; returns the message to fill.
nlmsghdr* begin(MsgBuffer& out, std::uint16_t type, std::uint16_t flags, std::uint32_t seq, std::uint8_t cmd,
                std::uint8_t version) {
    std::size_t at = out.size();
    out.resize(at + kMaxMsg, 0);
    auto* nlh = reinterpret_cast<nlmsghdr*>(out.data() + at);
    nlh->nlmsg_len = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(genlmsghdr));
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    auto* genl = reinterpret_cast<genlmsghdr*>(out.data() + at + MNL_NLMSG_HDRLEN);
    genl->cmd = cmd;
    genl->version = version;
    return nlh;
}

// Trims the buffer to the end of the message that `begin` started at `at`.
void finish(MsgBuffer& out, std::size_t at) {
    auto* nlh = reinterpret_cast<nlmsghdr*>(out.data() + at);
    out.resize(at + MNL_ALIGN(nlh->nlmsg_len));
}

std::uint8_t* tail(nlmsghdr* nlh) {
    return reinterpret_cast<std::uint8_t*>(nlh) + MNL_ALIGN(nlh->nlmsg_len);
}

// An attribute of `len` bytes at the message's end (as mnl_attr_put).
inline void put_attr(nlmsghdr* nlh, std::uint16_t type, std::size_t len, const void* data) {
    auto* attr = reinterpret_cast<nlattr*>(tail(nlh));
    attr->nla_type = type;
    attr->nla_len = static_cast<std::uint16_t>(MNL_ATTR_HDRLEN + len);
    std::memcpy(reinterpret_cast<std::uint8_t*>(attr) + MNL_ATTR_HDRLEN, data, len);
    nlh->nlmsg_len += MNL_ALIGN(attr->nla_len);
}

template <typename T>
inline void put_attr(nlmsghdr* nlh, std::uint16_t type, T value) {
    put_attr(nlh, type, sizeof value, &value);
}

// A nest's header (as mnl_attr_nest_start); `end_nest` sets its length once its attributes are in.
inline nlattr* start_nest(nlmsghdr* nlh, std::uint16_t type) {
    auto* nest = reinterpret_cast<nlattr*>(tail(nlh));
    nest->nla_type = NLA_F_NESTED | type;
    nlh->nlmsg_len += MNL_ATTR_HDRLEN;
    return nest;
}

inline void end_nest(nlmsghdr* nlh, nlattr* nest) {
    nest->nla_len = static_cast<std::uint16_t>(tail(nlh) - reinterpret_cast<std::uint8_t*>(nest));
}

// A string with its terminating zero (as mnl_attr_put_strz). The kernel's names (scheduler, persistence
// engine) hold at most 15 characters and it refuses longer ones; a longer text is cut at 31, which keeps the
// message within kMaxMsg and still too long for the kernel to take.
void put_strz(nlmsghdr* nlh, std::uint16_t type, const std::string& text) {
    std::size_t len = std::min<std::size_t>(text.size(), 31);
    auto* attr = reinterpret_cast<nlattr*>(tail(nlh));
    put_attr(nlh, type, len + 1, text.c_str());
    reinterpret_cast<std::uint8_t*>(attr)[MNL_ATTR_HDRLEN + len] = 0;
}

void put_address(nlmsghdr* nlh, std::uint16_t type, const IpAddress& address) {
    // Always the 16 bytes of union nf_inet_addr, as the kernel reports it and ipvsadm sends it.
    put_attr(nlh, type, address.bytes);
}

void put_service_key(nlmsghdr* nlh, const ServiceKey& key) {
    put_attr<std::uint16_t>(nlh, IPVS_SVC_ATTR_AF, key.family);
    if (key.fwmark != 0) {
        put_attr<std::uint32_t>(nlh, IPVS_SVC_ATTR_FWMARK, key.fwmark);
        return;
    }
    put_attr<std::uint16_t>(nlh, IPVS_SVC_ATTR_PROTOCOL, key.protocol);
    put_address(nlh, IPVS_SVC_ATTR_ADDR, key.address);
    put_attr<std::uint16_t>(nlh, IPVS_SVC_ATTR_PORT, htons(key.port));
}

std::uint32_t netmask_to_kernel(const Service& service) {
    std::uint32_t netmask = service.effective_netmask();
    return service.key.family == AF_INET ? htonl(netmask) : netmask;
}

// The service attribute with the key alone: what destination commands and DEL_SERVICE send.
void put_key_nest(nlmsghdr* nlh, const ServiceKey& key) {
    nlattr* nest = start_nest(nlh, IPVS_CMD_ATTR_SERVICE);
    put_service_key(nlh, key);
    end_nest(nlh, nest);
}

void put_service_nest(nlmsghdr* nlh, const Service& service, bool full) {
    if (!full) return put_key_nest(nlh, service.key);
    nlattr* nest = start_nest(nlh, IPVS_CMD_ATTR_SERVICE);
    put_service_key(nlh, service.key);
    put_strz(nlh, IPVS_SVC_ATTR_SCHED_NAME, service.scheduler);
    if (!service.pe_name.empty()) put_strz(nlh, IPVS_SVC_ATTR_PE_NAME, service.pe_name);
    ip_vs_flags flags{service.flags & ~kSvcFlagHashed, 0xffffffff};
    put_attr(nlh, IPVS_SVC_ATTR_FLAGS, flags);
    put_attr<std::uint32_t>(nlh, IPVS_SVC_ATTR_TIMEOUT, service.timeout);
    put_attr<std::uint32_t>(nlh, IPVS_SVC_ATTR_NETMASK, netmask_to_kernel(service));
    end_nest(nlh, nest);
}

std::uint16_t ack_flags() {
    return NLM_F_REQUEST | NLM_F_ACK;
}

}  // namespace

void put_get_family(MsgBuffer& out, std::uint32_t seq) {
    std::size_t at = out.size();
    nlmsghdr* nlh = begin(out, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq, CTRL_CMD_GETFAMILY, 1);
    put_strz(nlh, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME);
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
    put_key_nest(nlh, service);
    nlattr* nest = start_nest(nlh, IPVS_CMD_ATTR_DEST);
    put_address(nlh, IPVS_DEST_ATTR_ADDR, dest.key.address);
    put_attr<std::uint16_t>(nlh, IPVS_DEST_ATTR_PORT, htons(dest.key.port));
    put_attr<std::uint16_t>(nlh, IPVS_DEST_ATTR_ADDR_FAMILY, dest.key.address.family);
    if (cmd != IpvsCmd::kDelDest) {
        put_attr<std::uint32_t>(nlh, IPVS_DEST_ATTR_FWD_METHOD, static_cast<std::uint32_t>(dest.forward));
        put_attr<std::uint32_t>(nlh, IPVS_DEST_ATTR_WEIGHT, dest.weight);
        put_attr<std::uint32_t>(nlh, IPVS_DEST_ATTR_U_THRESH, dest.upper_threshold);
        put_attr<std::uint32_t>(nlh, IPVS_DEST_ATTR_L_THRESH, dest.lower_threshold);
    }
    end_nest(nlh, nest);
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
    put_key_nest(nlh, service);
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
