#include "common/log/log.hpp"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>
#include <unistd.h>

#include <array>
#include <utility>
#include <vector>

namespace vigil::common::log {

int facility_from_name(const std::string& name) {
    static constexpr std::array<std::pair<const char*, int>, 11> kFacilities{{
        {"daemon", LOG_DAEMON},
        {"user", LOG_USER},
        {"local0", LOG_LOCAL0},
        {"local1", LOG_LOCAL1},
        {"local2", LOG_LOCAL2},
        {"local3", LOG_LOCAL3},
        {"local4", LOG_LOCAL4},
        {"local5", LOG_LOCAL5},
        {"local6", LOG_LOCAL6},
        {"local7", LOG_LOCAL7},
        {"syslog", LOG_SYSLOG},
    }};
    for (const auto& [n, v] : kFacilities)
        if (name == n) return v;
    // keepalived accepts -S 0..7 for local0..local7.
    if (name.size() == 1 && name[0] >= '0' && name[0] <= '7') return LOG_LOCAL0 + ((name[0] - '0') << 3);
    return -1;
}

std::string setup(const Options& options) {
    auto level = spdlog::level::from_str(options.level);
    if (level == spdlog::level::off && options.level != "off")
        return "unknown log level '" + options.level + "' (trace, debug, info, warning, error, critical, off)";

    std::vector<spdlog::sink_ptr> sinks;
    bool want_syslog = options.syslog_facility.has_value();
    bool want_console = options.console;
    if (!want_console && !want_syslog && !options.file) {
        if (isatty(STDERR_FILENO))
            want_console = true;
        else
            want_syslog = true;
    }
    const std::string pattern = options.timestamps ? "%Y-%m-%d %H:%M:%S.%e %n[%P] %l: %v" : "%n[%P] %l: %v";
    if (want_console) {
        auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        sink->set_pattern(pattern);
        sinks.push_back(sink);
    }
    if (want_syslog) {
        int facility = LOG_DAEMON;
        if (options.syslog_facility) {
            facility = facility_from_name(*options.syslog_facility);
            if (facility < 0) return "unknown syslog facility '" + *options.syslog_facility + "'";
        }
        // syslog adds its own timestamp and pid.
        auto sink = std::make_shared<spdlog::sinks::syslog_sink_mt>(options.ident, LOG_PID, facility, false);
        sink->set_pattern("%v");
        sinks.push_back(sink);
    }
    if (options.file) {
        try {
            auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(*options.file, options.max_file_size,
                                                                               options.max_files);
            sink->set_pattern(pattern);
            sinks.push_back(sink);
        } catch (const spdlog::spdlog_ex& e) {
            return "cannot open log file '" + *options.file + "': " + e.what();
        }
    }
    auto logger = std::make_shared<spdlog::logger>(options.ident, sinks.begin(), sinks.end());
    logger->set_level(level);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
    return {};
}

}  // namespace vigil::common::log
