#include "checker_child/check_smtp.hpp"

#include <cctype>

#include "checker_child/net_util.hpp"

namespace vigil::check {

SmtpCheck::SmtpCheck(ConnectTarget target, Duration timeout, SmtpParams params)
    : target_(std::move(target)), timeout_(timeout), params_(std::move(params)) {}

std::string SmtpCheck::describe() const {
    return "SMTP_CHECK " + format_endpoint(target_.ip, target_.port);
}

int smtp_reply_code(const std::string& text) {
    // A reply is lines "NNN-text" ending with one "NNN text"; we need that last line complete.
    std::size_t start = 0;
    while (true) {
        const auto end = text.find('\n', start);
        if (end == std::string::npos) return -1;
        const std::string line = text.substr(start, end - start);
        if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
            !std::isdigit(static_cast<unsigned char>(line[1])) ||
            !std::isdigit(static_cast<unsigned char>(line[2]))) {
            return -2;
        }
        if (line.size() == 3 || line[3] != '-') return std::stoi(line.substr(0, 3));
        start = end + 1;
    }
}

namespace {

// Reads one complete reply; returns its code or a negative value with `error` set.
asio::awaitable<int> read_reply(asio::ip::tcp::socket& socket, std::string& error) {
    std::string buffer;
    char chunk[512];
    while (buffer.size() < 8192) {
        std::error_code ec;
        const std::size_t n = co_await socket.async_read_some(asio::buffer(chunk),
                                                              asio::redirect_error(asio::use_awaitable, ec));
        buffer.append(chunk, n);
        const int code = smtp_reply_code(buffer);
        if (code == -2) {
            error = "not an SMTP reply";
            co_return -1;
        }
        if (code >= 0) co_return code;
        if (ec) {
            error = ec == asio::error::eof ? "connection closed before a complete reply" : describe_error(ec);
            co_return -1;
        }
    }
    error = "SMTP reply too long";
    co_return -1;
}

}  // namespace

asio::awaitable<CheckResult> SmtpCheck::run() {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::socket socket(executor);
    Deadline deadline(executor, timeout_, [&socket] { close_quietly(socket); });
    auto failed = [&](const std::string& why, const std::error_code& cause = {}) {
        return deadline.expired() ? deadline.timeout() : failure(cause, why);
    };

    auto ec = co_await connect_tcp(socket, target_);
    if (ec || deadline.expired()) co_return failed(describe_error(ec), ec);

    std::string error;
    int code = co_await read_reply(socket, error);
    if (code < 0) co_return failed(error);
    if (code != 220) co_return failed("SMTP banner " + std::to_string(code) + ", expected 220");

    const std::string helo = "HELO " + params_.helo_name + "\r\n";
    co_await asio::async_write(socket, asio::buffer(helo), asio::redirect_error(asio::use_awaitable, ec));
    if (ec || deadline.expired()) co_return failed(describe_error(ec), ec);
    code = co_await read_reply(socket, error);
    if (code < 0) co_return failed(error);
    if (code != 250) co_return failed("SMTP HELO answered " + std::to_string(code) + ", expected 250");

    const std::string quit = "QUIT\r\n";
    co_await asio::async_write(socket, asio::buffer(quit), asio::redirect_error(asio::use_awaitable, ec));
    co_return CheckResult{true, "SMTP 250 to HELO", {}};
}

}  // namespace vigil::check
