#pragma once
// What vigild and its children agree on when one starts the other: where the channel is, which flags a child
// takes, and what its exit status means. The parent builds the command line with child_arguments(); the child
// parses it with parse_child_arguments() (common/child/runtime.hpp runs it).

#include <string>
#include <vector>

#include "common/log/log.hpp"

namespace vigil::common::child {

// The child's end of its SOCK_SEQPACKET socketpair is this descriptor (the parent dup2()s it there before
// exec).
inline constexpr int kChannelFd = 3;

// Exit statuses of a child. The parent restarts on anything but kExitOk and kExitPermanent.
inline constexpr int kExitOk = 0;          // stopped as asked (Shutdown, SIGTERM) or the parent went away
inline constexpr int kExitFailure = 1;     // an unexpected failure: restart with back-off
inline constexpr int kExitUsage = 64;      // EX_USAGE: bad command line (a parent/child mismatch: permanent)
inline constexpr int kExitProtocol = 76;   // EX_PROTOCOL: the parent sent a malformed or unexpected message
inline constexpr int kExitPermanent = 78;  // EX_CONFIG: lacks a capability; restarting cannot help

// The executables.
inline constexpr const char* kVrrpExecutable = "vigil-vrrp";
inline constexpr const char* kCheckerExecutable = "vigil-checker";

// What a child is told on its command line.
struct ChildArguments {
    // Logging, as vigild's own (ident is set by the child: vigil-vrrp, vigil-checker).
    log::Options log;
    int channel_fd = kChannelFd;
    // vigil-checker: the config has ICMP checks (PING_CHECK), so it needs and keeps CAP_NET_RAW.
    bool need_net_raw = false;
    // vigil-checker: the config has TCP_CHECK, so it opens its raw TCP sockets at start (with the CAP_NET_RAW
    // it then gives up unless need_net_raw).
    bool raw_tcp = false;
};

// The flags that carry `args` (without argv[0]): -l, -S FAC, --log-file F, --log-level L, --no-timestamps,
// --channel-fd N (only when not kChannelFd), --need-net-raw, --raw-tcp.
std::vector<std::string> child_arguments(const ChildArguments& args);

// Result of parse_child_arguments: the arguments or a usage error.
struct ParsedChildArguments {
    ChildArguments args;
    std::string error;  // non-empty: usage error
};

// Parses a child's argv (the flags of child_arguments()). Never exits.
ParsedChildArguments parse_child_arguments(int argc, char** argv);

}  // namespace vigil::common::child
