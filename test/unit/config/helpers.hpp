#pragma once
// Shared helpers of the configuration tests: parse a text and look for a diagnostic at an exact place.

#include <string>
#include <string_view>

#include "common/config/config.hpp"

namespace vigil::test {

namespace cfg = vigil::common::config;

// Parses `text` as the file "test.conf".
inline cfg::ParseResult parse(std::string_view text, cfg::ParseOptions options = {}) {
    options.config_id = options.config_id.empty() ? "node1" : options.config_id;
    return cfg::parse_string(text, "test.conf", options);
}

// True when `r` holds a diagnostic of `severity` at line:col whose message contains `text`.
inline bool has(const cfg::ParseResult& r, cfg::Severity severity, int line, int col, std::string_view text) {
    for (const auto& d : r.diagnostics) {
        if (d.severity == severity && d.line == line && d.column == col &&
            d.message.find(text) != std::string::npos)
            return true;
    }
    return false;
}

inline bool has_error(const cfg::ParseResult& r, int line, int col, std::string_view text) {
    return has(r, cfg::Severity::kError, line, col, text);
}

inline bool has_warning(const cfg::ParseResult& r, int line, int col, std::string_view text) {
    return has(r, cfg::Severity::kWarning, line, col, text);
}

// All diagnostics as text, for failure messages.
inline std::string dump(const cfg::ParseResult& r) {
    std::string s;
    for (const auto& d : r.diagnostics) s += cfg::format_diagnostic(d);
    return s;
}

}  // namespace vigil::test
