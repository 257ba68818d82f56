#pragma once
// What every section parser shares: the parse context, value parsers that report located errors (numbers,
// timers, booleans, addresses), and the keyword dispatch driven by the keyword table.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/config/config.hpp"
#include "common/config/diagnostics.hpp"
#include "common/config/keywords.hpp"
#include "common/config/lexer.hpp"
#include "proto/config.pb.h"

namespace vigil::common::config {

using Statements = google::protobuf::RepeatedPtrField<vigil::config::Statement>;

// Names that other statements refer to.
enum class NameKind { kScript, kTrackFile, kInstance, kVsGroup, kSyncGroup, kCount };

// A reference to a name, resolved once the whole file is read (a name may be defined after its use).
struct Reference {
    NameKind kind;
    std::string name;
    SourceLoc loc;
};

struct Ctx {
    Reporter& reporter;
    const ParseOptions& options;
    vigil::config::Config& config;
    std::vector<Reference> references;
    std::unordered_map<std::string, SourceLoc> names[static_cast<size_t>(NameKind::kCount)];
    std::vector<SourceLoc>
        instance_locs;  // per vrrp_instance of the model: where its virtual_router_id stands

    // Records a definition; reports a duplicate (returns false) when the name is already defined.
    bool define(NameKind kind, std::string_view name, const SourceLoc& loc, std::string_view what);
    // Records a use of a name, checked at the end.
    void refer(NameKind kind, std::string_view name, const SourceLoc& loc) {
        references.push_back({kind, std::string(name), keep(loc)});
    }
    // A copy of `loc` whose line text outlives the source buffer (the lexer releases text it has parsed).
    SourceLoc keep(const SourceLoc& loc) {
        if (kept_lines.empty() || kept_lines.back() != loc.line_text) kept_lines.emplace_back(loc.line_text);
        SourceLoc out = loc;
        out.line_text = kept_lines.back();
        return out;
    }
    std::deque<std::string> kept_lines;

    void error(const SourceLoc& loc, std::string msg) { reporter.error(loc, std::move(msg)); }
    void warning(const SourceLoc& loc, std::string msg) { reporter.warning(loc, std::move(msg)); }
    // A location as the model stores it.
    void set_location(vigil::config::Location* out, const Node& n) const;
};

// An address with its optional prefix length, canonical.
struct Address {
    std::string text;
    vigil::config::AddressFamily family = vigil::config::FAMILY_UNSPECIFIED;
    uint32_t prefix = 0;
    bool has_prefix = false;
};

// Checks the argument count; reports and returns false when it is out of [min, max].
bool want_args(Ctx& ctx, const Node& n, size_t min, size_t max);
// Reports a statement that should (or should not) have a `{ }` block.
bool want_block(Ctx& ctx, const Node& n, bool block);

// An unsigned integer argument in [min, max].
std::optional<uint32_t> uint_arg(Ctx& ctx, const Node& n, size_t i, uint32_t min, uint32_t max);
// A signed integer argument in [min, max].
std::optional<int32_t> int_arg(Ctx& ctx, const Node& n, size_t i, int32_t min, int32_t max);
// A time in seconds (fractions allowed) converted to milliseconds, in [min_ms, max_ms].
std::optional<uint32_t> timer_ms(Ctx& ctx, const Node& n, size_t i, uint64_t min_ms, uint64_t max_ms);
// A boolean: no argument means true; on|off|true|false|yes|no.
std::optional<bool> bool_arg(Ctx& ctx, const Node& n, size_t i);
// Parses `text` as an address with an optional /prefix; std::nullopt with a reason in `why` otherwise.
std::optional<Address> parse_address(std::string_view text, bool allow_prefix, std::string* why);
// An address argument; reports a located error when it does not parse.
std::optional<Address> address_arg(Ctx& ctx, const Node& n, size_t i, bool allow_prefix);
// The arguments joined by single spaces (a command line as written).
std::string join_args(const Node& n, size_t from = 0);

// Appends `n` (with its block) to a block's list of accepted but unmodelled statements.
void add_other(Ctx& ctx, Statements* other, const Node& n);

template <class T>
using Handler = void (*)(Ctx&, const Node&, T&);
template <class T>
using HandlerMap = std::unordered_map<std::string_view, Handler<T>>;

// Reports an unknown keyword (warning, error with --strict).
void unknown_keyword(Ctx& ctx, const Node& n, Section section);
// Reports a keyword vigil accepts but does not act on.
void not_acted_on(Ctx& ctx, const Node& n, Section section);

// Dispatches each statement of `block` through the keyword table: unknown keywords and keywords without a
// handler land in `other`; keywords vigil does not act on are reported; handlers fill the model.
template <class T>
void parse_block(Ctx& ctx, const Node& block, Section section, T& target, const HandlerMap<T>& handlers,
                 Statements* other, Section fallback = Section::kCount) {
    for (const Node& n : block.children) {
        const KeywordInfo* info = find_keyword(section, n.keyword.text);
        if (!info && fallback != Section::kCount) info = find_keyword(fallback, n.keyword.text);
        if (!info) {
            unknown_keyword(ctx, n, section);
            add_other(ctx, other, n);
            continue;
        }
        if (info->status == Status::kAccepted) not_acted_on(ctx, n, section);
        auto it = handlers.find(n.keyword.text);
        if (it == handlers.end()) {
            add_other(ctx, other, n);
            continue;
        }
        it->second(ctx, n, target);
    }
}

}  // namespace vigil::common::config
