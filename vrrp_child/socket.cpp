#include "vrrp_child/socket.hpp"

#include "vrrp_child/socket_ipv4.hpp"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vigil::vrrp {
namespace {

using common::netlink::Error;
using common::netlink::os_error;
using common::netlink::success;

constexpr int kIpProtoVrrp = 112;
constexpr int kVrrpTtl = 255;
// The IPv4 TOS / IPv6 traffic class of adverts: precedence 6, "internetwork control" (DSCP CS6), the class
// QoS policies keep for routing protocols, so that adverts are not dropped first on a congested link. The
// same as keepalived's (0xc0 in both families, seen with tshark).
constexpr int kVrrpTrafficClass = 0xc0;
// Larger than any VRRP packet (IPv6 with 255 addresses is 4 KiB) so that only junk can be truncated.
constexpr std::size_t kReceiveBufferSize = 64 * 1024;
// Room for IP_PKTINFO + IP_TTL, or IPV6_PKTINFO + IPV6_HOPLIMIT, and SCM_TIMESTAMPNS, with their headers and
// padding (96 bytes at most).
constexpr std::size_t kControlSize = 128;
constexpr std::size_t kIpv4HeaderSize = 20;
// The largest advert: a VRRPv2 header with authentication data and 255 IPv4 addresses.
constexpr std::size_t kMaxAdvertSize = 8 + 255 * 4 + 8;

const asio::ip::address_v4 kGroupV4 = asio::ip::make_address_v4("224.0.0.18");
const asio::ip::address_v6 kGroupV6 = asio::ip::make_address_v6("ff02::12");

template <typename T>
Status set_option(int fd, int level, int name, const T& value, const std::string& what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) < 0) return os_error(errno, what);
    return success();
}

asio::ip::address from_in6(const in6_addr& a) {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), &a, b.size());
    return asio::ip::address_v6(b);
}

asio::ip::address from_in4(const void* p) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), p, b.size());
    return asio::ip::address_v4(b);
}

template <typename F>
void guarded(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        spdlog::error("VRRP socket: handler threw: {}", e.what());
    } catch (...) {
        spdlog::error("VRRP socket: handler threw");
    }
}

}  // namespace

Result<std::unique_ptr<VrrpSocket>> VrrpSocket::open(EventLoop& loop, const SocketOptions& options) {
    const int family = options.ipv6 ? AF_INET6 : AF_INET;
    const int fd = ::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kIpProtoVrrp);
    if (fd < 0) return os_error(errno, fmt::format("[{}] VRRP socket", options.ifname));
    std::unique_ptr<VrrpSocket> socket(new VrrpSocket(loop, fd, options));
    if (Status s = socket->configure(); !s) return s.error();
    return socket;
}

VrrpSocket::VrrpSocket(EventLoop& loop, int fd, SocketOptions options)
    : loop_(loop), fd_(fd), options_(std::move(options)), buffer_(kReceiveBufferSize) {}

VrrpSocket::~VrrpSocket() {
    if (started_) loop_.remove(fd_);
    ::close(fd_);
}

Status VrrpSocket::configure() {
    const int fd = fd_;
    const std::string subject = fmt::format("[{}] VRRP socket", options_.ifname);
    auto opt = [&](int level, int name, const auto& value, const char* what) {
        return set_option(fd, level, name, value, fmt::format("{}: {}", subject, what));
    };
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, options_.ifname.c_str(),
                     static_cast<socklen_t>(options_.ifname.size())) < 0) {
        return os_error(errno, subject + ": SO_BINDTODEVICE");
    }
    const int ttl = kVrrpTtl;
    const int on = 1;
    const int off = 0;
    Status s = success();
    if (!(s = opt(SOL_SOCKET, SO_TIMESTAMPNS, on, "SO_TIMESTAMPNS"))) return s;
    if (!options_.ipv6) {
        ip_mreqn mreq{};
        mreq.imr_ifindex = options_.ifindex;
        if (!(s = opt(IPPROTO_IP, IP_MULTICAST_IF, mreq, "IP_MULTICAST_IF"))) return s;
        if (!(s = opt(IPPROTO_IP, IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL"))) return s;
        if (!(s = opt(IPPROTO_IP, IP_TTL, ttl, "IP_TTL"))) return s;
        if (!(s = opt(IPPROTO_IP, IP_MULTICAST_LOOP, off, "IP_MULTICAST_LOOP"))) return s;
        // Adverts go out with the IPv4 header we write (send()), as keepalived's do: the kernel then
        // fills in only the checksum and the length, and skips the generic path that builds a header
        // from socket options (IP_TTL and IP_MULTICAST_TTL below no longer apply to what we send).
        if (!(s = opt(IPPROTO_IP, IP_HDRINCL, on, "IP_HDRINCL"))) return s;
        if (!(s = opt(IPPROTO_IP, IP_PKTINFO, on, "IP_PKTINFO"))) return s;
        if (!(s = opt(IPPROTO_IP, IP_RECVTTL, on, "IP_RECVTTL"))) return s;
        if (options_.join_multicast) {
            const auto group = kGroupV4.to_bytes();
            std::memcpy(&mreq.imr_multiaddr, group.data(), group.size());
            if (!(s = opt(IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq, "joining 224.0.0.18"))) return s;
        }
    } else {
        const int ifindex = options_.ifindex;
        if (!(s = opt(IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF"))) return s;
        if (!(s = opt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl, "IPV6_MULTICAST_HOPS"))) return s;
        if (!(s = opt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl, "IPV6_UNICAST_HOPS"))) return s;
        if (!(s = opt(IPPROTO_IPV6, IPV6_TCLASS, kVrrpTrafficClass, "IPV6_TCLASS"))) return s;
        if (!(s = opt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, off, "IPV6_MULTICAST_LOOP"))) return s;
        if (!(s = opt(IPPROTO_IPV6, IPV6_RECVPKTINFO, on, "IPV6_RECVPKTINFO"))) return s;
        if (!(s = opt(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, on, "IPV6_RECVHOPLIMIT"))) return s;
        if (options_.join_multicast) {
            ipv6_mreq mreq{};
            const auto group = kGroupV6.to_bytes();
            std::memcpy(&mreq.ipv6mr_multiaddr, group.data(), group.size());
            mreq.ipv6mr_interface = static_cast<unsigned>(ifindex);
            if (!(s = opt(IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq, "joining ff02::12"))) return s;
        }
    }
    return success();
}

asio::ip::address VrrpSocket::group() const {
    if (options_.ipv6) return kGroupV6;
    return kGroupV4;
}

void VrrpSocket::start(ReceiveHandler on_receive, DropHandler on_drop) {
    on_receive_ = std::move(on_receive);
    on_drop_ = std::move(on_drop);
    if (started_) return;
    if (auto s = loop_.add(fd_, [this] { receive(); }); !s) {
        spdlog::error("[{}] VRRP socket: {}", options_.ifname, s.error().message);
        return;
    }
    started_ = true;
}

void VrrpSocket::receive() {
    // One datagram per call: the loop is level-triggered and calls again while more are queued, so the usual
    // wake-up (one advert) costs one recvmsg and no read that finds nothing.
    sockaddr_storage name{};
    alignas(cmsghdr) std::uint8_t control[kControlSize];
    iovec iov{buffer_.data(), buffer_.size()};
    msghdr msg{};
    msg.msg_name = &name;
    msg.msg_namelen = sizeof name;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        const int err = errno;
        ++counters_.receive_errors;
        // The loop is level-triggered: an error that persists comes back at once, so at most one line
        // every 10 s, with the count so far.
        if (error_log_.ready(std::chrono::steady_clock::now()))
            spdlog::warn("[{}] VRRP socket: recvmsg: {} ({} so far)", options_.ifname, std::strerror(err),
                         counters_.receive_errors);
        return;
    }
    receive_one(msg.msg_flags, static_cast<std::size_t>(n), &name, msg.msg_controllen ? control : nullptr,
                msg.msg_controllen);
}

void VrrpSocket::drop(const std::string& reason) {
    ++counters_.dropped_malformed;
    if (on_drop_) guarded([&] { on_drop_(reason); });
}

void VrrpSocket::receive_one(int flags, std::size_t length, const void* name, const void* control,
                             std::size_t control_length) {
    if ((flags & MSG_TRUNC) != 0) return drop(fmt::format("datagram longer than {} bytes", buffer_.size()));
    if ((flags & MSG_CTRUNC) != 0) return drop("control data truncated");

    ReceivedDatagram d;
    d.ifindex = options_.ifindex;
    std::span<const std::uint8_t> bytes(buffer_.data(), length);

    // Ancillary data: destination, arrival interface, TTL / hop limit.
    msghdr msg{};
    msg.msg_control = const_cast<void*>(control);
    msg.msg_controllen = control_length;
    for (cmsghdr* c = control ? CMSG_FIRSTHDR(&msg) : nullptr; c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            d.destination = from_in4(&info.ipi_addr);
            d.ifindex = info.ipi_ifindex;
        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
            std::memcpy(&d.ttl, CMSG_DATA(c), sizeof d.ttl);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            d.destination = from_in6(info.ipi6_addr);
            d.ifindex = static_cast<int>(info.ipi6_ifindex);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
            std::memcpy(&d.ttl, CMSG_DATA(c), sizeof d.ttl);
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec stamp;
            std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
            timespec now{};
            ::clock_gettime(CLOCK_REALTIME, &now);
            d.age = receive_age(stamp, now);
        }
    }

    if (options_.ipv6) {
        sockaddr_in6 from;
        std::memcpy(&from, name, sizeof from);
        d.source = from_in6(from.sin6_addr);
        if (d.destination.is_unspecified()) d.destination = asio::ip::address_v6::any();
        d.payload = bytes;  // IPv6 raw sockets deliver the payload without the IPv6 header
    } else {
        // IPv4 raw sockets deliver the IP header too; its length fields say where VRRP starts and ends.
        auto split = split_ipv4_datagram(bytes);
        if (auto* reason = std::get_if<std::string>(&split)) return drop(*reason);
        const auto& ip = std::get<Ipv4Datagram>(split);
        sockaddr_in from;
        std::memcpy(&from, name, sizeof from);
        d.source = from_in4(&from.sin_addr);
        if (d.destination.is_unspecified()) d.destination = ip.destination;
        if (d.ttl < 0) d.ttl = ip.ttl;
        d.payload = ip.payload;
    }
    ++counters_.received;
    if (on_receive_) guarded([&] { on_receive_(d); });
}

std::chrono::nanoseconds receive_age(const timespec& stamp, const timespec& now) {
    using std::chrono::nanoseconds;
    using std::chrono::seconds;
    const nanoseconds age = (seconds(now.tv_sec) + nanoseconds(now.tv_nsec)) -
                            (seconds(stamp.tv_sec) + nanoseconds(stamp.tv_nsec));
    if (age < nanoseconds(0) || age > seconds(1)) return nanoseconds(0);
    return age;
}

namespace {

// `msg`'s one control message: `info` at (level, type), in `control` (kControlSize bytes, cmsghdr-aligned).
template <typename Info>
void put_control(msghdr& msg, std::uint8_t* control, int level, int type, const Info& info) {
    static_assert(CMSG_SPACE(sizeof(Info)) <= kControlSize);
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(Info));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(sizeof(Info));
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
}

}  // namespace

Status VrrpSocket::send(std::span<const std::uint8_t> vrrp, const asio::ip::address& destination,
                        const std::optional<asio::ip::address>& source) {
    // Formatted only on failure: an idle master at advert_int 0.01 sends 100 adverts a second.
    auto subject = [&] {
        return fmt::format("[{}] VRRP send to {}", options_.ifname, destination.to_string());
    };
    if (destination.is_v6() != options_.ipv6 || (source && source->is_v6() != options_.ipv6)) {
        ++counters_.send_errors;
        return Error{EAFNOSUPPORT, subject() + ": address of the other family"};
    }
    iovec iov{const_cast<std::uint8_t*>(vrrp.data()), vrrp.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) std::uint8_t control[kControlSize] = {};
    sockaddr_in to4{};
    sockaddr_in6 to6{};

    std::array<std::uint8_t, kIpv4HeaderSize + kMaxAdvertSize> packet;
    if (!options_.ipv6) {
        to4.sin_family = AF_INET;
        const auto b = destination.to_v4().to_bytes();
        std::memcpy(&to4.sin_addr, b.data(), b.size());
        msg.msg_name = &to4;
        msg.msg_namelen = sizeof to4;
        if (vrrp.size() > kMaxAdvertSize) {
            ++counters_.send_errors;
            return Error{EMSGSIZE, subject() + ": " + std::to_string(vrrp.size()) + " bytes"};
        }
        // IP_HDRINCL (configure()): version 4, header length 5 words, TOS 0xc0, DF, TTL 255, protocol 112,
        // the source (0: the kernel picks the interface's, as it would without IP_HDRINCL) and the
        // destination. The kernel fills in the total length and the header checksum (and leaves the
        // identification 0: DF is set, an atomic datagram, RFC 6864).
        // clang-format off
        const std::uint8_t header[kIpv4HeaderSize] = {
            0x45, kVrrpTrafficClass, 0, 0,  // version, header length; TOS; total length (the kernel's)
            0, 0, 0x40, 0,                  // identification; DF, fragment offset 0
            kVrrpTtl, kIpProtoVrrp};        // TTL, protocol; then the checksum, source and destination
        // clang-format on
        std::memcpy(packet.data(), header, sizeof header);
        if (source) {
            const auto s = source->to_v4().to_bytes();
            std::memcpy(packet.data() + 12, s.data(), s.size());
            if (!destination.is_multicast()) {
                // To a unicast peer, the source also goes in IP_PKTINFO: the kernel then routes by it (policy
                // routing on `from` rules), as it did before IP_HDRINCL. (It no longer refuses an address
                // that is not this host's: with IP_HDRINCL any source goes, as keepalived's do.) The group of
                // a multicast advert is routed by the bound interface alone.
                in_pktinfo info{};
                info.ipi_ifindex = options_.ifindex;
                std::memcpy(&info.ipi_spec_dst, s.data(), s.size());
                put_control(msg, control, IPPROTO_IP, IP_PKTINFO, info);
            }
        }
        std::memcpy(packet.data() + 16, b.data(), b.size());
        std::memcpy(packet.data() + kIpv4HeaderSize, vrrp.data(), vrrp.size());
        iov.iov_base = packet.data();
        iov.iov_len = kIpv4HeaderSize + vrrp.size();
    } else {
        to6.sin6_family = AF_INET6;
        const auto v6 = destination.to_v6();
        const auto b = v6.to_bytes();
        std::memcpy(&to6.sin6_addr, b.data(), b.size());
        if (v6.is_link_local() || v6.is_multicast_link_local()) to6.sin6_scope_id = options_.ifindex;
        msg.msg_name = &to6;
        msg.msg_namelen = sizeof to6;
        if (source) {
            in6_pktinfo info{};
            info.ipi6_ifindex = static_cast<unsigned>(options_.ifindex);
            const auto s = source->to_v6().to_bytes();
            std::memcpy(&info.ipi6_addr, s.data(), s.size());
            put_control(msg, control, IPPROTO_IPV6, IPV6_PKTINFO, info);
        }
    }
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_DONTWAIT);
    if (n < 0) {
        const int err = errno;  // before formatting, which may change errno
        ++counters_.send_errors;
        return os_error(err, subject());
    }
    ++counters_.sent;
    return success();
}

Status VrrpSocket::send_multicast(std::span<const std::uint8_t> vrrp,
                                  const std::optional<asio::ip::address>& source) {
    return send(vrrp, group(), source);
}

std::optional<asio::ip::address> interface_source_address(common::netlink::Client& netlink, int ifindex,
                                                          bool ipv6) {
    auto list = netlink.list_addresses(ipv6 ? AF_INET6 : AF_INET, ifindex);
    if (!list) return std::nullopt;
    for (const auto& a : list.value()) {
        if ((a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) != 0) continue;
        if (ipv6 && a.address.to_v6().is_link_local()) return a.address;
        if (!ipv6 && (a.flags & IFA_F_SECONDARY) == 0 && a.scope == RT_SCOPE_UNIVERSE) return a.address;
    }
    return std::nullopt;
}

}  // namespace vigil::vrrp
