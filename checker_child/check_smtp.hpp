#pragma once
// SMTP_CHECK: connect, expect a 220 banner, send HELO, expect 250, then QUIT.

#include "checker_child/check.hpp"

namespace vigil::check {

class SmtpCheck : public Check {
  public:
    SmtpCheck(ConnectTarget target, Duration timeout, SmtpParams params);
    // One SMTP dialogue, all of it within connect_timeout.
    asio::awaitable<CheckResult> run() override;
    std::string describe() const override;

  private:
    ConnectTarget target_;
    Duration timeout_;
    SmtpParams params_;
};

// The reply code of a complete SMTP reply (the last line of a multi-line one), or -1 while `text` does not
// yet hold a complete reply, or -2 when it is not SMTP.
int smtp_reply_code(const std::string& text);

}  // namespace vigil::check
