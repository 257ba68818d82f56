#include "common/config/values.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace vigil::common::config {

namespace cfg = vigil::config;

void Ctx::set_location(cfg::Location* out, const Node& n) const {
    // The main file is index 0: leaving its name out keeps tens of thousands of copies of it out of memory.
    if (n.file != 0) out->set_file(reporter.file_name(n.file));
    out->set_line(n.line);
    out->set_column(n.keyword.col);
}

bool Ctx::define(NameKind kind, std::string_view name, const SourceLoc& loc, std::string_view what) {
    auto [it, fresh] = names[static_cast<size_t>(kind)].emplace(std::string(name), keep(loc));
    if (fresh) return true;
    error(loc, std::string(what) + " '" + std::string(name) + "' is already defined at " +
                   reporter.file_name(it->second.file) + ":" + std::to_string(it->second.line));
    return false;
}

bool want_args(Ctx& ctx, const Node& n, size_t min, size_t max) {
    if (n.args.size() >= min && n.args.size() <= max) return true;
    std::string kw(n.keyword.text);
    std::string msg;
    if (n.args.size() < min) {
        msg = "'" + kw + "' needs " + (min == max ? "" : "at least ") + std::to_string(min) + " argument" +
              (min == 1 ? "" : "s");
        ctx.error(n.loc(), std::move(msg));
    } else {
        msg = "'" + kw + "' takes " + (min == max ? "" : "at most ") + std::to_string(max) + " argument" +
              (max == 1 ? "" : "s") + "; '" + std::string(n.args[max].text) + "' is one too many";
        ctx.error(n.arg_loc(max), std::move(msg));
    }
    return false;
}

bool want_block(Ctx& ctx, const Node& n, bool block) {
    if (n.has_block == block) return true;
    if (block) {
        ctx.error(n.loc(), "'" + std::string(n.keyword.text) + "' needs a { } block");
    } else {
        ctx.error(n.loc(), "'" + std::string(n.keyword.text) + "' does not take a { } block");
    }
    return false;
}

namespace {

std::optional<long long> to_integer(std::string_view s) {
    long long v = 0;
    if (s.empty()) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

std::optional<uint32_t> uint_arg(Ctx& ctx, const Node& n, size_t i, uint32_t min, uint32_t max) {
    if (i >= n.args.size()) {
        want_args(ctx, n, i + 1, i + 1);
        return std::nullopt;
    }
    auto text = n.args[i].text;
    auto v = to_integer(text);
    if (!v) {
        ctx.error(n.arg_loc(i),
                  "'" + std::string(n.keyword.text) + "' expects a number, not '" + std::string(text) + "'");
        return std::nullopt;
    }
    if (*v < static_cast<long long>(min) || *v > static_cast<long long>(max)) {
        ctx.error(n.arg_loc(i), std::string(n.keyword.text) + " " + std::string(text) + " is out of range " +
                                    std::to_string(min) + ".." + std::to_string(max));
        return std::nullopt;
    }
    return static_cast<uint32_t>(*v);
}

std::optional<int32_t> int_arg(Ctx& ctx, const Node& n, size_t i, int32_t min, int32_t max) {
    if (i >= n.args.size()) {
        want_args(ctx, n, i + 1, i + 1);
        return std::nullopt;
    }
    auto text = n.args[i].text;
    auto v = to_integer(text.size() > 1 && text[0] == '+' ? text.substr(1) : text);
    if (!v) {
        ctx.error(n.arg_loc(i),
                  "'" + std::string(n.keyword.text) + "' expects a number, not '" + std::string(text) + "'");
        return std::nullopt;
    }
    if (*v < min || *v > max) {
        ctx.error(n.arg_loc(i), std::string(n.keyword.text) + " " + std::string(text) + " is out of range " +
                                    std::to_string(min) + ".." + std::to_string(max));
        return std::nullopt;
    }
    return static_cast<int32_t>(*v);
}

std::optional<uint32_t> timer_ms(Ctx& ctx, const Node& n, size_t i, uint64_t min_ms, uint64_t max_ms) {
    if (i >= n.args.size()) {
        want_args(ctx, n, i + 1, i + 1);
        return std::nullopt;
    }
    auto text = n.args[i].text;
    // Seconds with up to 6 decimals (keepalived's timer resolution is the microsecond), rounded to ms.
    uint64_t whole = 0, frac_us = 0;
    size_t k = 0;
    bool digits = false;
    while (k < text.size() && text[k] >= '0' && text[k] <= '9' && whole < 100000000) {
        whole = whole * 10 + static_cast<uint64_t>(text[k++] - '0');
        digits = true;
    }
    if (k < text.size() && text[k] == '.') {
        ++k;
        uint64_t scale = 100000;
        while (k < text.size() && text[k] >= '0' && text[k] <= '9') {
            frac_us += static_cast<uint64_t>(text[k++] - '0') * scale;
            scale /= 10;
            digits = true;
        }
    }
    if (!digits || k != text.size()) {
        ctx.error(n.arg_loc(i), "'" + std::string(n.keyword.text) + "' expects a time in seconds, not '" +
                                    std::string(text) + "'");
        return std::nullopt;
    }
    uint64_t ms = whole * 1000 + (frac_us + 500) / 1000;
    if (ms < min_ms || ms > max_ms) {
        auto fmt = [](uint64_t v) {
            std::string s = std::to_string(v / 1000);
            if (v % 1000) {
                char buf[8];
                std::snprintf(buf, sizeof buf, ".%03u", static_cast<unsigned>(v % 1000));
                s += buf;
                while (s.back() == '0') s.pop_back();
            }
            return s;
        };
        ctx.error(n.arg_loc(i), std::string(n.keyword.text) + " " + std::string(text) + " is out of range " +
                                    fmt(min_ms) + ".." + fmt(max_ms) + " seconds");
        return std::nullopt;
    }
    return static_cast<uint32_t>(ms);
}

std::optional<bool> bool_arg(Ctx& ctx, const Node& n, size_t i) {
    if (i >= n.args.size()) return true;
    auto t = n.args[i].text;
    if (t == "on" || t == "true" || t == "yes") return true;
    if (t == "off" || t == "false" || t == "no") return false;
    ctx.error(n.arg_loc(i), "'" + std::string(n.keyword.text) + "' expects on|off|true|false|yes|no, not '" +
                                std::string(t) + "'");
    return std::nullopt;
}

std::optional<Address> parse_address(std::string_view text, bool allow_prefix, std::string* why) {
    Address a;
    std::string addr(text);
    auto slash = addr.find('/');
    if (slash != std::string::npos) {
        if (!allow_prefix) {
            if (why) *why = "a prefix length is not allowed here";
            return std::nullopt;
        }
        auto p = to_integer(std::string_view(addr).substr(slash + 1));
        if (!p || *p < 0 || *p > 128) {
            if (why) *why = "'" + addr.substr(slash + 1) + "' is not a prefix length";
            return std::nullopt;
        }
        a.prefix = static_cast<uint32_t>(*p);
        a.has_prefix = true;
        addr.resize(slash);
    }
    unsigned char buf[16];
    char out[INET6_ADDRSTRLEN];
    if (::inet_pton(AF_INET, addr.c_str(), buf) == 1) {
        a.family = cfg::INET;
        ::inet_ntop(AF_INET, buf, out, sizeof out);
        if (a.has_prefix && a.prefix > 32) {
            if (why) *why = "prefix /" + std::to_string(a.prefix) + " is longer than 32";
            return std::nullopt;
        }
        if (!a.has_prefix) a.prefix = 32;
    } else if (::inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
        a.family = cfg::INET6;
        ::inet_ntop(AF_INET6, buf, out, sizeof out);
        if (!a.has_prefix) a.prefix = 128;
    } else {
        if (why) *why = "'" + addr + "' is not an IPv4 or IPv6 address";
        return std::nullopt;
    }
    a.text = out;
    return a;
}

std::optional<Address> address_arg(Ctx& ctx, const Node& n, size_t i, bool allow_prefix) {
    if (i >= n.args.size()) {
        want_args(ctx, n, i + 1, i + 1);
        return std::nullopt;
    }
    std::string why;
    auto a = parse_address(n.args[i].text, allow_prefix, &why);
    if (!a) ctx.error(n.arg_loc(i), why);
    return a;
}

std::string join_args(const Node& n, size_t from) {
    std::string s;
    for (size_t i = from; i < n.args.size(); ++i) {
        if (i > from) s += ' ';
        s += n.args[i].text;
    }
    return s;
}

void add_other(Ctx& ctx, Statements* other, const Node& n) {
    auto* st = other->Add();
    st->set_keyword(std::string(n.keyword.text));
    for (const auto& a : n.args) st->add_args(std::string(a.text));
    ctx.set_location(st->mutable_location(), n);
    for (const auto& c : n.children) add_other(ctx, st->mutable_children(), c);
}

void unknown_keyword(Ctx& ctx, const Node& n, Section section) {
    ctx.reporter.report(ctx.options.strict, n.loc(),
                        "unknown keyword '" + std::string(n.keyword.text) + "' in " +
                            std::string(section_name(section)) + (ctx.options.strict ? "" : " (ignored)"));
}

void not_acted_on(Ctx& ctx, const Node& n, Section section) {
    ctx.warning(n.loc(), "'" + std::string(n.keyword.text) + "' in " + std::string(section_name(section)) +
                             " is accepted but vigil does not act on it");
}

}  // namespace vigil::common::config
