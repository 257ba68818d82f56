#pragma once
// vigild's command line, modelled on keepalived's where the two overlap.

#include <optional>
#include <string>
#include <vector>

#include "common/log/log.hpp"

namespace vigil::parent {

struct Options {
    std::string config_file = "/etc/vigil/vigil.conf";
    bool config_test = false;  // -t: diagnose the config and exit 0 (valid) or 1
    bool dump_config = false;  // --dump-config: print the typed model as JSON and exit
    bool strict = false;       // unknown keywords are errors
    std::string config_id;     // -i: selects @id conditional lines
    bool vrrp_only = false;    // -P
    bool check_only = false;   // -C
    std::string pid_file = "/run/vigil/vigild.pid";
    std::string control_socket = "/run/vigil/vigil.sock";
    std::optional<std::string> user;  // --user; default vigil when it exists, else nobody
    common::log::Options log;
    // Which of the log settings came from the command line: those win over global_defs.
    bool log_level_given = false;
    bool log_file_given = false;
    bool log_timestamp_given = false;
};

struct ParsedArgs {
    Options options;
    bool exit_now = false;  // --help or --version was handled
    std::string message;    // what --help or --version prints
    std::string error;      // non-empty: a usage error to print
};

// Parses argv. Never exits the process itself.
ParsedArgs parse_args(int argc, char** argv);

// The --help text.
std::string usage();

}  // namespace vigil::parent
