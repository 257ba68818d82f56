#include "checker_child/net_util.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cctype>
#include <cstdio>

namespace vigil::check {

Deadline::Deadline(const asio::any_io_executor& executor, Duration timeout, std::function<void()> on_expire)
    : on_expire_(std::move(on_expire)), timeout_(timeout), entry_([this] {
          expired_ = true;
          if (on_expire_) on_expire_();
      }) {
    TimerWheel::of(executor).arm(entry_, TimerWheel::Clock::now() + timeout, executor);
}

std::string Deadline::reason() const {
    return "timeout after " + format_duration(timeout_);
}

std::string format_duration(Duration d) {
    char buf[32];
    if (d.count() % 1000 == 0) {
        std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(d.count() / 1000));
    } else {
        std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(d.count()) / 1000.0);
    }
    return buf;
}

std::string describe_error(const std::error_code& ec) {
    std::string m = ec.message();
    if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
    return m;
}

asio::ip::address parse_address(const std::string& text, std::error_code& ec) {
    return asio::ip::make_address(text, ec);
}

namespace {

template <typename Socket, typename Endpoint>
std::error_code open_and_bind(Socket& socket, const asio::ip::address& remote, const ConnectTarget& target) {
    std::error_code ec;
    socket.open(remote.is_v4() ? Endpoint(asio::ip::address_v4(), 0).protocol()
                               : Endpoint(asio::ip::address_v6(), 0).protocol(),
                ec);
    if (ec) return ec;
    if (!target.bind_if.empty()) {
        if (::setsockopt(socket.native_handle(), SOL_SOCKET, SO_BINDTODEVICE, target.bind_if.c_str(),
                         static_cast<socklen_t>(target.bind_if.size())) != 0) {
            return {errno, std::system_category()};
        }
    }
    if (!target.bindto.empty() || target.bind_port != 0) {
        asio::ip::address local = remote.is_v4() ? asio::ip::address(asio::ip::address_v4::any())
                                                 : asio::ip::address(asio::ip::address_v6::any());
        if (!target.bindto.empty()) {
            local = asio::ip::make_address(target.bindto, ec);
            if (ec) return ec;
        }
        if (target.bind_port != 0) socket.set_option(asio::socket_base::reuse_address(true), ec);
        socket.bind(Endpoint(local, target.bind_port), ec);
        if (ec) return ec;
    }
    return {};
}

}  // namespace

void skip_final_ack(int fd) {
    const int seconds = 1;  // any value > 0; on a socket that connects only "> 0" matters
    ::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds);
}

asio::awaitable<std::error_code> connect_tcp(asio::ip::tcp::socket& socket, const ConnectTarget& target,
                                             Handshake handshake) {
    std::error_code ec;
    const auto remote = parse_address(target.ip, ec);
    if (ec) co_return ec;
    ec = open_and_bind<asio::ip::tcp::socket, asio::ip::tcp::endpoint>(socket, remote, target);
    if (ec) co_return ec;
    if (handshake == Handshake::kHalfOpen) skip_final_ack(socket.native_handle());
    co_await socket.async_connect(asio::ip::tcp::endpoint(remote, target.port),
                                  asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
}

std::error_code open_udp(asio::ip::udp::socket& socket, const ConnectTarget& target) {
    std::error_code ec;
    const auto remote = parse_address(target.ip, ec);
    if (ec) return ec;
    ec = open_and_bind<asio::ip::udp::socket, asio::ip::udp::endpoint>(socket, remote, target);
    if (ec) return ec;
    socket.connect(asio::ip::udp::endpoint(remote, target.port), ec);
    return ec;
}

}  // namespace vigil::check
