#include "checker_child/check_tcp.hpp"

#include "checker_child/net_util.hpp"

namespace vigil::check {

TcpCheck::TcpCheck(ConnectTarget target, Duration timeout) : target_(std::move(target)), timeout_(timeout) {}

std::string TcpCheck::describe() const {
    return "TCP_CHECK " + format_endpoint(target_.ip, target_.port);
}

asio::awaitable<CheckResult> TcpCheck::run() {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::socket socket(executor);
    Deadline deadline(executor, timeout_, [&socket] { close_quietly(socket); });
    const auto ec = co_await connect_tcp(socket, target_);
    if (deadline.expired()) co_return CheckResult{false, deadline.reason(), {}};
    if (ec) co_return CheckResult{false, describe_error(ec), {}};
    std::error_code ignored;
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    co_return CheckResult{true, "connected", {}};
}

}  // namespace vigil::check
