// libFuzzer target for the configuration parser: any text must parse (or fail with diagnostics) without a
// crash, a hang or a leak. Includes are off so that the input cannot make the parser read the filesystem.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    namespace cfg = vigil::common::config;
    cfg::ParseOptions options;
    options.config_id = "main";
    options.allow_include = false;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = cfg::parse_string(text, "fuzz.conf", options);
    for (const auto& d : result.diagnostics) (void)cfg::format_diagnostic(d);
    if (result.ok() && size < 4096) (void)cfg::to_json(result.config);
    return 0;
}
