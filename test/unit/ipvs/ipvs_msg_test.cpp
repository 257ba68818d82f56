// The IPVS generic netlink encoding, compared byte for byte with messages written by hand from the uapi
// numbers: this machine's kernel has no IPVS, so these bytes are what proves the encoding before the vm tests
// do.

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <cstring>

#include "checker_child/ipvs_msg.hpp"
#include "golden.hpp"

using namespace vigil::check;
using namespace golden;

namespace {

constexpr std::uint16_t kFamily = 0x1d;          // whatever id the controller gave IPVS
constexpr std::uint16_t kReqAck = 0x1 | 0x4;     // NLM_F_REQUEST | NLM_F_ACK
constexpr std::uint16_t kReqDump = 0x1 | 0x300;  // NLM_F_REQUEST | NLM_F_DUMP

Service tcp_service() {
    Service s;
    s.key.family = AF_INET;
    s.key.protocol = IPPROTO_TCP;
    s.key.address = *parse_ip("10.0.0.1");
    s.key.port = 80;
    s.scheduler = "rr";
    return s;
}

// The service key attributes of TCP 10.0.0.1:80: AF=2, PROTOCOL=6, ADDR, PORT=80 (network order).
Bytes tcp_key_attrs() {
    return cat({attr(1, u16(2)), attr(2, u16(6)), attr(3, v4(10, 0, 0, 1)), attr(4, be16(80))});
}

// A buffer aligned for nlmsghdr, holding `bytes`.
struct Aligned {
    explicit Aligned(const Bytes& bytes) : words((bytes.size() + 7) / 8 + 1) {
        std::memcpy(words.data(), bytes.data(), bytes.size());
        size = bytes.size();
    }
    const nlmsghdr* msg() const { return reinterpret_cast<const nlmsghdr*>(words.data()); }
    std::span<const std::uint8_t> span() const {
        return {reinterpret_cast<const std::uint8_t*>(words.data()), size};
    }
    std::vector<std::uint64_t> words;
    std::size_t size;
};

}  // namespace

TEST_CASE("GETFAMILY asks the genetlink controller for the family named IPVS", "[ipvs][msg]") {
    MsgBuffer out;
    put_get_family(out, 1);
    // GENL_ID_CTRL=0x10, CTRL_CMD_GETFAMILY=3, version 1, CTRL_ATTR_FAMILY_NAME=2 "IPVS\0".
    CHECK(out == genl(0x10, kReqAck, 1, 3, 1, attr(2, str("IPVS"))));
}

TEST_CASE("GET_INFO is an empty IPVS command 15", "[ipvs][msg]") {
    MsgBuffer out;
    put_get_info(out, kFamily, 9);
    CHECK(out == genl(kFamily, kReqAck, 9, 15, 1, {}));
}

TEST_CASE("NEW_SERVICE carries the key, scheduler, flags with a full mask, timeout and netmask",
          "[ipvs][msg]") {
    MsgBuffer out;
    put_service(out, kFamily, 7, IpvsCmd::kNewService, tcp_service());
    Bytes svc = nest(1, {tcp_key_attrs(), attr(6, str("rr")), attr(7, cat({u32(0), u32(0xffffffff)})),
                         attr(8, u32(0)), attr(9, Bytes{0xff, 0xff, 0xff, 0xff})});
    CHECK(out == genl(kFamily, kReqAck, 7, 1, 1, svc));
    CHECK(out.size() == 104);
}

TEST_CASE("a name longer than the kernel takes is cut at 31 characters, within the message", "[ipvs][msg]") {
    MsgBuffer out;
    Service s = tcp_service();
    s.pe_name = std::string(600, 'p');
    put_service(out, kFamily, 7, IpvsCmd::kNewService, s);
    Bytes svc = nest(1, {tcp_key_attrs(), attr(6, str("rr")), attr(11, str(std::string(31, 'p'))),
                         attr(7, cat({u32(0), u32(0xffffffff)})), attr(8, u32(0)),
                         attr(9, Bytes{0xff, 0xff, 0xff, 0xff})});
    CHECK(out == genl(kFamily, kReqAck, 7, 1, 1, svc));
    // Two services in one buffer: the second starts right after the first's end.
    put_service(out, kFamily, 8, IpvsCmd::kNewService, tcp_service());
    CHECK(out.size() == genl(kFamily, kReqAck, 7, 1, 1, svc).size() + 104);
}

TEST_CASE("a persistent service sends its flag, timeout and granularity in network order", "[ipvs][msg]") {
    Service s = tcp_service();
    s.scheduler = "wlc";
    s.flags = kSvcFlagPersistent | kSvcFlagHashed;  // HASHED is the kernel's: never sent
    s.timeout = 300;
    s.netmask = 0xffffff00;
    MsgBuffer out;
    put_service(out, kFamily, 8, IpvsCmd::kSetService, s);
    Bytes svc = nest(1, {tcp_key_attrs(), attr(6, str("wlc")), attr(7, cat({u32(1), u32(0xffffffff)})),
                         attr(8, u32(300)), attr(9, Bytes{0xff, 0xff, 0xff, 0x00})});
    CHECK(out == genl(kFamily, kReqAck, 8, 2, 1, svc));
}

TEST_CASE("an IPv6 UDP service with one-packet scheduling and a prefix-length granularity", "[ipvs][msg]") {
    Service s;
    s.key.family = AF_INET6;
    s.key.protocol = IPPROTO_UDP;
    s.key.address = *parse_ip("fd00::53");
    s.key.port = 53;
    s.scheduler = "sh";
    s.flags = kSvcFlagOnePacket | kSvcFlagSched1;
    s.netmask = 64;
    MsgBuffer out;
    put_service(out, kFamily, 3, IpvsCmd::kNewService, s);
    Bytes addr(16, 0);
    addr[0] = 0xfd;
    addr[15] = 0x53;
    Bytes svc =
        nest(1, {attr(1, u16(10)), attr(2, u16(17)), attr(3, addr), attr(4, be16(53)), attr(6, str("sh")),
                 attr(7, cat({u32(0x4 | 0x8), u32(0xffffffff)})), attr(8, u32(0)), attr(9, u32(64))});
    CHECK(out == genl(kFamily, kReqAck, 3, 1, 1, svc));
}

TEST_CASE("an IPv6 service left with the IPv4 default granularity sends prefix length 128", "[ipvs][msg]") {
    Service s;
    s.key.family = AF_INET6;
    s.key.protocol = IPPROTO_TCP;
    s.key.address = *parse_ip("fd00::1");
    s.key.port = 80;
    s.scheduler = "rr";
    REQUIRE(s.netmask == 0xffffffff);
    MsgBuffer out;
    put_service(out, kFamily, 5, IpvsCmd::kNewService, s);
    // The last attribute, NETMASK=9, is 128: the kernel refuses an IPv6 netmask above 128 with EINVAL.
    Bytes tail(out.end() - 8, out.end());
    CHECK(tail == attr(9, u32(128)));
    Service from_kernel = s;
    from_kernel.netmask = 128;
    CHECK(s.same_attributes(from_kernel));  // so a restarted checker does not SET_SERVICE it again
}

TEST_CASE("a fwmark service is keyed by AF and FWMARK alone", "[ipvs][msg]") {
    Service s;
    s.key.family = AF_INET;
    s.key.fwmark = 7;
    s.scheduler = "wrr";
    MsgBuffer out;
    put_service(out, kFamily, 4, IpvsCmd::kDelService, s);
    // DEL_SERVICE=3 carries the key only.
    CHECK(out == genl(kFamily, kReqAck, 4, 3, 1, nest(1, {attr(1, u16(2)), attr(5, u32(7))})));
}

TEST_CASE("NEW_DEST names its service by key and carries the destination's attributes", "[ipvs][msg]") {
    Dest d;
    d.key.address = *parse_ip("10.0.1.2");
    d.key.port = 8080;
    d.forward = Forward::kDirect;
    d.weight = 3;
    d.upper_threshold = 100;
    d.lower_threshold = 10;
    MsgBuffer out;
    put_dest(out, kFamily, 11, IpvsCmd::kNewDest, tcp_service().key, d);
    Bytes dest = nest(2, {attr(1, v4(10, 0, 1, 2)), attr(2, be16(8080)), attr(11, u16(2)), attr(3, u32(3)),
                          attr(4, u32(3)), attr(5, u32(100)), attr(6, u32(10))});
    CHECK(out == genl(kFamily, kReqAck, 11, 5, 1, cat({nest(1, {tcp_key_attrs()}), dest})));
}

TEST_CASE("SET_DEST and DEL_DEST: DEL carries only the destination's key", "[ipvs][msg]") {
    Dest d;
    d.key.address = *parse_ip("10.0.1.3");
    d.key.port = 80;
    d.forward = Forward::kTunnel;
    d.weight = 0;
    MsgBuffer out;
    put_dest(out, kFamily, 12, IpvsCmd::kSetDest, tcp_service().key, d);
    put_dest(out, kFamily, 13, IpvsCmd::kDelDest, tcp_service().key, d);
    Bytes set = genl(kFamily, kReqAck, 12, 6, 1,
                     cat({nest(1, {tcp_key_attrs()}),
                          nest(2, {attr(1, v4(10, 0, 1, 3)), attr(2, be16(80)), attr(11, u16(2)),
                                   attr(3, u32(2)), attr(4, u32(0)), attr(5, u32(0)), attr(6, u32(0))})}));
    Bytes del = genl(kFamily, kReqAck, 13, 7, 1,
                     cat({nest(1, {tcp_key_attrs()}),
                          nest(2, {attr(1, v4(10, 0, 1, 3)), attr(2, be16(80)), attr(11, u16(2))})}));
    // Two commands, one after the other in one buffer: what one sendmsg carries.
    CHECK(out == cat({set, del}));
}

TEST_CASE("dumps and flush", "[ipvs][msg]") {
    MsgBuffer out;
    put_dump_services(out, kFamily, 20);
    CHECK(out == genl(kFamily, kReqDump, 20, 4, 1, {}));
    out.clear();
    put_dump_dests(out, kFamily, 21, tcp_service().key);
    CHECK(out == genl(kFamily, kReqDump, 21, 8, 1, nest(1, {tcp_key_attrs()})));
    out.clear();
    put_flush(out, kFamily, 22);
    CHECK(out == genl(kFamily, kReqAck, 22, 17, 1, {}));
}

TEST_CASE("the controller's reply gives the family id", "[ipvs][msg]") {
    // CTRL_CMD_NEWFAMILY=1 with FAMILY_ID=1 (u16), FAMILY_NAME=2, VERSION=3 (u32)...
    Aligned reply(genl(0x10, 0, 1, 1, 2, cat({attr(2, str("IPVS")), attr(1, u16(0x23)), attr(3, u32(1))})));
    auto id = parse_family_id(reply.msg());
    REQUIRE(id);
    CHECK(*id == 0x23);
    Aligned without(genl(0x10, 0, 1, 1, 2, attr(2, str("IPVS"))));
    auto none = parse_family_id(without.msg());
    CHECK_FALSE(none);
    CHECK_THAT(none.reason(), Catch::Contains("FAMILY_ID"));
}

TEST_CASE("a service from the kernel's dump, with stats and the HASHED flag", "[ipvs][msg]") {
    Bytes stats = nest(10, {attr(1, u32(5)), attr(2, u32(50))});
    Aligned reply(
        genl(kFamily, 2, 20, 1, 1,
             nest(1, {tcp_key_attrs(), attr(6, str("wrr")), attr(7, cat({u32(0x3), u32(0xffffffff)})),
                      attr(8, u32(360)), attr(9, Bytes{0xff, 0xff, 0x00, 0x00}), stats})));
    auto s = parse_service(reply.msg());
    REQUIRE(s);
    CHECK(s->key == tcp_service().key);
    CHECK(s->scheduler == "wrr");
    CHECK(s->flags == 0x3);
    CHECK(s->timeout == 360);
    CHECK(s->netmask == 0xffff0000);
    Service wanted = tcp_service();
    wanted.scheduler = "wrr";
    wanted.flags = kSvcFlagPersistent;
    wanted.timeout = 360;
    wanted.netmask = 0xffff0000;
    CHECK(s->same_attributes(wanted));  // the kernel's HASHED flag is not a difference
}

TEST_CASE("a service without a scheduler or without a key is rejected with a reason", "[ipvs][msg]") {
    Aligned no_sched(genl(kFamily, 2, 20, 1, 1, nest(1, {tcp_key_attrs(), attr(7, cat({u32(0), u32(0)}))})));
    auto a = parse_service(no_sched.msg());
    CHECK_FALSE(a);
    CHECK_THAT(a.reason(), Catch::Contains("scheduler"));
    Aligned no_key(genl(kFamily, 2, 20, 1, 1, nest(1, {attr(1, u16(2)), attr(6, str("rr"))})));
    auto b = parse_service(no_key.msg());
    CHECK_FALSE(b);
    CHECK_THAT(b.reason(), Catch::Contains("fwmark"));
    Aligned short_addr(genl(kFamily, 2, 20, 1, 1,
                            nest(1, {attr(1, u16(10)), attr(2, u16(6)), attr(3, Bytes{1, 2, 3, 4}),
                                     attr(4, be16(1)), attr(6, str("rr")), attr(7, cat({u32(0), u32(0)}))})));
    CHECK_FALSE(parse_service(short_addr.msg()));  // an IPv6 service needs 16 address bytes
}

TEST_CASE("a destination from the kernel's dump", "[ipvs][msg]") {
    Aligned reply(genl(kFamily, 2, 21, 5, 1,
                       nest(2, {attr(1, v4(10, 0, 1, 2)), attr(2, be16(80)), attr(3, u32(0)), attr(4, u32(5)),
                                attr(5, u32(0)), attr(6, u32(0)), attr(7, u32(12)), attr(8, u32(3)),
                                attr(9, u32(0)), nest(10, {attr(1, u32(1))}), attr(11, u16(2))})));
    auto d = parse_dest(reply.msg());
    REQUIRE(d);
    CHECK(to_string(d->key) == "10.0.1.2:80");
    CHECK(d->forward == Forward::kMasq);
    CHECK(d->weight == 5);
    Aligned no_weight(
        genl(kFamily, 2, 21, 5, 1, nest(2, {attr(1, v4(10, 0, 1, 2)), attr(2, be16(80)), attr(3, u32(0))})));
    auto bad = parse_dest(no_weight.msg());
    CHECK_FALSE(bad);
    CHECK_THAT(bad.reason(), Catch::Contains("weight"));
}

TEST_CASE("acks: success, and an error with the kernel's extended message", "[ipvs][msg]") {
    // NLMSG_ERROR=2: int error, then the request's header (capped: NLM_F_CAPPED=0x100), then TLVs
    // (NLM_F_ACK_TLVS=0x200) with NLMSGERR_ATTR_MSG=1.
    Bytes request_header = genl(kFamily, kReqAck, 42, 5, 1, {});
    request_header.resize(16);
    Bytes ok;
    le32(ok, 36);
    le16(ok, 2);
    le16(ok, 0x100);
    le32(ok, 42);
    le32(ok, 0);
    le32(ok, 0);
    ok.insert(ok.end(), request_header.begin(), request_header.end());
    Aligned ok_msg(ok);
    auto a = parse_ack(ok_msg.msg());
    REQUIRE(a);
    CHECK(a->seq == 42);
    CHECK(a->error == 0);

    Bytes tlv = attr(1, str("Service already exists"));
    Bytes err;
    le32(err, static_cast<std::uint32_t>(36 + tlv.size()));
    le16(err, 2);
    le16(err, 0x100 | 0x200);
    le32(err, 42);
    le32(err, 0);
    le32(err, static_cast<std::uint32_t>(-17));  // -EEXIST
    err.insert(err.end(), request_header.begin(), request_header.end());
    err.insert(err.end(), tlv.begin(), tlv.end());
    Aligned err_msg(err);
    auto b = parse_ack(err_msg.msg());
    REQUIRE(b);
    CHECK(b->error == EEXIST);
    CHECK(b->message == "Service already exists");
}

TEST_CASE("split_messages finds each message of a datagram and rejects a truncated one", "[ipvs][msg]") {
    MsgBuffer out;
    put_flush(out, kFamily, 1);
    put_get_info(out, kFamily, 2);
    Aligned both(out);
    auto msgs = split_messages(both.span());
    REQUIRE(msgs);
    REQUIRE(msgs->size() == 2);
    CHECK((*msgs)[1]->nlmsg_seq == 2);
    Bytes cut(out.begin(), out.end() - 2);
    Aligned truncated(cut);
    auto bad = split_messages(truncated.span());
    CHECK_FALSE(bad);
    CHECK_THAT(bad.reason(), Catch::Contains("truncated"));
}
