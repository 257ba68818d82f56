#pragma once
// The first stage of reading keepalived.conf: the preprocessor (comments, include, $NAME parameters, @id
// conditional lines, ~SEQ/~LST repetition) and the tokenizer, which together turn text into a tree of
// statements. Every word keeps its location so that later stages report problems where the text stands.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/diagnostics.hpp"

namespace vigil::common::config {

// One word of a statement, as a view into text the SourceTree keeps alive.
struct Word {
    std::string_view text;
    uint32_t col = 0;  // 1-based column in the line of the statement
};

// A statement: a keyword, its arguments on the same line, and the statements of its `{ }` block, if any.
struct Node {
    Word keyword;
    std::vector<Word> args;
    std::vector<Node> children;
    bool has_block = false;
    uint32_t file = 0;
    uint32_t line = 0;
    std::string_view line_text;

    // Where the keyword stands.
    SourceLoc loc() const { return {file, line, keyword.col, line_text}; }
    // Where argument `i` stands (the keyword's place when there is no such argument).
    SourceLoc arg_loc(size_t i) const {
        return {file, line, i < args.size() ? args[i].col : keyword.col, line_text};
    }
};

// A file's text in anonymous memory of its own, so that the part already parsed can be given back to the
// system while the rest is read (a view into a released part reads as NUL bytes, never as freed memory).
class FileBuffer {
  public:
    FileBuffer() = default;
    FileBuffer(FileBuffer&& o) noexcept : data_(o.data_), size_(o.size_), released_(o.released_) {
        o.data_ = nullptr;
    }
    FileBuffer& operator=(FileBuffer&&) = delete;
    ~FileBuffer();
    // Reads the whole of `fd` (of `size` bytes); false with errno set on failure.
    bool read(int fd, size_t size);
    std::string_view text() const { return {data_, size_}; }
    // Gives back the whole pages before `upto` (a pointer into text()).
    void release_before(const char* upto);

  private:
    char* data_ = nullptr;
    size_t size_ = 0;
    size_t released_ = 0;
};

// The statements of a whole configuration, and the text they point into.
struct SourceTree {
    std::vector<Node> top;
    std::deque<std::string> storage;  // generated text; Word views point here
    std::deque<FileBuffer> files;     // file contents; Word views point here
};

// Limits that keep hostile input from exhausting memory or time.
struct LexLimits {
    int max_include_depth = 32;
    int max_expansion_depth = 32;          // nested parameter substitution / re-processing
    size_t max_generated_lines = 2000000;  // lines produced by ~SEQ/~LST and multi-line parameters
    size_t max_line_length = 256 << 10;    // after substitution
    size_t max_block_depth = 64;
};

struct LexOptions {
    std::string config_id;  // for @id lines; the host's short name when empty
    bool allow_include = true;
    LexLimits limits;
};

// Receives each top-level statement as soon as it is complete; it is then dropped, so that memory holds one
// top-level block at a time rather than the whole tree.
using TopSink = std::function<void(const Node&)>;

// Reads `path` (and what it includes) into a statement tree, reporting problems to `reporter`. With `sink`,
// the top-level statements go to it instead of SourceTree::top.
SourceTree lex_file(const std::string& path, const LexOptions& options, Reporter& reporter,
                    const TopSink& sink = {});

// Reads `text` as if it were the file `name`.
SourceTree lex_string(std::string_view text, const std::string& name, const LexOptions& options,
                      Reporter& reporter, const TopSink& sink = {});

}  // namespace vigil::common::config
