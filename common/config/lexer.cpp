#include "common/config/lexer.hpp"

#include <fcntl.h>
#include <glob.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "common/config/preprocess.hpp"

namespace vigil::common::config {
namespace {

constexpr size_t kMaxFileSize = 256u << 20;

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string_view trim_left(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && is_space(s[i])) ++i;
    return s.substr(i);
}

std::string dir_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// Builds the statement tree from the tokens of each logical line.
class TreeBuilder {
  public:
    TreeBuilder(SourceTree& tree, Reporter& reporter, size_t max_depth, const TopSink& sink)
        : reporter_(reporter), max_depth_(max_depth), sink_(sink) {
        stack_.push_back({&tree.top, {}});
    }

    // Hands the completed top-level statements to the sink (when there is one) and forgets them.
    void flush() {
        if (!sink_ || stack_.size() != 1) return;
        auto* list = stack_.front().list;
        if (list->empty()) return;
        for (const auto& n : *list) sink_(n);
        list->clear();
        flushed_ = true;
        current_ = nullptr;
    }

    // True (once) after top-level statements were handed to the sink.
    bool take_flushed() { return std::exchange(flushed_, false); }

    void begin_line(uint32_t file, uint32_t line, std::string_view text) {
        file_ = file;
        line_ = line;
        text_ = text;
        stmt_open_ = false;
    }

    void word(Word w) {
        if (!stmt_open_ || !current_) {
            flush();
            auto* list = stack_.back().list;
            list->emplace_back();
            current_ = &list->back();
            current_->keyword = w;
            current_->file = file_;
            current_->line = line_;
            current_->line_text = text_;
            stmt_open_ = true;
            return;
        }
        current_->args.push_back(w);
    }

    // A trailing ';' ends the statement (a habit from other languages: keepalived has none).
    void end_statement() { stmt_open_ = false; }

    void open(uint32_t col) {
        SourceLoc loc{file_, line_, col, text_};
        auto* list = stack_.back().list;
        bool owner_ok = current_ && !current_->has_block && !list->empty() && current_ == &list->back();
        if (stack_.size() > max_depth_) {
            reporter_.error(loc,
                            "blocks are nested too deeply (more than " + std::to_string(max_depth_) + ")");
            owner_ok = false;
        } else if (!owner_ok) {
            reporter_.error(loc, "'{' does not follow a keyword that opens a block");
        }
        if (owner_ok) {
            current_->has_block = true;
            stack_.push_back({&current_->children, loc});
        } else {
            junk_.emplace_back();
            stack_.push_back({&junk_.back(), loc});
        }
        current_ = nullptr;
        stmt_open_ = false;
    }

    void close(uint32_t col) {
        if (stack_.size() == 1) {
            reporter_.error({file_, line_, col, text_}, "'}' without a matching '{'");
        } else {
            stack_.pop_back();
        }
        current_ = nullptr;
        stmt_open_ = false;
    }

    void finish() {
        for (size_t i = stack_.size(); i-- > 1;) {
            reporter_.error(stack_[i].open, "this '{' is never closed: a '}' is missing");
        }
        stack_.resize(1);
        flush();
    }

  private:
    struct Frame {
        std::vector<Node>* list;
        SourceLoc open;
    };
    Reporter& reporter_;
    size_t max_depth_;
    const TopSink& sink_;
    std::vector<Frame> stack_;
    std::deque<std::vector<Node>> junk_;  // children of a '{' that has no owner, kept only to balance braces
    Node* current_ = nullptr;
    bool stmt_open_ = false;
    bool flushed_ = false;
    uint32_t file_ = 0, line_ = 0;
    std::string_view text_;
};

class Lexer final : public LineSink {
  public:
    Lexer(const LexOptions& options, Reporter& reporter, SourceTree& tree, const TopSink& sink)
        : options_(options),
          reporter_(reporter),
          tree_(tree),
          builder_(tree, reporter, options.limits.max_block_depth, sink),
          pre_(*this, reporter, tree.storage, options) {}

    void read_file(const std::string& path, const SourceLoc* from, int depth) {
        struct stat st {};
        std::string problem;
        if (::stat(path.c_str(), &st) != 0) {
            problem = std::strerror(errno);
        } else if (!S_ISREG(st.st_mode)) {
            problem = "not a regular file";
        } else if (static_cast<size_t>(st.st_size) > kMaxFileSize) {
            problem = "file too large";
        }
        FileBuffer buffer;
        if (problem.empty()) {
            int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0 || !buffer.read(fd, static_cast<size_t>(st.st_size))) problem = std::strerror(errno);
            if (fd >= 0) ::close(fd);
        }
        if (!problem.empty()) {
            if (from) {
                reporter_.error(*from, "cannot read included file " + path + ": " + problem);
            } else {
                SourceLoc loc{reporter_.add_file(path), 0, 1, {}};
                reporter_.error(loc, "cannot read " + path + ": " + problem);
            }
            return;
        }
        tree_.files.push_back(std::move(buffer));
        FileBuffer* saved = buffer_;
        buffer_ = &tree_.files.back();
        process_text(buffer_->text(), path, depth);
        buffer_ = saved;
    }

    void process_text(std::string_view text, const std::string& path, int depth) {
        uint32_t file = reporter_.add_file(path);
        std::string dir = dir_of(path);
        pre_.run_file(text, file, dir, depth);
    }

    void finish() {
        pre_.finish();
        builder_.finish();
    }

    // LineSink: one logical line, after conditionals, parameters and repetition.
    void line(std::string_view text, const LineOrigin& origin) override {
        builder_.begin_line(origin.file, origin.line, origin.text);
        auto rest = trim_left(text);
        if (is_include(rest)) {
            include(rest, origin);
            return;
        }
        tokenize(text, origin);
        // A top-level block was completed (and parsed) by this line: the text before this line is not needed
        // any more, the new block starts on it.
        if (buffer_ && builder_.take_flushed()) buffer_->release_before(origin.text.data());
    }

  private:
    static bool is_include(std::string_view s) {
        if (s.substr(0, 7) != "include") return false;
        size_t i = 7;
        if (i < s.size() && std::strchr("rmwba", s[i]) && s[i] != '\0') ++i;
        return i < s.size() && is_space(s[i]);
    }

    uint32_t col_of(const char* p, const LineOrigin& o) const {
        std::less_equal<const char*> le;
        if (le(o.text.data(), p) && le(p, o.text.data() + o.text.size())) {
            return static_cast<uint32_t>(p - o.text.data()) + 1;
        }
        return o.fallback_col;
    }

    void include(std::string_view rest, const LineOrigin& o) {
        bool strict_include = rest[7] != ' ' && rest[7] != '\t' && rest[7] != 'r';
        std::vector<Word> words = split_words(rest, o);
        if (words.size() < 2) {
            reporter_.error({o.file, o.line, words.empty() ? 1 : words[0].col, o.text},
                            "include needs a file name");
            return;
        }
        if (!options_.allow_include) {
            reporter_.error({o.file, o.line, words[0].col, o.text}, "include is disabled here");
            return;
        }
        for (size_t i = 1; i < words.size(); ++i) {
            SourceLoc loc{o.file, o.line, words[i].col, o.text};
            if (o.include_depth + 1 > options_.limits.max_include_depth) {
                reporter_.error(loc, "includes are nested too deeply (more than " +
                                         std::to_string(options_.limits.max_include_depth) +
                                         "): does a file include itself?");
                return;
            }
            std::string pattern(words[i].text);
            if (pattern.empty()) continue;
            if (pattern[0] != '/') pattern = *o.dir + "/" + pattern;
            glob_t g{};
            int rc = ::glob(pattern.c_str(), GLOB_BRACE | GLOB_TILDE, nullptr, &g);
            if (rc != 0) {
                reporter_.report(strict_include, loc,
                                 "include '" + std::string(words[i].text) + "' matched no file");
            } else {
                std::vector<std::string> files(g.gl_pathv, g.gl_pathv + g.gl_pathc);
                ::globfree(&g);
                for (const auto& f : files) read_file(f, &loc, o.include_depth + 1);
                builder_.begin_line(o.file, o.line, o.text);
                continue;
            }
            ::globfree(&g);
        }
    }

    // Splits on whitespace, honouring quotes (used for include arguments).
    std::vector<Word> split_words(std::string_view s, const LineOrigin& o) {
        std::vector<Word> out;
        scan(
            s, o, [&](Word w) { out.push_back(w); }, [](uint32_t) {}, [](uint32_t) {}, [](uint32_t) {});
        return out;
    }

    void tokenize(std::string_view s, const LineOrigin& o) {
        scan(
            s, o, [&](Word w) { builder_.word(w); }, [&](uint32_t c) { builder_.open(c); },
            [&](uint32_t c) { builder_.close(c); },
            [&](uint32_t c) {
                reporter_.warning(
                    {o.file, o.line, c, o.text},
                    "trailing ';' ignored: keepalived.conf statements end at the end of the line");
                builder_.end_statement();
            });
    }

    // The tokenizer proper: words (quotes removed, escapes applied inside quotes), braces, trailing ';'.
    template <class OnWord, class OnOpen, class OnClose, class OnSemi>
    void scan(std::string_view s, const LineOrigin& o, OnWord on_word, OnOpen on_open, OnClose on_close,
              OnSemi on_semi) {
        size_t i = 0;
        const size_t n = s.size();
        while (i < n) {
            char c = s[i];
            if (is_space(c)) {
                ++i;
                continue;
            }
            if (c == '{' || c == '}') {
                uint32_t col = col_of(s.data() + i, o);
                c == '{' ? on_open(col) : on_close(col);
                ++i;
                continue;
            }
            size_t start = i;
            bool plain = true;  // no quote or escape: the word is a view of the source
            bool last_unquoted_semi = false;
            char quote = 0;
            std::string buf;
            size_t j = i;
            for (; j < n; ++j) {
                char d = s[j];
                if (quote) {
                    if (d == quote) {
                        quote = 0;
                        continue;
                    }
                    if (d == '\\' && j + 1 < n) {
                        j = unescape(s, j, buf);
                        continue;
                    }
                    buf += d;
                    continue;
                }
                // A brace inside a word (`${NAME}`, `a{b}`) belongs to the word; one that starts a word is a
                // token.
                if (is_space(d)) break;
                if (d == '"' || d == '\'') {
                    if (plain) buf.assign(s.substr(start, j - start));
                    plain = false;
                    quote = d;
                    last_unquoted_semi = false;
                    continue;
                }
                last_unquoted_semi = d == ';';
                if (!plain) buf += d;
            }
            uint32_t col = col_of(s.data() + start, o);
            std::string_view text;
            if (plain) {
                text = s.substr(start, j - start);
            } else {
                if (Preprocessor::invalid_utf8(buf) != std::string::npos) {
                    reporter_.error({o.file, o.line, col_of(s.data() + start, o), o.text},
                                    "an escape in this string makes it invalid UTF-8");
                    buf.clear();
                }
                tree_.storage.push_back(std::move(buf));
                text = tree_.storage.back();
            }
            i = j;
            if (last_unquoted_semi) {
                text.remove_suffix(1);
                uint32_t semi_col = col_of(s.data() + j - 1, o);
                if (!text.empty() || !plain) on_word(Word{text, col});
                on_semi(semi_col);
                continue;
            }
            on_word(Word{text, col});
        }
    }

    // Applies the escape at s[j] ('\\') into `out`; returns the index of its last character.
    static size_t unescape(std::string_view s, size_t j, std::string& out) {
        char e = s[j + 1];
        auto hexval = [](char h) -> int {
            if (h >= '0' && h <= '9') return h - '0';
            if (h >= 'a' && h <= 'f') return h - 'a' + 10;
            if (h >= 'A' && h <= 'F') return h - 'A' + 10;
            return -1;
        };
        switch (e) {
            case 'a':
                out += '\a';
                return j + 1;
            case 'b':
                out += '\b';
                return j + 1;
            case 'E':
                out += '\x1b';
                return j + 1;
            case 'f':
                out += '\f';
                return j + 1;
            case 'n':
                out += '\n';
                return j + 1;
            case 'r':
                out += '\r';
                return j + 1;
            case 't':
                out += '\t';
                return j + 1;
            case 'v':
                out += '\v';
                return j + 1;
            case 'x': {
                size_t k = j + 2;
                int v = 0;
                while (k < s.size() && hexval(s[k]) >= 0 && k < j + 4) v = v * 16 + hexval(s[k++]);
                if (k == j + 2) {
                    out += 'x';
                    return j + 1;
                }
                out += static_cast<char>(v);
                return k - 1;
            }
            case 'c':
                if (j + 2 < s.size()) {
                    out += static_cast<char>(s[j + 2] & 0x1f);
                    return j + 2;
                }
                out += 'c';
                return j + 1;
            default:
                if (e >= '0' && e <= '7') {
                    size_t k = j + 1;
                    int v = 0;
                    while (k < s.size() && k < j + 4 && s[k] >= '0' && s[k] <= '7')
                        v = v * 8 + (s[k++] - '0');
                    out += static_cast<char>(v);
                    return k - 1;
                }
                out += e;
                return j + 1;
        }
    }

    const LexOptions& options_;
    Reporter& reporter_;
    SourceTree& tree_;
    TreeBuilder builder_;
    Preprocessor pre_;
    FileBuffer* buffer_ = nullptr;  // the file being read, when it can release what it has parsed
};

}  // namespace

FileBuffer::~FileBuffer() {
    if (data_) ::munmap(data_, size_ ? size_ : 1);
}

bool FileBuffer::read(int fd, size_t size) {
    void* p = ::mmap(nullptr, size ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    data_ = static_cast<char*>(p);
    size_t got = 0;
    while (got < size) {
        ssize_t n = ::read(fd, data_ + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    size_ = got;
    return true;
}

void FileBuffer::release_before(const char* upto) {
    static const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    if (!data_ || upto < data_ || upto > data_ + size_) return;
    size_t end = static_cast<size_t>(upto - data_) / kPage * kPage;
    // In steps of at least 256 KiB: one system call per many blocks.
    if (end < released_ + (256u << 10)) return;
    ::madvise(data_ + released_, end - released_, MADV_DONTNEED);
    released_ = end;
}

SourceTree lex_file(const std::string& path, const LexOptions& options, Reporter& reporter,
                    const TopSink& sink) {
    SourceTree tree;
    Lexer lexer(options, reporter, tree, sink);
    lexer.read_file(path, nullptr, 0);
    lexer.finish();
    return tree;
}

SourceTree lex_string(std::string_view text, const std::string& name, const LexOptions& options,
                      Reporter& reporter, const TopSink& sink) {
    SourceTree tree;
    Lexer lexer(options, reporter, tree, sink);
    tree.storage.emplace_back(text);
    lexer.process_text(tree.storage.back(), name, 0);
    lexer.finish();
    return tree;
}

}  // namespace vigil::common::config
