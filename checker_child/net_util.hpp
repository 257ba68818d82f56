#pragma once
// Small helpers the network checks share: a deadline that aborts a whole check, connecting with bindto /
// bind_port / bind_if, and turning errors into the short reasons status shows.

#include <functional>
#include <memory>
#include <string>

#include <asio.hpp>

#include "checker_child/check_result.hpp"
#include "checker_child/checker_config.hpp"
#include "checker_child/timer_wheel.hpp"

namespace vigil::check {

// Calls `on_expire` once when `timeout` passes, unless destroyed first. Checks pass a function that closes
// their socket, so whatever operation is pending completes at once with an error and the check reports the
// timeout.
class Deadline {
  public:
    Deadline(const asio::any_io_executor& executor, Duration timeout, std::function<void()> on_expire);
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

    // True once the timeout has passed.
    bool expired() const { return expired_; }
    // "timeout after 3 s".
    std::string reason() const;
    // The failure of a check whose time ran out: `prefix` then reason(), marked timed_out.
    CheckResult timeout(const std::string& prefix = {}) const {
        return CheckResult::timeout(prefix + reason());
    }

  private:
    // On the loop's timer wheel (its 10 ms ticks are nothing beside a connect_timeout); the entry cancels
    // itself when the Deadline goes.
    std::function<void()> on_expire_;
    Duration timeout_;
    bool expired_ = false;
    TimerWheel::Entry entry_;
};

// A failed connect or exchange as a result: the kernel's own timeout (its SYN retries run out before
// connect_timeout does) is a timeout too.
inline CheckResult failure(const std::error_code& cause, std::string reason) {
    if (cause == std::errc::timed_out) return CheckResult::timeout(std::move(reason));
    return {false, std::move(reason), {}};
}

// "3 s", "0.5 s".
std::string format_duration(Duration d);

// An error code as a short lower-case reason: "connection refused".
std::string describe_error(const std::error_code& ec);

// Parses an IPv4 or IPv6 address (an IPv6 one may carry %scope); the error explains a bad one.
asio::ip::address parse_address(const std::string& text, std::error_code& ec);

// How far connect_tcp takes the handshake.
enum class Handshake {
    kFull,      // SYN, SYN-ACK, ACK: a connection the server's application accepts (HTTP, SMTP)
    kHalfOpen,  // SYN, SYN-ACK, then the caller's RST: see skip_final_ack (TCP_CHECK)
};

// Opens `socket` for the target's address family, binds it as the target says and connects. Returns the error
// (empty on success).
asio::awaitable<std::error_code> connect_tcp(asio::ip::tcp::socket& socket, const ConnectTarget& target,
                                             Handshake handshake = Handshake::kFull);

// Makes the TCP socket `fd` hold back the last ACK of its handshake: connect() still completes when the
// SYN-ACK arrives, but the ACK waits on the delayed-ACK timer (up to 200 ms), and a disconnect before then
// sends a RST in its place. The server's kernel drops its half-open request on that RST, so its application
// does not accept a connection and the server does not build one (SYN, SYN-ACK, RST: HAProxy's TCP checks);
// only a caller more than 200 ms late lets the ACK go out first.
// What a check learns is unchanged: a connect() succeeds on the SYN-ACK alone. TCP_DEFER_ACCEPT on a socket
// that connects does exactly this (tcp_rcv_synsent_state_process), and unlike TCP_QUICKACK it survives the
// disconnect that readies the socket for its next connect. Best effort: should it fail, the check still
// works, with a full handshake.
void skip_final_ack(int fd);

// Opens and binds a UDP socket for the target and connects it (so ICMP errors come back as recv errors).
std::error_code open_udp(asio::ip::udp::socket& socket, const ConnectTarget& target);

// Closes a socket, ignoring errors (used from deadlines).
template <typename Socket>
void close_quietly(Socket& socket) {
    std::error_code ignored;
    socket.close(ignored);
}

}  // namespace vigil::check
