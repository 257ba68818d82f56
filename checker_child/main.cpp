// vigil-checker: the health-checker child. Started by vigild with its channel on fd 3, and --need-net-raw
// when the config has PING_CHECK (common/child/protocol.hpp); the Checker (checker_child/checker.hpp) does
// the work. With --raw-tcp (the config has TCP_CHECK) it starts with vigild's CAP_NET_RAW too, opens its
// raw TCP sockets, and keeps CAP_NET_RAW only with --need-net-raw.

#include <linux/capability.h>
#include <sys/resource.h>

#include <memory>
#include <vector>

#include "checker_child/checker.hpp"
#include "checker_child/syn_prober.hpp"
#include "common/child/runtime.hpp"

int main(int argc, char** argv) {
    // Every running TCP-based check holds a descriptor: take the whole hard limit (a service manager's soft
    // default is 1,024); the engine keeps running checks to half of it.
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &files);
    }
    namespace child = vigil::common::child;
    child::ChildSpec spec;
    spec.ident = child::kCheckerExecutable;
    // IPVS through generic netlink; ICMP sockets only for PING_CHECK.
    spec.required_capabilities = [](const child::ChildArguments& args) {
        std::vector<int> caps{CAP_NET_ADMIN};
        if (args.need_net_raw) caps.push_back(CAP_NET_RAW);
        return caps;
    };
    // TCP_CHECK's raw SYN sockets (checker_child/syn_prober.hpp), when the config has TCP_CHECK (--raw-tcp),
    // opened while vigild's CAP_NET_RAW is still ours: CAP_NET_RAW itself is kept only for PING_CHECK.
    // Without them, TCP_CHECK connects sockets.
    spec.before_trim = [](const child::ChildArguments& args) {
        if (args.raw_tcp) vigil::check::open_raw_tcp_sockets();
    };
    spec.make_handler = [](const child::ChildArguments& args, asio::io_context& io) {
        return std::make_unique<vigil::check::Checker>(io, args.need_net_raw);
    };
    return child::run_child(argc, argv, spec);
}
