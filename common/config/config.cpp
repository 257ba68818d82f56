// Placeholder until the parser lands (issue 2); replaced by the real implementation.
#include "common/config/config.hpp"

#include <google/protobuf/util/json_util.h>

namespace vigil::common::config {
bool ParseResult::ok() const { return error_count() == 0; }
int ParseResult::error_count() const {
    int n = 0;
    for (auto& d : diagnostics) n += d.severity == Severity::kError;
    return n;
}
int ParseResult::warning_count() const { return static_cast<int>(diagnostics.size()) - error_count(); }
ParseResult parse_file(const std::string& path, const ParseOptions&) {
    ParseResult r;
    r.config.set_source_file(path);
    return r;
}
ParseResult parse_string(std::string_view, const std::string& name, const ParseOptions& o) { return parse_file(name, o); }
std::string format_diagnostic(const Diagnostic& d) { return d.file + ":" + std::to_string(d.line) + "\n"; }
std::string to_json(const vigil::config::Config& config) {
    std::string out;
    google::protobuf::util::JsonPrintOptions o;
    o.add_whitespace = true;
    o.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(config, &out, o);
    return out;
}
}  // namespace vigil::common::config
