#include "common/config/diagnostics.hpp"

#include <algorithm>

namespace vigil::common::config {

uint32_t Reporter::add_file(std::string name) {
    files_.push_back(std::move(name));
    return static_cast<uint32_t>(files_.size() - 1);
}

void Reporter::error(const SourceLoc& loc, std::string message) {
    report(true, loc, std::move(message));
}

void Reporter::warning(const SourceLoc& loc, std::string message) {
    report(false, loc, std::move(message));
}

void Reporter::report(bool is_error, const SourceLoc& loc, std::string message) {
    if (is_error) ++errors_;
    if (out_.size() >= kMaxDiagnostics) {
        // Past the cap only errors still count (the verdict), nothing more is stored.
        return;
    }
    Diagnostic d;
    d.severity = is_error ? Severity::kError : Severity::kWarning;
    d.file = loc.file < files_.size() ? files_[loc.file] : std::string();
    d.line = static_cast<int>(loc.line);
    d.column = static_cast<int>(std::max<uint32_t>(loc.col, 1));
    d.message = std::move(message);
    d.source_line = std::string(loc.line_text);
    out_.push_back(std::move(d));
}

std::string format_diagnostic(const Diagnostic& d) {
    std::string out;
    out.reserve(d.file.size() + d.message.size() + 2 * d.source_line.size() + 40);
    out += d.file;
    out += ':';
    out += std::to_string(d.line);
    out += ':';
    out += std::to_string(d.column);
    out += d.severity == Severity::kError ? ": error: " : ": warning: ";
    out += d.message;
    out += '\n';
    if (d.line > 0) {
        out += d.source_line;
        out += '\n';
        // Tabs stay tabs under the caret so that it lines up with the text above.
        for (int i = 0; i + 1 < d.column; ++i) {
            bool tab = static_cast<size_t>(i) < d.source_line.size() && d.source_line[i] == '\t';
            out += tab ? '\t' : ' ';
        }
        out += "^\n";
    }
    return out;
}

}  // namespace vigil::common::config
