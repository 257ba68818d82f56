#pragma once
// TCP_CHECK: the real server is up when it answers a SYN with a SYN-ACK within connect_timeout. The check
// does not complete the handshake (SYN, SYN-ACK, RST, as HAProxy's TCP checks): the server's application does
// not see a connection, and its kernel does not build one. The SYN is a raw one where the checker could open
// raw sockets (syn_prober.hpp), else a connect() held back before its last ACK (tcp_prober.hpp; net_util.hpp,
// skip_final_ack: unless the checker reads the SYN-ACK more than 200 ms late).

#include <optional>

#include "checker_child/check.hpp"
#include "checker_child/syn_prober.hpp"
#include "checker_child/tcp_prober.hpp"

namespace vigil::check {

class TcpCheck : public Check {
  public:
    TcpCheck(ConnectTarget target, Duration timeout);
    // Connects half-open, then drops the connection at once with a RST (no FIN exchange, no TIME_WAIT).
    // A target without bindto, bind_port or bind_if goes through the loop's SynProber, or its TcpProber
    // (which reuses disconnected sockets) where raw sockets are not available; the others connect a socket
    // of their own.
    asio::awaitable<CheckResult> run() override;
    bool start(const asio::any_io_executor& executor, std::function<void(const CheckResult&)> done) override;
    std::string describe() const override;

  private:
    ConnectTarget target_;
    Duration timeout_;
    std::optional<asio::ip::tcp::endpoint> remote_;  // set when the target goes through the prober
    SynProber::Probe syn_probe_;
    TcpProber::Probe probe_;
    SynProber* syn_prober_ = nullptr;  // of the loop this check runs on, looked up at its first run
    TcpProber* prober_ = nullptr;
};

}  // namespace vigil::check
