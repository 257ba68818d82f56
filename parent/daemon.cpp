#include "parent/daemon.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <asio.hpp>

#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "parent/privileges.hpp"
#include "parent/supervisor.hpp"

namespace vigil::parent {

namespace {

namespace cfg = vigil::common::config;

// Guides put log_level, log_file and log_timestamp in global_defs; the command line wins.
bool merge_log_settings(Options& options, const vigil::config::GlobalDefs& g) {
    bool changed = false;
    if (!options.log_level_given && !g.log_level().empty() && g.log_level() != options.log.level) {
        options.log.level = g.log_level();
        changed = true;
    }
    if (!options.log_file_given && !g.log_file().empty() && options.log.file != g.log_file()) {
        options.log.file = g.log_file();
        changed = true;
    }
    if (!options.log_timestamp_given && g.has_log_timestamp() &&
        g.log_timestamp() != options.log.timestamps) {
        options.log.timestamps = g.log_timestamp();
        changed = true;
    }
    return changed;
}

std::string location(const cfg::Diagnostic& d) {
    return d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
}

}  // namespace

int run_daemon(Options options) {
    if (auto err = common::log::setup(options.log); !err.empty()) {
        spdlog::critical("{}", err);
        return 2;
    }
    const bool root = ::geteuid() == 0;
    auto user = choose_user(options.user);
    if (!user) {
        spdlog::critical("{}", user.error());
        return 1;
    }
    if (!root && options.user) spdlog::warn("not started as root: --user {} has no effect", *options.user);

    // What needs root comes first; then root is left before any untrusted text (the config) is read.
    auto resources = acquire_start_resources(options.pid_file, options.control_socket, user.value());
    if (!resources) {
        spdlog::critical("{}", resources.error());
        return 1;
    }
    auto dropped = drop_privileges(user.value());
    if (!dropped) {
        spdlog::critical("cannot drop privileges: {}", dropped.error());
        return 1;
    }
    if (!dropped.value().empty()) spdlog::warn("{}", dropped.value());

    cfg::ParseOptions po;
    po.config_id = options.config_id;
    po.strict = options.strict;
    po.check_host = true;
    auto parsed = cfg::parse_file(options.config_file, po);
    if (merge_log_settings(options, parsed.config.global_defs())) {
        if (auto err = common::log::setup(options.log); !err.empty()) spdlog::error("{}", err);
    }
    for (const auto& d : parsed.diagnostics) {
        if (d.severity == cfg::Severity::kError)
            spdlog::error("{}: {}", location(d), d.message);
        else
            spdlog::warn("{}: {}", location(d), d.message);
    }
    if (!parsed.ok()) {
        spdlog::critical("{}: configuration invalid ({} error(s)); not starting", options.config_file,
                         parsed.error_count());
        return 1;
    }

    asio::io_context io;
    int status = 0;
    {
        Supervisor supervisor(io, options, std::move(parsed.config), std::move(resources.value()));
        status = supervisor.run();
    }
    return status;
}

}  // namespace vigil::parent
