// rtnetlink requests and replies against golden bytes written from the uapi numbers
// (linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h, linux/if_link.h), not from the constants the code
// uses.

#include <catch2/catch.hpp>

#include "common/netlink/message.hpp"
#include "test/unit/netlink/bytes.hpp"

using namespace vigil::common::netlink;
using vigil::test::ByteWriter;
using vigil::test::cstr;

namespace {

MessageView view_of(const std::vector<std::uint8_t>& bytes) {
    auto messages = split_messages(bytes);
    REQUIRE(messages.ok());
    REQUIRE(messages.value().size() == 1);
    return messages.value()[0];
}

}  // namespace

TEST_CASE("adding an IPv4 VIP sends RTM_NEWADDR with create, excl and ack, local, address, brd and label") {
    AddressSpec spec;
    spec.ifindex = 3;
    spec.address = asio::ip::make_address("10.0.0.100");
    spec.prefix_len = 24;
    spec.broadcast = asio::ip::make_address_v4("10.0.0.255");
    spec.label = "eth0:vip";

    ByteWriter w;
    w.u32(0)
        .u16(20 /* RTM_NEWADDR */)
        .u16(0x1 | 0x4 | 0x200 | 0x400 /* REQUEST ACK EXCL CREATE */)
        .u32(7)
        .u32(0);
    w.u8(2 /* AF_INET */).u8(24).u8(0).u8(0 /* RT_SCOPE_UNIVERSE */).u32(3);
    w.attr(2 /* IFA_LOCAL */, {10, 0, 0, 100});
    w.attr(1 /* IFA_ADDRESS */, {10, 0, 0, 100});
    w.attr(4 /* IFA_BROADCAST */, {10, 0, 0, 255});
    w.attr(3 /* IFA_LABEL */, cstr("eth0:vip"));
    w.fix_length();

    CHECK(w.out.size() == 64);
    CHECK(build_address_request(true, spec, 7) == w.out);
}

TEST_CASE("an IPv6 VIP is added with IFA_F_NODAD and never carries a broadcast or a label") {
    AddressSpec spec;
    spec.ifindex = 2;
    spec.address = asio::ip::make_address("2001:db8::1");
    spec.prefix_len = 64;
    spec.broadcast = asio::ip::make_address_v4("10.0.0.255");  // meaningless for IPv6: not sent
    spec.label = "eth0:vip";                                   // IPv4 only: not sent
    spec.no_dad = true;

    const std::vector<std::uint8_t> addr{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    ByteWriter w;
    w.u32(0).u16(20).u16(0x605).u32(1).u32(0);
    w.u8(10 /* AF_INET6 */).u8(64).u8(0x02 /* IFA_F_NODAD */).u8(0).u32(2);
    w.attr(2, addr).attr(1, addr);
    w.fix_length();

    CHECK(build_address_request(true, spec, 1) == w.out);
}

TEST_CASE("deleting an address sends RTM_DELADDR with request and ack only") {
    AddressSpec spec;
    spec.ifindex = 5;
    spec.address = asio::ip::make_address("192.168.1.10");
    spec.prefix_len = 32;
    spec.scope = 253;  // RT_SCOPE_LINK

    ByteWriter w;
    w.u32(0).u16(21 /* RTM_DELADDR */).u16(0x5).u32(9).u32(0);
    w.u8(2).u8(32).u8(0).u8(253).u32(5);
    w.attr(2, {192, 168, 1, 10}).attr(1, {192, 168, 1, 10});
    w.fix_length();

    CHECK(build_address_request(false, spec, 9) == w.out);
}

TEST_CASE("dump and get requests") {
    SECTION("RTM_GETADDR dump of IPv4") {
        ByteWriter w;
        w.u32(24).u16(22 /* RTM_GETADDR */).u16(0x301 /* REQUEST | ROOT | MATCH */).u32(4).u32(0);
        w.u8(2).u8(0).u8(0).u8(0).u32(0);
        CHECK(build_address_dump(2, 4) == w.out);
    }
    SECTION("RTM_GETLINK by index") {
        ByteWriter w;
        w.u32(32).u16(18 /* RTM_GETLINK */).u16(0x1).u32(2).u32(0);
        w.u8(0).u8(0).u16(0).u32(7 /* ifi_index */).u32(0).u32(0);
        CHECK(build_link_get(7, 2) == w.out);
    }
    SECTION("RTM_GETLINK by name") {
        ByteWriter w;
        w.u32(0).u16(18).u16(0x1).u32(3).u32(0);
        w.zeros(16);
        w.attr(3 /* IFLA_IFNAME */, cstr("eth0"));
        w.fix_length();
        CHECK(w.out.size() == 44);
        CHECK(build_link_get_by_name("eth0", 3) == w.out);
    }
    SECTION("RTM_GETLINK dump") {
        ByteWriter w;
        w.u32(32).u16(18).u16(0x301).u32(5).u32(0).zeros(16);
        CHECK(build_link_dump(5) == w.out);
    }
}

TEST_CASE("an RTM_NEWADDR from the kernel gives the local address, flags from IFA_FLAGS, label and brd") {
    ByteWriter w;
    w.u32(0).u16(20).u16(0).u32(0).u32(0);
    w.u8(2).u8(24).u8(0x80).u8(0).u32(4);
    w.attr(1 /* IFA_ADDRESS (peer on point-to-point) */, {10, 9, 9, 9});
    w.attr(2 /* IFA_LOCAL */, {10, 0, 0, 1});
    w.attr(4 /* IFA_BROADCAST */, {10, 0, 0, 255});
    w.attr(3 /* IFA_LABEL */, cstr("eth0"));
    w.attr(8 /* IFA_FLAGS */, {0x80, 0x02, 0, 0} /* PERMANENT | NOPREFIXROUTE */);
    w.attr(6 /* IFA_CACHEINFO */, std::vector<std::uint8_t>(16, 0xee));
    w.attr(200 /* unknown to this code */, {1, 2, 3, 4});
    w.fix_length();

    auto info = parse_address(view_of(w.out));
    REQUIRE(info.ok());
    CHECK(info.value().ifindex == 4);
    CHECK(info.value().address == asio::ip::make_address("10.0.0.1"));
    CHECK(info.value().prefix_len == 24);
    CHECK(info.value().flags == 0x280);
    CHECK(info.value().label == "eth0");
    REQUIRE(info.value().broadcast.has_value());
    CHECK(*info.value().broadcast == asio::ip::make_address_v4("10.0.0.255"));
}

TEST_CASE("an IPv6 RTM_DELADDR with only IFA_ADDRESS parses; one with no usable address is refused") {
    const std::vector<std::uint8_t> addr{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12};
    ByteWriter w;
    w.u32(0).u16(21).u16(0).u32(0).u32(0);
    w.u8(10).u8(64).u8(0).u8(253).u32(6);
    w.attr(1, addr);
    w.fix_length();
    auto info = parse_address(view_of(w.out));
    REQUIRE(info.ok());
    CHECK(info.value().address == asio::ip::make_address("fe80::12"));
    CHECK(info.value().scope == 253);

    ByteWriter bad;
    bad.u32(0).u16(20).u16(0).u32(0).u32(0);
    bad.u8(10).u8(64).u8(0).u8(0).u32(6);
    bad.attr(1, {10, 0, 0, 1});  // 4 bytes in an AF_INET6 message
    bad.fix_length();
    auto refused = parse_address(view_of(bad.out));
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error().message, Catch::Contains("without a usable address"));
}

TEST_CASE("an RTM_NEWLINK gives name, MAC, MTU, flags and operational state") {
    ByteWriter w;
    w.u32(0).u16(16 /* RTM_NEWLINK */).u16(0).u32(0).u32(0);
    w.u8(0).u8(0).u16(1 /* ARPHRD_ETHER */).u32(9).u32(0x1 | 0x2 | 0x40 | 0x1000 | 0x10000).u32(0);
    w.attr(3 /* IFLA_IFNAME */, cstr("veth0"));
    w.attr(4 /* IFLA_MTU */, {0xdc, 0x05, 0, 0});
    w.attr(1 /* IFLA_ADDRESS */, {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30});
    w.attr(2 /* IFLA_BROADCAST */, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
    w.attr(16 /* IFLA_OPERSTATE */, {6 /* IF_OPER_UP */});
    w.attr(60 /* a newer attribute */, {0, 0, 0, 0});
    w.fix_length();

    auto info = parse_link(view_of(w.out));
    REQUIRE(info.ok());
    CHECK(info.value().ifindex == 9);
    CHECK(info.value().name == "veth0");
    CHECK(info.value().mtu == 1500);
    REQUIRE(info.value().mac.has_value());
    CHECK(*info.value().mac == MacAddress{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30});
    CHECK(info.value().oper_state == OperState::Up);
    CHECK(info.value().usable());
}

TEST_CASE("a link that is up without carrier is not usable") {
    ByteWriter w;
    w.u32(0).u16(16).u16(0).u32(0).u32(0);
    w.u8(0).u8(0).u16(1).u32(9).u32(0x1 | 0x2 | 0x1000 /* UP, no RUNNING */).u32(0);
    w.attr(16, {2 /* IF_OPER_DOWN */});
    w.fix_length();
    auto info = parse_link(view_of(w.out));
    REQUIRE(info.ok());
    CHECK(info.value().oper_state == OperState::Down);
    CHECK_FALSE(info.value().usable());
}

TEST_CASE("acks: success, EEXIST with the kernel's extended-ack text, EADDRNOTAVAIL") {
    SECTION("ack") {
        ByteWriter w;
        w.u32(0).u16(2 /* NLMSG_ERROR */).u16(0x100 /* CAPPED */).u32(1).u32(0);
        w.u32(0).u32(44).u16(20).u16(0x605).u32(1).u32(0);
        w.fix_length();
        auto ack = parse_ack(view_of(w.out));
        REQUIRE(ack.ok());
        CHECK(ack.value().code == 0);
    }
    SECTION("EEXIST with NLMSGERR_ATTR_MSG") {
        ByteWriter w;
        w.u32(0).u16(2).u16(0x100 | 0x200 /* CAPPED | ACK_TLVS */).u32(1).u32(0);
        w.u32(static_cast<std::uint32_t>(-17)).u32(64).u16(20).u16(0x605).u32(1).u32(0);
        w.attr(1 /* NLMSGERR_ATTR_MSG */, cstr("address already assigned"));
        w.fix_length();
        auto ack = parse_ack(view_of(w.out));
        REQUIRE(ack.ok());
        CHECK(ack.value().code == 17);
        CHECK(ack.value().kernel_message == "address already assigned");
        CHECK(Error{ack.value().code, ""}.already_exists());
    }
    SECTION("EADDRNOTAVAIL, the request echoed in full") {
        ByteWriter w;
        w.u32(0).u16(2).u16(0).u32(1).u32(0);
        w.u32(static_cast<std::uint32_t>(-99)).u32(24).u16(21).u16(0x5).u32(1).u32(0);
        w.u8(2).u8(32).u8(0).u8(0).u32(5);
        w.fix_length();
        auto ack = parse_ack(view_of(w.out));
        REQUIRE(ack.ok());
        CHECK(ack.value().code == 99);
        CHECK(Error{ack.value().code, ""}.not_present());
    }
}

TEST_CASE("split_messages walks several messages and refuses a length that overruns the datagram") {
    ByteWriter a;
    a.u32(20).u16(3 /* NLMSG_DONE */).u16(2).u32(11).u32(42).u32(0);
    ByteWriter both = a;
    both.u32(20).u16(3).u16(2).u32(12).u32(42).u32(0);
    auto messages = split_messages(both.out);
    REQUIRE(messages.ok());
    REQUIRE(messages.value().size() == 2);
    CHECK(messages.value()[1].seq == 12);
    CHECK(messages.value()[1].port == 42);

    ByteWriter bad;
    bad.u32(400).u16(3).u16(0).u32(0).u32(0).u32(0);
    CHECK_FALSE(split_messages(bad.out).ok());
}

TEST_CASE("an attribute whose length overruns its message is refused, not read past the end") {
    ByteWriter w;
    w.u32(0).u16(20).u16(0).u32(0).u32(0);
    w.u8(2).u8(24).u8(0).u8(0).u32(4);
    w.u16(200).u16(2).raw({10, 0, 0, 1});  // claims 200 bytes, has 8
    w.fix_length();
    auto info = parse_address(view_of(w.out));
    REQUIRE_FALSE(info.ok());
    CHECK_THAT(info.error().message, Catch::Contains("overrun"));
}
