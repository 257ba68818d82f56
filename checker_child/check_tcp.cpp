#include "checker_child/check_tcp.hpp"

#include "checker_child/net_util.hpp"

namespace vigil::check {

TcpCheck::TcpCheck(ConnectTarget target, Duration timeout) : target_(std::move(target)), timeout_(timeout) {
    if (!target_.bindto.empty() || !target_.bind_if.empty() || target_.bind_port != 0) return;
    std::error_code ec;
    const auto address = parse_address(target_.ip, ec);
    // A link-local IPv6 target binds the socket to its interface at connect, and a v4-mapped one switches
    // the socket to IPv4's operations; a disconnect undoes neither. Such a socket is not one to reuse for
    // another target, so these checks take the general path.
    if (ec || (address.is_v6() && (address.to_v6().scope_id() != 0 || address.to_v6().is_link_local() ||
                                   address.to_v6().is_v4_mapped())))
        return;
    remote_.emplace(address, target_.port);
}

std::string TcpCheck::describe() const {
    return "TCP_CHECK " + format_endpoint(target_.ip, target_.port);
}

bool TcpCheck::start(const asio::any_io_executor& executor, std::function<void(const CheckResult&)> done) {
    if (!remote_) return false;
    if (!prober_) {
        syn_prober_ = &SynProber::of(executor);
        prober_ = &TcpProber::of(executor);
    }
    // Raw SYNs where the raw sockets are open; a socket's connect() otherwise, or when every probe port is
    // out to this real server already.
    if (!syn_prober_->available(remote_->address().is_v6()) ||
        !syn_prober_->start(syn_probe_, *remote_, timeout_, executor, done))
        prober_->start(probe_, *remote_, timeout_, executor, std::move(done));
    return true;
}

asio::awaitable<CheckResult> TcpCheck::run() {
    auto executor = co_await asio::this_coro::executor;
    if (remote_) {
        co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(CheckResult)>(
            [this, executor](auto handler) {
                auto h = std::make_shared<decltype(handler)>(std::move(handler));
                start(executor, [h](const CheckResult& r) { (*h)(r); });
            },
            asio::use_awaitable);
    }
    asio::ip::tcp::socket socket(executor);
    Deadline deadline(executor, timeout_, [&socket] { close_quietly(socket); });
    const std::error_code ec = co_await connect_tcp(socket, target_, Handshake::kHalfOpen);
    CheckResult result = ec ? failure(ec, describe_error(ec)) : CheckResult{true, "connected", {}};
    if (deadline.expired()) result = deadline.timeout();
    if (socket.is_open()) {
        // Abortive close (RST), as HAProxy's checks do: it ends the half-open handshake before the server
        // builds a connection, where an orderly close would cost a FIN exchange and leave a TIME_WAIT socket
        // here for a minute, per check.
        std::error_code ignored;
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
        close_quietly(socket);
    }
    co_return result;
}

}  // namespace vigil::check
