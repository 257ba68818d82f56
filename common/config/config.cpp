// The parser's entry points: text -> statement tree (lexer) -> model (section parsers) -> whole-file checks.

#include "common/config/config.hpp"

#include <google/protobuf/util/json_util.h>

#include "common/config/lexer.hpp"
#include "common/config/sections.hpp"

namespace vigil::common::config {

namespace cfg = vigil::config;

bool ParseResult::ok() const {
    return error_count() == 0;
}

int ParseResult::error_count() const {
    int n = 0;
    for (const auto& d : diagnostics) n += d.severity == Severity::kError;
    return n;
}

int ParseResult::warning_count() const {
    return static_cast<int>(diagnostics.size()) - error_count();
}

namespace {

void static_list(Ctx& ctx, const Node& n) {
    if (!want_args(ctx, n, 0, 0) || !want_block(ctx, n, true)) return;
    auto kw = n.keyword.text;
    for (const auto& e : n.children) {
        if (kw == "static_ipaddress") {
            cfg::IpAddress a;
            if (parse_ip_address(ctx, e, &a)) *ctx.config.add_static_ipaddress() = std::move(a);
        } else if (kw == "static_routes") {
            cfg::Route r;
            if (parse_route(ctx, e, &r)) *ctx.config.add_static_routes() = std::move(r);
        } else {
            cfg::Rule r;
            if (parse_rule(ctx, e, &r)) *ctx.config.add_static_rules() = std::move(r);
        }
    }
}

void top_level(Ctx& ctx, const Node& n) {
    using Fn = void (*)(Ctx&, const Node&);
    static const std::unordered_map<std::string_view, Fn> kParsers = {
        {"global_defs", parse_global_defs},
        {"vrrp_script", parse_vrrp_script},
        {"vrrp_instance", parse_vrrp_instance},
        {"vrrp_sync_group", parse_vrrp_sync_group},
        {"virtual_server_group", parse_virtual_server_group},
        {"virtual_server", parse_virtual_server},
        {"static_ipaddress", static_list},
        {"static_routes", static_list},
        {"static_rules", static_list},
        {"track_file", parse_track_file},
        {"vrrp_track_file", parse_track_file},
    };
    const KeywordInfo* info = find_keyword(Section::kTop, n.keyword.text);
    if (!info) {
        if (find_keyword(Section::kGlobalDefs, n.keyword.text)) {
            ctx.reporter.report(
                ctx.options.strict, n.loc(),
                "'" + std::string(n.keyword.text) + "' belongs inside global_defs { } (ignored here)");
        } else {
            unknown_keyword(ctx, n, Section::kTop);
        }
        add_other(ctx, ctx.config.mutable_other(), n);
        return;
    }
    if (info->status == Status::kAccepted) not_acted_on(ctx, n, Section::kTop);
    auto it = kParsers.find(n.keyword.text);
    if (it == kParsers.end()) {
        add_other(ctx, ctx.config.mutable_other(), n);
        return;
    }
    it->second(ctx, n);
}

template <class Lex>
ParseResult parse(const std::string& name, const ParseOptions& options, Lex lex) {
    ParseResult result;
    result.config.set_source_file(name);
    Reporter reporter(result.diagnostics);
    LexOptions lex_options;
    lex_options.config_id = options.config_id;
    lex_options.allow_include = options.allow_include;
    Ctx ctx{reporter, options, result.config, {}, {}, {}, {}};
    // Each top-level block is parsed as soon as it is read, then dropped: memory holds the model, not the
    // tree.
    SourceTree tree = lex(lex_options, reporter, [&ctx](const Node& n) { top_level(ctx, n); });
    check_semantics(ctx);
    if (reporter.saturated()) {
        Diagnostic d;
        d.severity = Severity::kError;
        d.file = name;
        d.message =
            "too many problems; the first " + std::to_string(Reporter::kMaxDiagnostics) + " are shown";
        result.diagnostics.push_back(std::move(d));
    }
    return result;
}

}  // namespace

ParseResult parse_file(const std::string& path, const ParseOptions& options) {
    return parse(path, options, [&](const LexOptions& lo, Reporter& r, const TopSink& s) {
        return lex_file(path, lo, r, s);
    });
}

ParseResult parse_string(std::string_view text, const std::string& name, const ParseOptions& options) {
    return parse(name, options, [&](const LexOptions& lo, Reporter& r, const TopSink& s) {
        return lex_string(text, name, lo, r, s);
    });
}

std::string to_json(const cfg::Config& config) {
    std::string out;
    google::protobuf::util::JsonPrintOptions o;
    o.add_whitespace = true;
    o.always_print_primitive_fields = true;
    o.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(config, &out, o);
    return out;
}

}  // namespace vigil::common::config
