#pragma once
// Logging for every vigil process: spdlog, to the console, syslog or a rotated file, with timestamps.

#include <optional>
#include <string>

namespace vigil::common::log {

struct Options {
    // Process name shown in syslog and on the console (vigild, vigil-vrrp, vigil-checker).
    std::string ident = "vigild";
    bool console = false;             // -l: log to stderr
    std::optional<std::string> file;  // --log-file PATH, rotated by size
    std::optional<std::string> syslog_facility;  // -S FACILITY (daemon, local0..local7)
    std::string level = "info";       // trace, debug, info, warning, error, critical, off
    bool timestamps = true;
    std::size_t max_file_size = 10 * 1024 * 1024;
    std::size_t max_files = 5;
};

// Replaces the default logger with the sinks `options` asks for. With no sink requested it logs to syslog when
// stderr is not a terminal and to the console when it is. Returns an error message, or empty on success.
std::string setup(const Options& options);

// Maps a syslog facility name (daemon, local0..local7, user) to its value, or -1 when unknown.
int facility_from_name(const std::string& name);

}  // namespace vigil::common::log
