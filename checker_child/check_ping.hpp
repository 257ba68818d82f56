#pragma once
// PING_CHECK: one ICMP (IPv4) or ICMPv6 echo request; up when the matching echo reply arrives within
// connect_timeout. Uses an unprivileged SOCK_DGRAM ICMP socket when net.ipv4.ping_group_range allows it, else
// a raw socket (CAP_NET_RAW).

#include <cstdint>
#include <optional>
#include <vector>

#include "checker_child/check.hpp"

namespace vigil::check {

class PingCheck : public Check {
  public:
    PingCheck(ConnectTarget target, Duration timeout);
    asio::awaitable<CheckResult> run() override;
    std::string describe() const override;

  private:
    ConnectTarget target_;
    Duration timeout_;
    uint16_t sequence_ = 0;
};

// The Internet checksum (RFC 1071).
uint16_t internet_checksum(const uint8_t* data, std::size_t length);

// An echo request: type 8 (IPv4) or 128 (IPv6), with the checksum filled for IPv4.
std::vector<uint8_t> make_echo_request(bool ipv6, uint16_t id, uint16_t sequence);

// True when `packet` (ICMP header first; for a raw IPv4 socket pass `has_ip_header`) is the echo reply to
// (id, sequence). `check_id` is false on SOCK_DGRAM sockets, where the kernel owns the id.
bool is_echo_reply(const uint8_t* packet, std::size_t length, bool ipv6, bool has_ip_header, bool check_id,
                   uint16_t id, uint16_t sequence);

}  // namespace vigil::check
