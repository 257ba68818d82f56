#pragma once
// DNS_CHECK: one query (type, name; RD set) over UDP; up when a response with our id, QR set and RCODE 0
// (NOERROR) arrives within connect_timeout (keepalived's rule: the answer section may be empty).

#include <cstdint>
#include <optional>
#include <vector>

#include "checker_child/check.hpp"

namespace vigil::check {

class DnsCheck : public Check {
  public:
    DnsCheck(ConnectTarget target, Duration timeout, DnsParams params);
    asio::awaitable<CheckResult> run() override;
    std::string describe() const override;

  private:
    ConnectTarget target_;
    Duration timeout_;
    DnsParams params_;
};

// The RR type number of A, NS, CNAME, SOA, MX, TXT, AAAA; nullopt for another name.
std::optional<uint16_t> dns_type_number(const std::string& type);

// Encodes a query; empty when the name is not encodable (a label over 63 bytes, a name over 255).
std::vector<uint8_t> make_dns_query(uint16_t id, const std::string& name, uint16_t type);

// Judges a datagram received after the query `id`: "" when it is a good response, "ignore" when it is not a
// response to us (wrong id, not a response, too short), else the reason it fails ("RCODE 2 (SERVFAIL)").
std::string judge_dns_response(const uint8_t* data, std::size_t length, uint16_t id);

}  // namespace vigil::check
