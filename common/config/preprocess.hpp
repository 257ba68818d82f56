#pragma once
// keepalived.conf's preprocessor: comments, `@id` / `@^id` conditional lines, `$NAME=value` parameters (also
// multi-line ones) with `$NAME` / `${NAME}` substitution, and `~SEQ(...)` / `~SEQx(...)` / `~LST(...)`
// repetition. It hands each resulting logical line to a LineSink together with where it came from.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/config/diagnostics.hpp"
#include "common/config/lexer.hpp"

namespace vigil::common::config {

// Where a logical line came from: the source line it was read from (or the line that expanded into it).
struct LineOrigin {
    uint32_t file = 0;
    uint32_t line = 0;
    std::string_view text;             // the raw source line, for the caret display
    uint32_t fallback_col = 1;         // column used for generated text that does not stand in `text`
    const std::string* dir = nullptr;  // folder of the file, for include and ${_PWD}
    int include_depth = 0;
};

// Receives logical lines.
class LineSink {
  public:
    virtual ~LineSink() = default;
    // One logical line, comments removed, conditionals applied, parameters substituted.
    virtual void line(std::string_view text, const LineOrigin& origin) = 0;
};

class Preprocessor {
  public:
    Preprocessor(LineSink& sink, Reporter& reporter, std::deque<std::string>& storage,
                 const LexOptions& options);

    // Processes the text of one file, line by line. Parameters stay defined across files, as in keepalived.
    void run_file(std::string_view text, uint32_t file, const std::string& dir, int include_depth);
    // Ends any definition left open.
    void finish() {}

    // The offset of the first byte of `s` that is not valid UTF-8, or npos when all of it is valid. The
    // model's strings are protobuf strings, which must be UTF-8 (a child would refuse the config otherwise).
    static size_t invalid_utf8(std::string_view s);

    // Returns `line` without its comment (`#` or `!` outside quotes to the end of the line).
    static std::string_view strip_comment(std::string_view line);

  private:
    void logical(std::string_view text, const LineOrigin& o, int depth);
    bool definition(std::string_view t, const LineOrigin& o);
    void repeat(std::string_view t, const LineOrigin& o, int depth);
    // Substitutes parameters; returns false (after reporting) when substitution does not end.
    bool substitute(std::string_view t, const LineOrigin& o, std::string& out);
    const std::string* lookup(std::string_view name, const LineOrigin& o);
    bool budget(size_t lines, const LineOrigin& o);

    LineSink& sink_;
    Reporter& reporter_;
    std::deque<std::string>& storage_;
    const LexOptions& options_;
    std::string config_id_;
    std::unordered_map<std::string, std::string> params_;
    std::string scratch_;  // value of the predefined parameter being substituted
    uint32_t random_state_ = 12345;
    size_t generated_ = 0;
    bool budget_reported_ = false;
    // A multi-line definition being read.
    std::string pending_name_;
    std::string pending_value_;
    bool pending_ = false;
};

}  // namespace vigil::common::config
