#include "checker_child/check_udp.hpp"

#include <cctype>
#include <random>

#include "checker_child/net_util.hpp"

namespace vigil::check {

bool parse_hex_string(const std::string& text, std::vector<uint8_t>& bytes, std::vector<uint8_t>* mask) {
    bytes.clear();
    if (mask) mask->clear();
    // Each blank-separated word is read two nibbles at a time; an odd last nibble is a byte of its own.
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        std::size_t start = i;
        while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        const std::string word = text.substr(start, i - start);
        for (std::size_t j = 0; j < word.size(); j += 2) {
            uint8_t value = 0, m = 0;
            const std::size_t n = std::min<std::size_t>(2, word.size() - j);
            for (std::size_t k = 0; k < n; ++k) {
                const char c = word[j + k];
                int nibble = 0, nibble_mask = 0xf;
                if (std::isxdigit(static_cast<unsigned char>(c))) {
                    nibble =
                        std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
                } else if ((c == 'x' || c == 'X') && mask) {
                    nibble_mask = 0;
                } else {
                    return false;
                }
                value = static_cast<uint8_t>(value << 4 | nibble);
                m = static_cast<uint8_t>(m << 4 | nibble_mask);
            }
            bytes.push_back(value);
            if (mask) mask->push_back(m);
        }
    }
    return true;
}

std::string check_udp_reply(const UdpParams& params, const std::vector<uint8_t>& reply) {
    const int length = static_cast<int>(reply.size());
    if (length < params.min_reply_length || length > params.max_reply_length) {
        return "reply of " + std::to_string(length) + " bytes, expected " +
               std::to_string(params.min_reply_length) + "-" + std::to_string(params.max_reply_length);
    }
    const std::size_t n = std::min(reply.size(), params.reply_pattern.size());
    for (std::size_t i = 0; i < n; ++i) {
        const uint8_t mask = i < params.reply_mask.size() ? params.reply_mask[i] : 0xff;
        if ((reply[i] & mask) != (params.reply_pattern[i] & mask)) {
            return "reply differs from require_reply at byte " + std::to_string(i);
        }
    }
    return {};
}

UdpCheck::UdpCheck(ConnectTarget target, Duration timeout, UdpParams params)
    : target_(std::move(target)), timeout_(timeout), params_(std::move(params)) {}

std::string UdpCheck::describe() const {
    return "UDP_CHECK " + format_endpoint(target_.ip, target_.port);
}

asio::awaitable<CheckResult> UdpCheck::run() {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::udp::socket socket(executor);
    auto ec = open_udp(socket, target_);
    if (ec) co_return CheckResult{false, describe_error(ec), {}};

    std::vector<uint8_t> payload = params_.payload;
    if (payload.empty()) {
        std::random_device random;
        payload.resize(16);
        for (auto& b : payload) b = static_cast<uint8_t>(random());
    }
    Deadline deadline(executor, timeout_, [&socket] { close_quietly(socket); });
    co_await socket.async_send(asio::buffer(payload), asio::redirect_error(asio::use_awaitable, ec));
    if (ec && !deadline.expired()) co_return CheckResult{false, describe_error(ec), {}};

    std::vector<uint8_t> reply(65536);
    const std::size_t n =
        co_await socket.async_receive(asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
    if (deadline.expired()) {
        if (params_.require_reply) co_return deadline.timeout("no reply, ");
        co_return CheckResult{true, "no ICMP error within " + format_duration(timeout_), {}};
    }
    if (ec == asio::error::connection_refused) co_return CheckResult{false, "port unreachable", {}};
    if (ec) co_return CheckResult{false, describe_error(ec), {}};
    reply.resize(n);
    if (params_.require_reply) {
        if (auto why = check_udp_reply(params_, reply); !why.empty()) co_return CheckResult{false, why, {}};
    }
    co_return CheckResult{true, "reply of " + std::to_string(n) + " bytes", {}};
}

}  // namespace vigil::check
