#pragma once
// The one table of every keyword vigil recognises: its section and whether vigil acts on it. The parser
// consults it for every statement (unknown keyword, or accepted but not acted on: a warning), and
// docs/keywords.md is generated from it (`vigil-keywords-doc`), so the documentation cannot drift from
// the code.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vigil::common::config {

enum class Section : uint8_t {
    kTop,
    kGlobalDefs,
    kVrrpScript,
    kTrackFile,
    kVrrpSyncGroup,
    kVrrpInstance,
    kAuthentication,
    kVirtualServer,
    kRealServer,
    kChecker,  // keywords every checker block takes
    kHttpGet,  // HTTP_GET and SSL_GET
    kUrl,
    kMiscCheck,
    kUdpCheck,
    kDnsCheck,
    kSmtpCheck,
    kFileCheck,
    kBfdCheck,
    kCount,
};

enum class Status : uint8_t {
    kSupported,  // modelled, and the daemon acts on it
    kAccepted,   // accepted with a warning naming it: vigil does not act on it (yet)
};

struct KeywordInfo {
    Section section;
    std::string_view name;
    Status status;
    bool extension;        // vigil's own (or a guide habit), not a keepalived keyword
    std::string_view doc;  // one line for docs/keywords.md
};

// Every keyword, grouped by section.
std::span<const KeywordInfo> keyword_table();

// The entry for `name` in `section`, or nullptr when the section has no such keyword.
const KeywordInfo* find_keyword(Section section, std::string_view name);

// The section's name as the configuration writes it (e.g. "vrrp_instance").
std::string_view section_name(Section section);

// docs/keywords.md, generated from the table.
std::string keywords_markdown();

}  // namespace vigil::common::config
