// vigild: parses the configuration and supervises the VRRP and health-checker children.

#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "parent/daemon.hpp"
#include "parent/options.hpp"

namespace {

namespace cfg = vigil::common::config;

void print_diagnostics(const cfg::ParseResult& result) {
    for (const auto& d : result.diagnostics) std::cerr << cfg::format_diagnostic(d);
}

// Settings that guides put in global_defs (log_level, log_file, log_timestamp) apply unless the command line
// set them.
void merge_log_settings(vigil::parent::Options& options, const vigil::config::GlobalDefs& g) {
    if (!options.log_level_given && !g.log_level().empty()) options.log.level = g.log_level();
    if (!options.log_file_given && !g.log_file().empty()) options.log.file = g.log_file();
    if (!options.log_timestamp_given && g.has_log_timestamp()) options.log.timestamps = g.log_timestamp();
}

}  // namespace

int main(int argc, char** argv) {
    auto args = vigil::parent::parse_args(argc, argv);
    if (!args.error.empty()) {
        std::cerr << "vigild: " << args.error << "\nTry 'vigild --help'.\n";
        return 2;
    }
    if (args.exit_now) {
        std::cout << args.message;
        return 0;
    }
    auto& options = args.options;

    cfg::ParseOptions parse_options;
    parse_options.config_id = options.config_id;
    parse_options.strict = options.strict;
    parse_options.check_host = !options.config_test && !options.dump_config;

    if (options.config_test || options.dump_config) {
        auto result = cfg::parse_file(options.config_file, parse_options);
        print_diagnostics(result);
        if (options.dump_config && result.ok()) std::cout << cfg::to_json(result.config) << "\n";
        if (options.config_test) {
            std::cerr << options.config_file << ": " << result.error_count() << " error(s), "
                      << result.warning_count() << " warning(s): configuration "
                      << (result.ok() ? "valid" : "invalid") << "\n";
        }
        return result.ok() ? 0 : 1;
    }

    auto result = cfg::parse_file(options.config_file, parse_options);
    merge_log_settings(options, result.config.global_defs());
    if (auto err = vigil::common::log::setup(options.log); !err.empty()) {
        std::cerr << "vigild: " << err << "\n";
        return 2;
    }
    for (const auto& d : result.diagnostics) {
        auto text = d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message;
        if (d.severity == cfg::Severity::kError)
            spdlog::error("{}", text);
        else
            spdlog::warn("{}", text);
    }
    if (!result.ok()) {
        spdlog::critical("{}: configuration invalid ({} error(s)); not starting", options.config_file,
                         result.error_count());
        return 1;
    }
    return vigil::parent::run_daemon(options, std::move(result.config));
}
