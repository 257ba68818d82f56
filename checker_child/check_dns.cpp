#include "checker_child/check_dns.hpp"

#include <random>

#include "checker_child/net_util.hpp"

namespace vigil::check {

std::optional<uint16_t> dns_type_number(const std::string& type) {
    static const std::pair<const char*, uint16_t> kTypes[] = {
        {"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"MX", 15}, {"TXT", 16}, {"AAAA", 28}};
    for (const auto& [name, number] : kTypes) {
        if (type == name) return number;
    }
    return std::nullopt;
}

std::vector<uint8_t> make_dns_query(uint16_t id, const std::string& name, uint16_t type) {
    std::vector<uint8_t> q = {
        static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    std::size_t start = 0;
    std::size_t encoded = 0;
    while (start < name.size()) {
        auto dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        const std::size_t length = dot - start;
        if (length > 63) return {};
        if (length > 0) {
            q.push_back(static_cast<uint8_t>(length));
            q.insert(q.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
            encoded += length + 1;
        } else if (dot != name.size() - 1 && !(start == 0 && name == ".")) {
            return {};  // an empty label inside the name
        }
        start = dot + 1;
    }
    if (encoded + 1 > 255) return {};
    q.push_back(0);
    q.push_back(static_cast<uint8_t>(type >> 8));
    q.push_back(static_cast<uint8_t>(type));
    q.push_back(0);
    q.push_back(1);  // class IN
    return q;
}

std::string judge_dns_response(const uint8_t* data, std::size_t length, uint16_t id) {
    if (length < 12) return "ignore";
    if (static_cast<uint16_t>(data[0] << 8 | data[1]) != id) return "ignore";
    if (!(data[2] & 0x80)) return "ignore";
    const int rcode = data[3] & 0x0f;
    if (rcode == 0) return {};
    static const char* kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
    return "RCODE " + std::to_string(rcode) + (rcode < 6 ? std::string(" (") + kNames[rcode] + ")" : "");
}

DnsCheck::DnsCheck(ConnectTarget target, Duration timeout, DnsParams params)
    : target_(std::move(target)), timeout_(timeout), params_(std::move(params)) {}

std::string DnsCheck::describe() const {
    return "DNS_CHECK " + format_endpoint(target_.ip, target_.port) + " " + params_.type + " " + params_.name;
}

asio::awaitable<CheckResult> DnsCheck::run() {
    const auto type = dns_type_number(params_.type);
    if (!type) co_return CheckResult{false, "unknown DNS type " + params_.type, {}};
    const uint16_t id = static_cast<uint16_t>(std::random_device{}());
    const auto query = make_dns_query(id, params_.name, *type);
    if (query.empty()) co_return CheckResult{false, "bad DNS name " + params_.name, {}};

    auto executor = co_await asio::this_coro::executor;
    asio::ip::udp::socket socket(executor);
    auto ec = open_udp(socket, target_);
    if (ec) co_return CheckResult{false, describe_error(ec), {}};
    Deadline deadline(executor, timeout_, [&socket] { close_quietly(socket); });
    co_await socket.async_send(asio::buffer(query), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return deadline.expired() ? deadline.timeout() : CheckResult{false, describe_error(ec), {}};

    uint8_t reply[4096];
    while (true) {
        const std::size_t n =
            co_await socket.async_receive(asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
        if (deadline.expired()) co_return deadline.timeout("no DNS response, ");
        if (ec == asio::error::connection_refused) co_return CheckResult{false, "port unreachable", {}};
        if (ec) co_return CheckResult{false, describe_error(ec), {}};
        const std::string verdict = judge_dns_response(reply, n, id);
        if (verdict == "ignore") continue;
        if (!verdict.empty()) co_return CheckResult{false, "DNS " + verdict, {}};
        co_return CheckResult{true, "DNS NOERROR for " + params_.type + " " + params_.name, {}};
    }
}

}  // namespace vigil::check
