#include "checker_child/check_ping.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "checker_child/net_util.hpp"

namespace vigil::check {

uint16_t internet_checksum(const uint8_t* data, std::size_t length) {
    uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < length; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
    if (length & 1) sum += static_cast<uint32_t>(data[length - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> make_echo_request(bool ipv6, uint16_t id, uint16_t sequence) {
    std::vector<uint8_t> p(8 + 32, 0);
    p[0] = ipv6 ? 128 : 8;
    p[4] = static_cast<uint8_t>(id >> 8);
    p[5] = static_cast<uint8_t>(id);
    p[6] = static_cast<uint8_t>(sequence >> 8);
    p[7] = static_cast<uint8_t>(sequence);
    std::memcpy(p.data() + 8, "vigil-checker PING_CHECK payload", 32);
    if (!ipv6) {  // the kernel fills ICMPv6 checksums itself
        const uint16_t sum = internet_checksum(p.data(), p.size());
        p[2] = static_cast<uint8_t>(sum >> 8);
        p[3] = static_cast<uint8_t>(sum);
    }
    return p;
}

bool is_echo_reply(const uint8_t* packet, std::size_t length, bool ipv6, bool has_ip_header, bool check_id,
                   uint16_t id, uint16_t sequence) {
    if (has_ip_header) {
        if (length < 20) return false;
        const std::size_t ihl = static_cast<std::size_t>(packet[0] & 0x0f) * 4;
        if (ihl < 20 || length < ihl) return false;
        packet += ihl;
        length -= ihl;
    }
    if (length < 8) return false;
    if (packet[0] != (ipv6 ? 129 : 0) || packet[1] != 0) return false;
    const uint16_t got_id = static_cast<uint16_t>(packet[4] << 8 | packet[5]);
    const uint16_t got_seq = static_cast<uint16_t>(packet[6] << 8 | packet[7]);
    return got_seq == sequence && (!check_id || got_id == id);
}

PingCheck::PingCheck(ConnectTarget target, Duration timeout) : target_(std::move(target)), timeout_(timeout) {
    sequence_ = static_cast<uint16_t>(std::random_device{}());
}

std::string PingCheck::describe() const {
    return "PING_CHECK " + target_.ip;
}

namespace {

struct IcmpSocket {
    int fd = -1;
    bool raw = false;
};

IcmpSocket open_icmp(bool ipv6, std::string& error) {
    const int family = ipv6 ? AF_INET6 : AF_INET;
    const int proto = ipv6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
    int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd >= 0) return {fd, false};
    const int dgram_errno = errno;
    fd = ::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd >= 0) return {fd, true};
    error = std::string("cannot open an ICMP socket: ") + std::strerror(dgram_errno) + " (datagram), " +
            std::strerror(errno) + " (raw)";
    return {};
}

}  // namespace

asio::awaitable<CheckResult> PingCheck::run() {
    auto executor = co_await asio::this_coro::executor;
    std::error_code ec;
    const auto address = parse_address(target_.ip, ec);
    if (ec) co_return CheckResult{false, "bad address " + target_.ip, {}};
    const bool ipv6 = address.is_v6();

    std::string error;
    const IcmpSocket icmp = open_icmp(ipv6, error);
    if (icmp.fd < 0) co_return CheckResult{false, error, {}};
    asio::posix::stream_descriptor socket(executor, icmp.fd);  // owns the fd from here
    if (!target_.bind_if.empty()) {
        ::setsockopt(icmp.fd, SOL_SOCKET, SO_BINDTODEVICE, target_.bind_if.c_str(),
                     static_cast<socklen_t>(target_.bind_if.size()));
    }

    sockaddr_storage to{};
    socklen_t to_length = 0;
    if (ipv6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&to);
        sin6->sin6_family = AF_INET6;
        const auto bytes = address.to_v6().to_bytes();
        std::memcpy(&sin6->sin6_addr, bytes.data(), 16);
        sin6->sin6_scope_id = address.to_v6().scope_id();
        to_length = sizeof *sin6;
    } else {
        auto* sin = reinterpret_cast<sockaddr_in*>(&to);
        sin->sin_family = AF_INET;
        const auto bytes = address.to_v4().to_bytes();
        std::memcpy(&sin->sin_addr, bytes.data(), 4);
        to_length = sizeof *sin;
    }
    if (!target_.bindto.empty()) {
        const auto local = parse_address(target_.bindto, ec);
        if (!ec) {
            sockaddr_storage from = to;
            if (ipv6) {
                std::memcpy(&reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr,
                            local.to_v6().to_bytes().data(), 16);
            } else {
                std::memcpy(&reinterpret_cast<sockaddr_in*>(&from)->sin_addr, local.to_v4().to_bytes().data(),
                            4);
            }
            if (::bind(icmp.fd, reinterpret_cast<sockaddr*>(&from), to_length) != 0) {
                co_return CheckResult{
                    false, std::string("cannot bind to ") + target_.bindto + ": " + std::strerror(errno), {}};
            }
        }
    }

    const uint16_t id = static_cast<uint16_t>(std::random_device{}());
    const uint16_t sequence = ++sequence_;
    const auto request = make_echo_request(ipv6, id, sequence);
    if (::sendto(icmp.fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&to), to_length) <
        0) {
        co_return CheckResult{false, std::string("cannot send echo request: ") + std::strerror(errno), {}};
    }

    Deadline deadline(executor, timeout_, [&socket] { close_quietly(socket); });
    uint8_t buffer[1500];
    while (true) {
        co_await socket.async_wait(asio::posix::stream_descriptor::wait_read,
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (deadline.expired()) co_return deadline.timeout("no echo reply, ");
        if (ec) co_return CheckResult{false, describe_error(ec), {}};
        sockaddr_storage from{};
        socklen_t from_length = sizeof from;
        const ssize_t n =
            ::recvfrom(icmp.fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &from_length);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            co_return CheckResult{false, std::string("echo failed: ") + std::strerror(errno), {}};
        }
        // A raw socket sees every ICMP packet of the host: keep only the reply from our target.
        if (icmp.raw) {
            const bool same_source =
                ipv6 ? std::memcmp(&reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr,
                                   &reinterpret_cast<sockaddr_in6*>(&to)->sin6_addr, 16) == 0
                     : reinterpret_cast<sockaddr_in*>(&from)->sin_addr.s_addr ==
                           reinterpret_cast<sockaddr_in*>(&to)->sin_addr.s_addr;
            if (!same_source) continue;
        }
        if (is_echo_reply(buffer, static_cast<std::size_t>(n), ipv6, icmp.raw && !ipv6, icmp.raw, id,
                          sequence)) {
            co_return CheckResult{true, "echo reply", {}};
        }
    }
}

}  // namespace vigil::check
