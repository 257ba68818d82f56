#include "checker_child/check_tcp.hpp"

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>

#include "checker_child/net_util.hpp"

namespace vigil::check {

asio::execution_context::id TcpSocketPool::id;

TcpSocketPool::TcpSocketPool(asio::execution_context& context) : asio::execution_context::service(context) {
    rlimit limit{};
    const rlim_t soft = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 1024;
    max_idle_ = static_cast<std::size_t>(std::min<rlim_t>(soft / 4, kMaxIdleCap));
}

TcpSocketPool& TcpSocketPool::of(const asio::any_io_executor& executor) {
    return asio::use_service<TcpSocketPool>(asio::query(executor, asio::execution::context));
}

asio::ip::tcp::socket TcpSocketPool::take(const asio::any_io_executor& executor, bool v6) {
    auto& idle = v6 ? idle_v6_ : idle_v4_;
    if (idle.empty()) return asio::ip::tcp::socket(executor);
    asio::ip::tcp::socket socket = std::move(idle.back());
    idle.pop_back();
    return socket;
}

void TcpSocketPool::give_back(asio::ip::tcp::socket socket, bool v6) {
    if (!socket.is_open()) return;
    auto& idle = v6 ? idle_v6_ : idle_v4_;
    // connect(AF_UNSPEC) is TCP's disconnect: a RST when connected, then CLOSE with its port released. It
    // leaves ECONNRESET (or the failed connect's error) pending; SO_ERROR reads and clears it, so the next
    // connect reports only its own outcome.
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    int error = 0;
    socklen_t len = sizeof error;
    const int fd = socket.native_handle();
    // One cap for both families: the idle sockets of each count against the same descriptor budget.
    if (idle_v4_.size() + idle_v6_.size() >= max_idle_ || ::connect(fd, &unspec, sizeof unspec) != 0 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) {
        std::error_code ignored;
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
        close_quietly(socket);
        return;
    }
    idle.push_back(std::move(socket));
}

void TcpSocketPool::shutdown() {
    idle_v4_.clear();
    idle_v6_.clear();
}

TcpCheck::TcpCheck(ConnectTarget target, Duration timeout) : target_(std::move(target)), timeout_(timeout) {
    if (!target_.bindto.empty() || !target_.bind_if.empty() || target_.bind_port != 0) return;
    std::error_code ec;
    const auto address = parse_address(target_.ip, ec);
    // A link-local IPv6 target binds the socket to its interface at connect, and a disconnect does not undo
    // that: such a socket is not one to reuse for another target, so these checks take the general path.
    if (ec || (address.is_v6() && (address.to_v6().scope_id() != 0 || address.to_v6().is_link_local())))
        return;
    remote_.emplace(address, target_.port);
}

std::string TcpCheck::describe() const {
    return "TCP_CHECK " + format_endpoint(target_.ip, target_.port);
}

asio::awaitable<CheckResult> TcpCheck::run() {
    auto executor = co_await asio::this_coro::executor;
    auto* pool = remote_ ? &TcpSocketPool::of(executor) : nullptr;
    asio::ip::tcp::socket socket =
        pool ? pool->take(executor, remote_->address().is_v6()) : asio::ip::tcp::socket(executor);
    Deadline deadline(executor, timeout_, [&socket] { close_quietly(socket); });
    std::error_code ec;
    if (!remote_) {
        ec = co_await connect_tcp(socket, target_);
    } else {
        if (!socket.is_open()) socket.open(remote_->protocol(), ec);
        if (!ec) co_await socket.async_connect(*remote_, asio::redirect_error(asio::use_awaitable, ec));
    }
    CheckResult result{!ec, ec ? describe_error(ec) : "connected", {}};
    if (deadline.expired()) result = CheckResult{false, deadline.reason(), {}};
    if (pool && !deadline.expired()) {
        pool->give_back(std::move(socket), remote_->address().is_v6());
    } else if (socket.is_open()) {
        // Abortive close (RST), as HAProxy's checks do: an orderly one costs a FIN exchange with the real
        // server and leaves a TIME_WAIT socket here for a minute, per check.
        std::error_code ignored;
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
        close_quietly(socket);
    }
    co_return result;
}

}  // namespace vigil::check
