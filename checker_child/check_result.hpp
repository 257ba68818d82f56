#pragma once
// What one run of a check says about a real server.

#include <optional>
#include <string>

namespace vigil::check {

struct CheckResult {
    bool ok = false;
    // Why, in words an operator reads in `vigilctl status`: "connection refused", "HTTP 503 from /health",
    // "timeout after 3 s", "exit 1". Set on success too ("connected", "HTTP 200 from /").
    std::string reason;
    // A weight the check asks for (misc_dynamic, FILE_CHECK dynamic); unset: the configured weight.
    std::optional<int> weight;
    // A failure because the check's time ran out (connect_timeout, misc_timeout, a script's timeout), not
    // because the server said no: `vigilctl status` shows it as TIMEOUT rather than FAILURE.
    bool timed_out = false;

    static CheckResult timeout(std::string reason) { return {false, std::move(reason), {}, true}; }
};

}  // namespace vigil::check
