#pragma once
// UDP_CHECK (keepalived's rules): send the payload (random bytes when none is configured) on a connected UDP
// socket. Without require_reply the server is up unless an ICMP error (port/host unreachable) comes back
// within connect_timeout; with require_reply a reply must come, its length within [min_reply_length,
// max_reply_length] and, when a pattern is given, matching it (X nibbles ignored) up to the shorter of the
// two.

#include <cstdint>
#include <vector>

#include "checker_child/check.hpp"

namespace vigil::check {

class UdpCheck : public Check {
  public:
    UdpCheck(ConnectTarget target, Duration timeout, UdpParams params);
    asio::awaitable<CheckResult> run() override;
    std::string describe() const override;

  private:
    ConnectTarget target_;
    Duration timeout_;
    UdpParams params_;
};

// Checks a reply against require_reply's pattern and length bounds; returns an empty string when it passes,
// else the reason.
std::string check_udp_reply(const UdpParams& params, const std::vector<uint8_t>& reply);

// Parses keepalived's free-form HEX_STR ("Ab12f 3 456": AB 12 0F 03 45 06); X/x nibbles set `mask` to 0
// there. Returns false on a character that is not hex, X or blank.
bool parse_hex_string(const std::string& text, std::vector<uint8_t>& bytes, std::vector<uint8_t>* mask);

}  // namespace vigil::check
