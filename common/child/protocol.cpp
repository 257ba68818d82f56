#include "common/child/protocol.hpp"

#include <getopt.h>

#include <charconv>

namespace vigil::common::child {

namespace {

enum LongOnly {
    kLogFile = 1000,
    kLogLevel,
    kNoTimestamps,
    kChannelFdFlag,
    kNeedNetRaw,
    kRawTcp,
};

}  // namespace

std::vector<std::string> child_arguments(const ChildArguments& args) {
    std::vector<std::string> out;
    if (args.log.console) out.emplace_back("-l");
    if (args.log.syslog_facility) {
        out.emplace_back("-S");
        out.push_back(*args.log.syslog_facility);
    }
    if (args.log.file) out.push_back("--log-file=" + *args.log.file);
    out.push_back("--log-level=" + args.log.level);
    if (!args.log.timestamps) out.emplace_back("--no-timestamps");
    if (args.channel_fd != kChannelFd) out.push_back("--channel-fd=" + std::to_string(args.channel_fd));
    if (args.need_net_raw) out.emplace_back("--need-net-raw");
    if (args.raw_tcp) out.emplace_back("--raw-tcp");
    return out;
}

ParsedChildArguments parse_child_arguments(int argc, char** argv) {
    static const option kLong[] = {
        {"log-console", no_argument, nullptr, 'l'},
        {"log-facility", required_argument, nullptr, 'S'},
        {"log-file", required_argument, nullptr, kLogFile},
        {"log-level", required_argument, nullptr, kLogLevel},
        {"log-detail", no_argument, nullptr, 'D'},
        {"no-timestamps", no_argument, nullptr, kNoTimestamps},
        {"channel-fd", required_argument, nullptr, kChannelFdFlag},
        {"need-net-raw", no_argument, nullptr, kNeedNetRaw},
        {"raw-tcp", no_argument, nullptr, kRawTcp},
        {nullptr, 0, nullptr, 0},
    };
    ParsedChildArguments out;
    ChildArguments& a = out.args;
    optind = 0;  // reset: tests parse more than once
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":lS:D", kLong, nullptr)) != -1) {
        switch (c) {
            case 'l':
                a.log.console = true;
                break;
            case 'S':
                a.log.syslog_facility = optarg;
                break;
            case kLogFile:
                a.log.file = optarg;
                break;
            case kLogLevel:
                a.log.level = optarg;
                break;
            case 'D':
                a.log.level = "debug";
                break;
            case kNoTimestamps:
                a.log.timestamps = false;
                break;
            case kChannelFdFlag: {
                std::string_view v(optarg);
                int fd = -1;
                auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), fd);
                if (ec != std::errc() || end != v.data() + v.size() || fd < 0) {
                    out.error = "--channel-fd needs a descriptor number, not '" + std::string(v) + "'";
                    return out;
                }
                a.channel_fd = fd;
                break;
            }
            case kNeedNetRaw:
                a.need_net_raw = true;
                break;
            case kRawTcp:
                a.raw_tcp = true;
                break;
            case ':':
                out.error = std::string("option '") + argv[optind - 1] + "' needs an argument";
                return out;
            default:
                out.error = std::string("unknown option '") + argv[optind - 1] + "'";
                return out;
        }
    }
    if (optind < argc) out.error = std::string("unexpected argument '") + argv[optind] + "'";
    return out;
}

}  // namespace vigil::common::child
