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

    return vigil::parent::run_daemon(std::move(options));
}
