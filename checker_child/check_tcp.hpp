#pragma once
// TCP_CHECK: the real server is up when a TCP connection to it completes within connect_timeout.

#include "checker_child/check.hpp"

namespace vigil::check {

class TcpCheck : public Check {
  public:
    TcpCheck(ConnectTarget target, Duration timeout);
    // Connects, then closes at once.
    asio::awaitable<CheckResult> run() override;
    std::string describe() const override;

  private:
    ConnectTarget target_;
    Duration timeout_;
};

}  // namespace vigil::check
