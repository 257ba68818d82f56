#pragma once
// The keepalived.conf language: text in, the typed model of proto/config.proto out, with every problem found
// reported as a located diagnostic. Only the parent (vigild) calls this: it holds no capability, so untrusted
// text is never parsed in a privileged process.

#include <string>
#include <string_view>
#include <vector>

#include "proto/config.pb.h"

namespace vigil::common::config {

enum class Severity { kWarning, kError };

// One problem, located in the file where the text stands (an included file's own name and line).
struct Diagnostic {
    Severity severity = Severity::kError;
    std::string file;
    int line = 0;    // 1-based
    int column = 0;  // 1-based
    std::string message;
    std::string source_line;  // the text of that line, for the caret display
};

struct ParseOptions {
    // Selects `@id` conditional lines (keepalived's --config-id).
    std::string config_id;
    // Unknown keywords become errors instead of warnings.
    bool strict = false;
    // Check what the config names against this host (interfaces, script paths): problems found are errors.
    // Under `vigild -t` this is false and such problems are warnings: -t judges the config, not the host.
    bool check_host = false;
    // `include` reads other files; the fuzzer turns it off so that input cannot make it read the filesystem.
    bool allow_include = true;
};

struct ParseResult {
    vigil::config::Config config;
    std::vector<Diagnostic> diagnostics;

    // True when no diagnostic is an error.
    bool ok() const;
    int error_count() const;
    int warning_count() const;
};

// Parses the file at `path` and everything it includes.
ParseResult parse_file(const std::string& path, const ParseOptions& options);

// Parses `text` as if it were a file named `name` (includes resolve relative to `name`'s folder).
ParseResult parse_string(std::string_view text, const std::string& name, const ParseOptions& options);

// `FILE:LINE:COL: error: MESSAGE`, then the source line, then a caret under the column.
std::string format_diagnostic(const Diagnostic& d);

// The model as JSON (protobuf's JSON printer, default values printed), as --dump-config shows it.
std::string to_json(const vigil::config::Config& config);

}  // namespace vigil::common::config
