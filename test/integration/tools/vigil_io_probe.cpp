// vigil-io-probe: one command of the VRRP child's I/O layer per run, for the integration tests.
//
//   vigil-io-probe addr add|del IFNAME ADDR/PREFIX [--label L] [--brd B]   prints the AddressChange
//   vigil-io-probe link IFNAME                                            prints ifindex, MAC, MTU, state
//   vigil-io-probe send IFNAME 4|6 DST [--src SRC] [--count N]            an advert-shaped VRRPv3 datagram
//   vigil-io-probe recv IFNAME 4|6 [--count N] [--timeout S]              prints "ready", then one line each
//   vigil-io-probe garp IFNAME ADDR | na IFNAME ADDR [--src SRC]
//   vigil-io-probe monitor                                     prints "ready", then link changes and address
//   events
//
// Output is line-oriented and flushed at once; exit status 0 on success, 1 on error, 2 on timeout.

#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <asio.hpp>

#include "common/netlink/client.hpp"
#include "common/netlink/events.hpp"
#include "vrrp_child/address_manager.hpp"
#include "vrrp_child/garp.hpp"
#include "vrrp_child/link_monitor.hpp"
#include "vrrp_child/socket.hpp"

namespace netlink = vigil::common::netlink;
namespace vrrp = vigil::vrrp;

namespace {

constexpr std::uint8_t kVrid = 51;
constexpr std::uint8_t kPriority = 100;
constexpr std::uint16_t kIntervalCentiseconds = 100;

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;

    std::string option(const std::string& name, const std::string& fallback = "") const {
        auto it = options.find(name);
        return it == options.end() ? fallback : it->second;
    }
};

Args parse_args(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        if (s.rfind("--", 0) == 0 && i + 1 < argc) {
            a.options[s.substr(2)] = argv[++i];
        } else {
            a.positional.push_back(s);
        }
    }
    return a;
}

void say(const std::string& line) {
    std::cout << line << std::endl;  // endl: the test reads line by line from a pipe
}

int fail(const std::string& message) {
    std::cerr << "vigil-io-probe: " << message << std::endl;
    return 1;
}

std::string mac_text(const std::optional<netlink::MacAddress>& mac) {
    if (!mac) return "none";
    const auto& m = *mac;
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

std::uint16_t internet_checksum(const std::vector<std::uint8_t>& bytes) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
    if (bytes.size() % 2) sum += bytes.back() << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

template <typename Bytes>
void append(std::vector<std::uint8_t>& out, const Bytes& b) {
    out.insert(out.end(), b.begin(), b.end());
}

// A VRRPv3 advertisement (RFC 5798 5.1) for VRID 51, priority 100, 1 s, carrying `vip`, with the checksum
// over the pseudo-header of (source, destination): shaped like what the engine will send, so tshark decodes
// it.
std::vector<std::uint8_t> advert(const asio::ip::address& source, const asio::ip::address& destination,
                                 const asio::ip::address& vip) {
    std::vector<std::uint8_t> v{
        0x31, kVrid, kPriority, 1, kIntervalCentiseconds >> 8, kIntervalCentiseconds & 0xff, 0, 0};
    std::vector<std::uint8_t> pseudo;
    if (vip.is_v4()) {
        append(v, vip.to_v4().to_bytes());
        append(pseudo, source.to_v4().to_bytes());
        append(pseudo, destination.to_v4().to_bytes());
        pseudo.insert(pseudo.end(), {0, 112, 0, static_cast<std::uint8_t>(v.size())});
    } else {
        append(v, vip.to_v6().to_bytes());
        append(pseudo, source.to_v6().to_bytes());
        append(pseudo, destination.to_v6().to_bytes());
        pseudo.insert(pseudo.end(), {0, 0, 0, static_cast<std::uint8_t>(v.size()), 0, 0, 0, 112});
    }
    append(pseudo, v);
    const std::uint16_t c = internet_checksum(pseudo);
    v[6] = static_cast<std::uint8_t>(c >> 8);
    v[7] = static_cast<std::uint8_t>(c);
    return v;
}

int cmd_addr(netlink::Client& nl, const Args& a) {
    if (a.positional.size() < 4) return fail("usage: addr add|del IFNAME ADDR/PREFIX");
    auto link = nl.link(a.positional[2]);
    if (!link) return fail(link.error().message);
    const std::string& cidr = a.positional[3];
    const auto slash = cidr.find('/');
    netlink::AddressSpec spec;
    spec.ifindex = link.value().ifindex;
    asio::error_code ec;
    spec.address = asio::ip::make_address(cidr.substr(0, slash), ec);
    if (ec) return fail("bad address " + cidr);
    spec.prefix_len = static_cast<std::uint8_t>(
        slash == std::string::npos ? (spec.address.is_v4() ? 32 : 128) : std::stoi(cidr.substr(slash + 1)));
    spec.label = a.option("label");
    if (auto brd = a.option("brd"); !brd.empty()) spec.broadcast = asio::ip::make_address_v4(brd);
    vrrp::AddressManager addresses(nl);
    auto change = a.positional[1] == "add" ? addresses.add(spec) : addresses.remove(spec);
    if (!change) return fail(change.error().message);
    say(std::string(vrrp::to_string(change.value())));
    return 0;
}

int cmd_link(netlink::Client& nl, const Args& a) {
    if (a.positional.size() < 2) return fail("usage: link IFNAME");
    auto link = nl.link(a.positional[1]);
    if (!link) return fail(link.error().message);
    const auto& l = link.value();
    say(fmt::format("ifindex={} name={} mac={} mtu={} oper={} usable={}", l.ifindex, l.name, mac_text(l.mac),
                    l.mtu, static_cast<int>(l.oper_state), l.usable() ? "yes" : "no"));
    return 0;
}

int cmd_send(asio::io_context& io, netlink::Client& nl, const Args& a) {
    if (a.positional.size() < 4) return fail("usage: send IFNAME 4|6 DST [--src SRC] [--count N]");
    auto link = nl.link(a.positional[1]);
    if (!link) return fail(link.error().message);
    const bool ipv6 = a.positional[2] == "6";
    const auto destination = asio::ip::make_address(a.positional[3]);
    std::optional<asio::ip::address> source;
    if (auto s = a.option("src"); !s.empty()) source = asio::ip::make_address(s);
    if (!source) source = vrrp::interface_source_address(nl, link.value().ifindex, ipv6);
    if (!source) return fail("no source address on " + a.positional[1]);
    auto loop = vrrp::EventLoop::open(io);
    if (!loop) return fail(loop.error().message);
    auto socket =
        vrrp::VrrpSocket::open(*loop.value(), {link.value().ifindex, link.value().name, ipv6, true});
    if (!socket) return fail(socket.error().message);
    const auto vip = asio::ip::make_address(a.option("vip", ipv6 ? "fd00:99::100" : "10.99.0.100"));
    const auto bytes = advert(*source, destination, vip);
    const int count = std::stoi(a.option("count", "1"));
    for (int i = 0; i < count; ++i) {
        if (auto s = socket.value()->send(bytes, destination, source); !s) return fail(s.error().message);
    }
    say(fmt::format("sent {} from {} to {}", count, source->to_string(), destination.to_string()));
    return 0;
}

int cmd_recv(asio::io_context& io, netlink::Client& nl, const Args& a) {
    if (a.positional.size() < 3) return fail("usage: recv IFNAME 4|6 [--count N] [--timeout S]");
    auto link = nl.link(a.positional[1]);
    if (!link) return fail(link.error().message);
    auto loop = vrrp::EventLoop::open(io);
    if (!loop) return fail(loop.error().message);
    auto socket = vrrp::VrrpSocket::open(
        *loop.value(), {link.value().ifindex, link.value().name, a.positional[2] == "6", true});
    if (!socket) return fail(socket.error().message);
    const int wanted = std::stoi(a.option("count", "1"));
    int got = 0;
    int status = 2;
    asio::steady_timer timeout(io, std::chrono::seconds(std::stoi(a.option("timeout", "10"))));
    timeout.async_wait([&](const asio::error_code& ec) {
        if (!ec) io.stop();
    });
    socket.value()->start(
        [&](const vrrp::ReceivedDatagram& d) {
            std::string hex;
            for (std::uint8_t b : d.payload) hex += fmt::format("{:02x}", b);
            say(fmt::format("recv src={} dst={} ttl={} ifindex={} len={} age_us={} payload={}",
                            d.source.to_string(), d.destination.to_string(), d.ttl, d.ifindex,
                            d.payload.size(),
                            std::chrono::duration_cast<std::chrono::microseconds>(d.age).count(), hex));
            if (++got >= wanted) {
                status = 0;
                io.stop();
            }
        },
        [](const std::string& reason) { say("drop " + reason); });
    say("ready");
    loop.value()->run();
    return status;
}

int cmd_gratuitous(asio::io_context& io, netlink::Client& nl, const Args& a) {
    if (a.positional.size() < 3) return fail("usage: garp|na IFNAME ADDR");
    auto link = nl.link(a.positional[1]);
    if (!link) return fail(link.error().message);
    auto sender = vrrp::GarpSender::open(io, nl);
    if (!sender) return fail(sender.error().message);
    const auto address = asio::ip::make_address(a.positional[2]);
    netlink::Status s = netlink::success();
    if (a.positional[0] == "garp") {
        s = sender.value()->send_garp(link.value().ifindex, address.to_v4());
    } else {
        std::optional<asio::ip::address_v6> source;
        if (auto src = a.option("src"); !src.empty()) source = asio::ip::make_address_v6(src);
        s = sender.value()->send_na(link.value().ifindex, address.to_v6(), source);
    }
    if (!s) return fail(s.error().message);
    say("sent");
    return 0;
}

int cmd_monitor(asio::io_context& io, netlink::Client& nl) {
    auto monitor = vrrp::LinkMonitor::open(io, nl, [](const vrrp::LinkChange& c) {
        say(fmt::format("link {} {} {}", c.ifindex, c.name, vrrp::to_string(c.state)));
    });
    if (!monitor) return fail(monitor.error().message);
    netlink::EventHandlers handlers;
    handlers.on_address = [](const netlink::AddressEvent& e) {
        say(fmt::format("addr {} {} {}/{}", e.removed ? "del" : "new", e.address.ifindex,
                        e.address.address.to_string(), e.address.prefix_len));
    };
    auto addresses = netlink::EventSubscription::open(io, std::move(handlers));
    if (!addresses) return fail(addresses.error().message);
    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const asio::error_code&, int) { io.stop(); });
    say("ready");
    io.run();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    spdlog::default_logger()
        ->sinks()
        .clear();  // stdout belongs to the test protocol; errors go to stderr below
    const Args a = parse_args(argc, argv);
    if (a.positional.empty()) return fail("usage: addr|link|send|recv|garp|na|monitor ...");
    try {
        auto nl = netlink::Client::open();
        if (!nl) return fail(nl.error().message);
        asio::io_context io;
        const std::string& cmd = a.positional[0];
        if (cmd == "addr") return cmd_addr(nl.value(), a);
        if (cmd == "link") return cmd_link(nl.value(), a);
        if (cmd == "send") return cmd_send(io, nl.value(), a);
        if (cmd == "recv") return cmd_recv(io, nl.value(), a);
        if (cmd == "garp" || cmd == "na") return cmd_gratuitous(io, nl.value(), a);
        if (cmd == "monitor") return cmd_monitor(io, nl.value());
        return fail("unknown command " + cmd);
    } catch (const std::exception& e) {
        // Bad command-line values (std::stoi, make_address) end up here.
        return fail(e.what());
    }
}
