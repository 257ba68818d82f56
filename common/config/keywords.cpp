#include "common/config/keywords.hpp"

#include <array>
#include <unordered_map>

namespace vigil::common::config {
namespace {

constexpr KeywordInfo kKeywords[] = {
#include "common/config/keywords_table.inc"
};

constexpr std::array<std::string_view, static_cast<size_t>(Section::kCount)> kSectionNames = {
    "top level",          "global_defs",
    "vrrp_script",        "track_file",
    "vrrp_sync_group",    "vrrp_instance",
    "authentication",     "virtual_server",
    "real_server",        "checker (every *_CHECK, HTTP_GET, SSL_GET)",
    "HTTP_GET / SSL_GET", "url",
    "MISC_CHECK",         "UDP_CHECK",
    "DNS_CHECK",          "SMTP_CHECK",
    "FILE_CHECK",         "BFD_CHECK",
};

using SectionIndex = std::array<std::unordered_map<std::string_view, const KeywordInfo*>,
                                static_cast<size_t>(Section::kCount)>;

const SectionIndex& index() {
    static const SectionIndex idx = [] {
        SectionIndex i;
        for (const auto& k : kKeywords) i[static_cast<size_t>(k.section)].emplace(k.name, &k);
        return i;
    }();
    return idx;
}

}  // namespace

std::span<const KeywordInfo> keyword_table() {
    return kKeywords;
}

const KeywordInfo* find_keyword(Section section, std::string_view name) {
    const auto& map = index()[static_cast<size_t>(section)];
    auto it = map.find(name);
    return it == map.end() ? nullptr : it->second;
}

std::string_view section_name(Section section) {
    return kSectionNames[static_cast<size_t>(section)];
}

std::string keywords_markdown() {
    std::string out =
        "# Configuration keywords\n\n"
        "<!-- Generated from common/config/keywords_table.inc: build/bin/vigil-keywords-doc > "
        "docs/keywords.md\n"
        "     Do not edit by hand: a unit test fails when this file and the table differ. -->\n\n"
        "vigil reads the keepalived.conf language. Every keyword of keepalived 2.4 for the sections below "
        "is\n"
        "recognised. **acted on**: modelled in proto/config.proto and used by the daemon. **accepted**: "
        "parsed\n"
        "(shown by `vigild --dump-config`, in the block's `other` list when not modelled) with a warning "
        "that names\n"
        "it and its location; vigil does not act on it yet. An unknown keyword is a warning (an error with\n"
        "`--strict`). Extensions (vigil's own keywords, or habits of widely read guides) are marked "
        "*extension*.\n\n"
        "Preprocessor (everywhere): `#` and `!` comments, quoted strings, `include` globs, `$NAME=value`\n"
        "parameters with `$NAME` / `${NAME}` substitution (multi-line with trailing `\\`), `@id` / `@^id`\n"
        "conditional lines (`--config-id`), `~SEQ(...)`, `~SEQx(...)` and `~LST(...)` repetition. A trailing "
        "`;`\n"
        "ends a statement with a warning.\n";
    for (size_t s = 0; s < static_cast<size_t>(Section::kCount); ++s) {
        out += "\n## ";
        out += kSectionNames[s];
        out += "\n\n| keyword | status | notes |\n|---|---|---|\n";
        for (const auto& k : kKeywords) {
            if (static_cast<size_t>(k.section) != s) continue;
            out += "| `";
            out += k.name;
            out += "` | ";
            out += k.status == Status::kSupported ? "acted on" : "accepted";
            out += " | ";
            if (k.extension) out += "*extension*; ";
            out += k.doc;
            out += " |\n";
        }
    }
    return out;
}

}  // namespace vigil::common::config
