#pragma once
// TCP_CHECK: the real server is up when a TCP connection to it completes within connect_timeout.

#include <optional>

#include "checker_child/check.hpp"

namespace vigil::check {

class TcpCheck : public Check {
  public:
    TcpCheck(ConnectTarget target, Duration timeout);
    // Connects, then drops the connection at once with a RST (no FIN exchange, no TIME_WAIT left behind).
    // A target without bindto, bind_port or bind_if reuses an idle socket of the event loop's pool.
    asio::awaitable<CheckResult> run() override;
    std::string describe() const override;

  private:
    ConnectTarget target_;
    Duration timeout_;
    std::optional<asio::ip::tcp::endpoint> remote_;  // set when the target may use a pooled socket
};

// Idle TCP sockets of one event loop, disconnected and ready for the next connect. Creating, registering with
// epoll and destroying a socket per check is a third of a TCP check's cost; a socket disconnected with
// connect(AF_UNSPEC) goes back to CLOSE and can connect again. An asio service, so it dies with its loop.
class TcpSocketPool : public asio::execution_context::service {
  public:
    static asio::execution_context::id id;
    // The most idle sockets kept per address family: a quarter of RLIMIT_NOFILE, at most 4096 (about 12 MB of
    // kernel memory), so that idle ones never take the descriptors a burst of checks needs.
    static constexpr std::size_t kMaxIdleCap = 4096;

    explicit TcpSocketPool(asio::execution_context& context);
    // The pool of the loop `executor` runs on.
    static TcpSocketPool& of(const asio::any_io_executor& executor);
    // An idle socket of that family (open), or a closed one to open.
    asio::ip::tcp::socket take(const asio::any_io_executor& executor, bool v6);
    // Disconnects `socket` (a RST when it is connected) and keeps it, or closes it when that fails or the
    // pool is full.
    void give_back(asio::ip::tcp::socket socket, bool v6);
    // Idle sockets held now (for tests).
    std::size_t idle() const { return idle_v4_.size() + idle_v6_.size(); }

  private:
    void shutdown() override;

    std::size_t max_idle_;
    std::vector<asio::ip::tcp::socket> idle_v4_;
    std::vector<asio::ip::tcp::socket> idle_v6_;
};

}  // namespace vigil::check
