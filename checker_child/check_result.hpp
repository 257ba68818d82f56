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
};

}  // namespace vigil::check
