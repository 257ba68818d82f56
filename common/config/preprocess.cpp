#include "common/config/preprocess.hpp"

#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace vigil::common::config {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
bool is_name_start(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9');
}

std::string_view trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return s.substr(b, e - b);
}

// Splits the inside of ~SEQ(...) / ~LST(...) at commas outside braces.
std::vector<std::string_view> split_args(std::string_view s) {
    std::vector<std::string_view> out;
    int depth = 0;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '{') ++depth;
        if (s[i] == '}') --depth;
        if (s[i] == ',' && depth == 0) {
            out.push_back(trim(s.substr(start, i - start)));
            start = i + 1;
        }
    }
    out.push_back(trim(s.substr(start)));
    return out;
}

std::vector<std::string_view> unbrace(std::string_view s) {
    if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
        auto inner = s.substr(1, s.size() - 2);
        std::vector<std::string_view> out;
        size_t start = 0;
        for (size_t i = 0; i <= inner.size(); ++i) {
            if (i == inner.size() || inner[i] == ',') {
                out.push_back(trim(inner.substr(start, i - start)));
                start = i + 1;
            }
        }
        return out;
    }
    return {s};
}

bool parse_int(std::string_view s, long long& v) {
    std::string tmp(s);
    if (tmp.empty()) return false;
    char* end = nullptr;
    errno = 0;
    v = std::strtoll(tmp.c_str(), &end, 0);
    return errno == 0 && end && *end == '\0' && v > -(1LL << 40) && v < (1LL << 40);
}

std::string host_short_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0) return {};
    std::string name(buf);
    return name.substr(0, name.find('.'));
}

}  // namespace

Preprocessor::Preprocessor(LineSink& sink, Reporter& reporter, std::deque<std::string>& storage,
                           const LexOptions& options)
    : sink_(sink), reporter_(reporter), storage_(storage), options_(options) {
    config_id_ = options.config_id.empty() ? host_short_name() : options.config_id;
}

size_t Preprocessor::invalid_utf8(std::string_view s) {
    size_t i = 0;
    const size_t n = s.size();
    while (i < n) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
        if (len == 0 || i + len > n) return i;
        auto c1 = static_cast<unsigned char>(s[i + 1]);
        // Overlong forms, surrogates and code points above U+10FFFF are invalid.
        if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) || (c == 0xf0 && c1 < 0x90) ||
            (c == 0xf4 && c1 > 0x8f))
            return i;
        for (size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return i;
        i += len;
    }
    return std::string_view::npos;
}

std::string_view Preprocessor::strip_comment(std::string_view line) {
    char quote = 0;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quote) {
            if (c == '\\') {
                ++i;
            } else if (c == quote) {
                quote = 0;
            }
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '#' || c == '!') {
            return line.substr(0, i);
        }
    }
    return line;
}

void Preprocessor::run_file(std::string_view text, uint32_t file, const std::string& dir, int include_depth) {
    uint32_t lineno = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view raw = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++lineno;
        if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
        if (size_t bad = invalid_utf8(raw); bad != std::string_view::npos) {
            reporter_.error({file, lineno, static_cast<uint32_t>(bad + 1), {}},
                            "this line is not valid UTF-8 text (ignored)");
            continue;
        }
        auto body = strip_comment(raw);
        if (pending_) {
            auto t = trim(body);
            bool more = !t.empty() && t.back() == '\\';
            if (more) t.remove_suffix(1);
            if (!pending_value_.empty()) pending_value_ += '\n';
            pending_value_ += t;
            if (!more) {
                params_[pending_name_] = std::move(pending_value_);
                pending_value_.clear();
                pending_ = false;
            }
            continue;
        }
        size_t first = 0;
        while (first < raw.size() && is_space(raw[first])) ++first;
        LineOrigin o{file, lineno, raw, static_cast<uint32_t>(first + 1), &dir, include_depth};
        logical(body, o, 0);
    }
    if (pending_) {
        // A definition whose last line still ended in '\': it ends with its file.
        params_[pending_name_] = std::move(pending_value_);
        pending_value_.clear();
        pending_ = false;
    }
}

bool Preprocessor::budget(size_t lines, const LineOrigin& o) {
    if (generated_ + lines <= options_.limits.max_generated_lines) {
        generated_ += lines;
        return true;
    }
    if (!budget_reported_) {
        reporter_.error({o.file, o.line, o.fallback_col, o.text},
                        "repetition and multi-line parameters produce more than " +
                            std::to_string(options_.limits.max_generated_lines) + " lines");
        budget_reported_ = true;
    }
    return false;
}

void Preprocessor::logical(std::string_view text, const LineOrigin& o, int depth) {
    if (depth > options_.limits.max_expansion_depth) {
        reporter_.error({o.file, o.line, o.fallback_col, o.text},
                        "parameters and repetitions are nested too deeply (a parameter that uses itself?)");
        return;
    }
    auto t = trim(text);
    if (t.empty()) return;
    if (t[0] == '@') {
        size_t e = 1;
        while (e < t.size() && !is_space(t[e])) ++e;
        auto id = t.substr(1, e - 1);
        bool negate = !id.empty() && id[0] == '^';
        if (negate) id.remove_prefix(1);
        bool match = id == config_id_;
        if (match == negate) return;
        t = trim(t.substr(e));
        if (t.empty()) return;
    }
    if (t[0] == '$' && definition(t, o)) return;
    if (t[0] == '~' &&
        (t.substr(0, 5) == "~SEQ(" || t.substr(0, 6) == "~SEQx(" || t.substr(0, 5) == "~LST(")) {
        repeat(t, o, depth);
        return;
    }
    if (t.find('$') != std::string_view::npos) {
        std::string out;
        if (!substitute(t, o, out)) return;
        if (out != t) {
            storage_.push_back(std::move(out));
            std::string_view s = storage_.back();
            size_t pos = 0;
            while (pos <= s.size()) {
                size_t nl = s.find('\n', pos);
                if (nl == std::string_view::npos) nl = s.size();
                if (depth > 0 || nl != s.size() || pos != 0) {
                    if (!budget(1, o)) return;
                }
                logical(s.substr(pos, nl - pos), o, depth + 1);
                pos = nl + 1;
            }
            return;
        }
    }
    sink_.line(t, o);
}

bool Preprocessor::definition(std::string_view t, const LineOrigin& o) {
    size_t i = 1;
    if (i >= t.size() || !is_name_start(t[i])) return false;
    while (i < t.size() && is_name_char(t[i])) ++i;
    if (i >= t.size() || t[i] != '=') return false;
    std::string name(t.substr(1, i - 1));
    auto value = trim(t.substr(i + 1));
    if (!value.empty() && value.back() == '\\') {
        value.remove_suffix(1);
        pending_ = true;
        pending_name_ = std::move(name);
        pending_value_ = std::string(trim(value));
        return true;
    }
    (void)o;
    params_[std::move(name)] = std::string(value);
    return true;
}

void Preprocessor::repeat(std::string_view t, const LineOrigin& o, int depth) {
    bool lst = t[1] == 'L';
    bool hex = t[4] == 'x';
    size_t open = t.find('(');
    size_t close = std::string_view::npos;
    int braces = 0;
    for (size_t i = open + 1; i < t.size(); ++i) {
        if (t[i] == '{') ++braces;
        if (t[i] == '}') --braces;
        if (t[i] == ')' && braces == 0) {
            close = i;
            break;
        }
    }
    SourceLoc loc{o.file, o.line, o.fallback_col, o.text};
    std::string_view kind = lst ? "~LST" : (hex ? "~SEQx" : "~SEQ");
    if (close == std::string_view::npos) {
        reporter_.error(loc, std::string(kind) + "( has no closing ')'");
        return;
    }
    auto args = split_args(t.substr(open + 1, close - open - 1));
    auto rest = t.substr(close + 1);
    if (lst) {
        auto vars = unbrace(args[0]);
        if (args.size() < 2 || vars.empty() || vars[0].empty()) {
            reporter_.error(loc, "~LST needs a variable and at least one value: ~LST(VAR, V1, V2, ...)");
            return;
        }
        if (!budget(args.size() - 1, o)) return;
        for (size_t k = 1; k < args.size(); ++k) {
            auto vals = unbrace(args[k]);
            if (vals.size() != vars.size()) {
                reporter_.error(
                    loc, "~LST value " + std::string(args[k]) + " does not give one value per variable");
                return;
            }
            for (size_t v = 0; v < vars.size(); ++v) params_[std::string(vars[v])] = std::string(vals[v]);
            logical(rest, o, depth + 1);
        }
        return;
    }
    long long start = 0, step = 0, end = 0;
    bool ok = args.size() >= 2 && args.size() <= 4 && !args[0].empty();
    if (ok && args.size() == 2) {
        ok = parse_int(args[1], end);
        start = end < 0 ? -1 : 1;
    } else if (ok && args.size() == 3) {
        ok = parse_int(args[1], start) && parse_int(args[2], end);
    } else if (ok) {
        ok = parse_int(args[1], start) && parse_int(args[2], step) && parse_int(args[3], end);
        if (ok && step == 0) ok = false;
    }
    if (!ok) {
        reporter_.error(
            loc,
            std::string(kind) + " needs (VAR, [START, [STEP,]] END) with integer values and a non-zero step");
        return;
    }
    if (step == 0) step = end >= start ? 1 : -1;
    if ((step > 0 && start > end) || (step < 0 && start < end)) return;
    unsigned long long count = static_cast<unsigned long long>((end - start) / step) + 1;
    if (!budget(static_cast<size_t>(count), o)) return;
    std::string var(args[0]);
    char buf[32];
    for (long long v = start; step > 0 ? v <= end : v >= end; v += step) {
        if (hex) {
            std::snprintf(buf, sizeof buf, v < 0 ? "-%llx" : "%llx",
                          static_cast<unsigned long long>(v < 0 ? -v : v));
        } else {
            std::snprintf(buf, sizeof buf, "%lld", v);
        }
        params_[var] = buf;
        logical(rest, o, depth + 1);
    }
}

const std::string* Preprocessor::lookup(std::string_view name, const LineOrigin& o) {
    if (!name.empty() && name[0] == '_') {
        if (name == "_PWD") return o.dir;
        if (name == "_INSTANCE") return &config_id_;
        if (name == "_HASH") return &(scratch_ = "#");
        if (name == "_BANG") return &(scratch_ = "!");
        if (name.substr(0, 7) == "_RANDOM" && (name.size() == 7 || is_space(name[7]))) {
            long long lo = 0, hi = 32767;
            auto args = trim(name.substr(7));
            if (!args.empty()) {
                size_t sp = args.find(' ');
                if (!parse_int(args.substr(0, sp), lo)) lo = 0;
                if (sp != std::string_view::npos && !parse_int(trim(args.substr(sp)), hi)) hi = 32767;
            }
            if (hi < lo) hi = lo;
            random_state_ = random_state_ * 1103515245u + 12345u;
            long long v = lo + static_cast<long long>(random_state_ >> 8) % (hi - lo + 1);
            return &(scratch_ = std::to_string(v));
        }
    }
    auto it = params_.find(std::string(name));
    return it == params_.end() ? nullptr : &it->second;
}

bool Preprocessor::substitute(std::string_view t, const LineOrigin& o, std::string& out) {
    out.assign(t);
    size_t pos = 0;
    int rounds = 0;
    while ((pos = out.find('$', pos)) != std::string::npos) {
        size_t name_begin, name_end, repl_end;
        if (pos + 1 < out.size() && out[pos + 1] == '{') {
            size_t close = out.find('}', pos + 2);
            if (close == std::string::npos) break;
            name_begin = pos + 2;
            name_end = close;
            repl_end = close + 1;
        } else {
            name_begin = pos + 1;
            name_end = name_begin;
            while (name_end < out.size() && is_name_char(out[name_end])) ++name_end;
            // `$NAME` must be followed by whitespace (or the end): otherwise `${NAME}` is needed.
            if (name_end == name_begin || (name_end < out.size() && !is_space(out[name_end]))) {
                ++pos;
                continue;
            }
            repl_end = name_end;
        }
        const std::string* value = lookup(std::string_view(out).substr(name_begin, name_end - name_begin), o);
        if (!value) {
            ++pos;
            continue;
        }
        if (++rounds > 1000 ||
            out.size() - (repl_end - pos) + value->size() > options_.limits.max_line_length) {
            reporter_.error({o.file, o.line, o.fallback_col, o.text},
                            "parameter substitution does not end (a parameter that contains itself?)");
            return false;
        }
        std::string v = *value;  // a copy: `value` may point into params_ or scratch_
        out.replace(pos, repl_end - pos, v);
        // A multi-line value: its lines are processed one by one, so that definitions inside it take effect
        // before the lines that follow them are substituted.
        if (v.find('\n') != std::string::npos) return true;
    }
    return true;
}

}  // namespace vigil::common::config
