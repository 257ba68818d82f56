#pragma once
// Collects located diagnostics while the configuration is read.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.hpp"

namespace vigil::common::config {

// A place in the configuration text: which file, which line, which column, and the text of that line.
struct SourceLoc {
    uint32_t file = 0;  // index into Reporter::files()
    uint32_t line = 0;  // 1-based
    uint32_t col = 0;   // 1-based
    std::string_view line_text;
};

// Receives every problem found, in order, so that one run reports them all.
class Reporter {
  public:
    explicit Reporter(std::vector<Diagnostic>& out) : out_(out) {}

    // Registers a file name and returns its index for SourceLoc::file.
    uint32_t add_file(std::string name);
    // The name registered under `index`.
    const std::string& file_name(uint32_t index) const { return files_[index]; }

    // Records an error at `loc`.
    void error(const SourceLoc& loc, std::string message);
    // Records a warning at `loc`.
    void warning(const SourceLoc& loc, std::string message);
    // Records an error or a warning depending on `is_error`.
    void report(bool is_error, const SourceLoc& loc, std::string message);
    // Number of errors recorded so far.
    int errors() const { return errors_; }
    // True once so many diagnostics were recorded that more would only flood the output.
    bool saturated() const { return out_.size() >= kMaxDiagnostics; }

    static constexpr size_t kMaxDiagnostics = 10000;

  private:
    std::vector<Diagnostic>& out_;
    std::deque<std::string> files_;
    int errors_ = 0;
};

}  // namespace vigil::common::config
