#include "parent/options.hpp"

#include <getopt.h>

#include "vigil/version.hpp"

namespace vigil::parent {

namespace {

enum LongOnly {
    kDumpConfig = 1000,
    kStrict,
    kControlSocket,
    kUser,
    kLogFile,
    kLogLevel,
    kNoTimestamps,
};

}  // namespace

std::string usage() {
    return R"(Usage: vigild [OPTION]...
High-availability daemon: VRRP failover and IPVS load balancing, configured in the keepalived.conf language.

  -f, --use-file=FILE       configuration file (default /etc/vigil/vigil.conf)
  -t, --config-test         report every problem in the configuration and exit: 0 valid, 1 not
      --dump-config         print the configuration as vigil understands it (JSON), then exit
      --strict              unknown keywords are errors, not warnings
  -i, --config-id=ID        select the lines marked @ID
  -P, --vrrp                run only the VRRP child
  -C, --check               run only the health-checker child
  -p, --pid-file=FILE       pid file (default /run/vigil/vigild.pid)
      --control-socket=PATH control socket (default /run/vigil/vigil.sock)
      --user=USER           unprivileged user to run as (default vigil, else nobody)
  -n, --dont-fork           accepted for keepalived compatibility: vigild always stays in the foreground
  -l, --log-console         log to the console (stderr)
  -S, --log-facility=FAC    log to syslog with this facility (daemon, local0..local7 or 0..7)
      --log-file=FILE       log to FILE, rotated by size
      --log-level=LEVEL     trace, debug, info, warning, error, critical
  -D, --log-detail          detailed logging (same as --log-level=debug)
      --no-timestamps       log lines without timestamps
  -v, --version             print the version and exit
  -h, --help                print this help and exit
)";
}

ParsedArgs parse_args(int argc, char** argv) {
    static const option kLong[] = {
        {"use-file", required_argument, nullptr, 'f'},
        {"config-test", no_argument, nullptr, 't'},
        {"dump-config", no_argument, nullptr, kDumpConfig},
        {"strict", no_argument, nullptr, kStrict},
        {"config-id", required_argument, nullptr, 'i'},
        {"vrrp", no_argument, nullptr, 'P'},
        {"check", no_argument, nullptr, 'C'},
        {"pid-file", required_argument, nullptr, 'p'},
        {"control-socket", required_argument, nullptr, kControlSocket},
        {"user", required_argument, nullptr, kUser},
        {"dont-fork", no_argument, nullptr, 'n'},
        {"log-console", no_argument, nullptr, 'l'},
        {"log-facility", required_argument, nullptr, 'S'},
        {"log-file", required_argument, nullptr, kLogFile},
        {"log-level", required_argument, nullptr, kLogLevel},
        {"log-detail", no_argument, nullptr, 'D'},
        {"no-timestamps", no_argument, nullptr, kNoTimestamps},
        {"version", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    ParsedArgs out;
    Options& o = out.options;
    o.log.ident = "vigild";
    optind = 0;  // reset: parse_args may be called more than once (tests)
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":f:ti:PCp:nlS:Dvh", kLong, nullptr)) != -1) {
        switch (c) {
            case 'f':
                o.config_file = optarg;
                break;
            case 't':
                o.config_test = true;
                break;
            case kDumpConfig:
                o.dump_config = true;
                break;
            case kStrict:
                o.strict = true;
                break;
            case 'i':
                o.config_id = optarg;
                break;
            case 'P':
                o.vrrp_only = true;
                break;
            case 'C':
                o.check_only = true;
                break;
            case 'p':
                o.pid_file = optarg;
                break;
            case kControlSocket:
                o.control_socket = optarg;
                break;
            case kUser:
                o.user = optarg;
                break;
            case 'n':
                break;
            case 'l':
                o.log.console = true;
                break;
            case 'S':
                o.log.syslog_facility = optarg;
                break;
            case kLogFile:
                o.log.file = optarg;
                o.log_file_given = true;
                break;
            case kLogLevel:
                o.log.level = optarg;
                o.log_level_given = true;
                break;
            case 'D':
                o.log.level = "debug";
                o.log_level_given = true;
                break;
            case kNoTimestamps:
                o.log.timestamps = false;
                o.log_timestamp_given = true;
                break;
            case 'v':
                out.exit_now = true;
                out.message = std::string("vigild ") + kVersion + "\n";
                return out;
            case 'h':
                out.exit_now = true;
                out.message = usage();
                return out;
            case ':':
                out.error = std::string("option '") + argv[optind - 1] + "' needs an argument";
                return out;
            default:
                out.error = std::string("unknown option '") + argv[optind - 1] + "'";
                return out;
        }
    }
    if (optind < argc) out.error = std::string("unexpected argument '") + argv[optind] + "'";
    if (o.vrrp_only && o.check_only) out.error = "-P/--vrrp and -C/--check exclude each other";
    return out;
}

}  // namespace vigil::parent
