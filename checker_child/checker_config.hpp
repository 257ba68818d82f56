#pragma once
// The checker's own view of the configuration: plain structs for virtual servers, real servers and their
// checks, built from the protobuf model (proto/config.proto) by from_proto(). Everything the engine and the
// check types need is here, already resolved (defaults applied, names looked up), so they never touch
// protobuf.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace vigil::check {

using Duration = std::chrono::milliseconds;

// When and how often one checker runs, and how its results turn into a state (keepalived's generic checker
// options plus vigil's `rise`, `delay_loop_fast` and `delay_loop_down`).
struct CheckTiming {
    Duration connect_timeout{std::chrono::seconds(5)};
    Duration delay_loop{std::chrono::seconds(60)};
    Duration delay_before_retry{std::chrono::seconds(1)};
    // Upper bound of the random delay before the first check; keepalived's default is delay_loop.
    std::optional<Duration> warmup;
    // Interval while the state is changing (a down checker that has started to succeed); unset: the down
    // interval.
    std::optional<Duration> delay_loop_fast;
    // Interval while the checker is down; unset: delay_loop.
    std::optional<Duration> delay_loop_down;
    int retry = 1;       // extra attempts before an up checker goes down
    int rise = 1;        // consecutive successes a down checker needs to come up
    bool alpha = false;  // start down
};

// Where a network check connects to and from (connect_ip, connect_port, bindto, bind_port).
struct ConnectTarget {
    std::string ip;  // resolved: connect_ip or the real server's address
    uint16_t port = 0;
    std::string bindto;  // empty: any
    uint16_t bind_port = 0;
    std::string bind_if;
};

struct TcpParams {};

struct HttpUrl {
    std::string path = "/";
    std::string digest;  // lower-case hex MD5 of the body; empty: not checked
    // Accepted status codes as inclusive ranges; empty: 200-299.
    std::vector<std::pair<int, int>> status_ranges;
    std::string virtualhost;  // resolved: url, checker, real server or virtual server virtualhost
};

struct HttpParams {
    bool tls = false;  // SSL_GET
    bool enable_sni = false;
    std::string sni_name;               // empty: the url's virtualhost
    std::string http_protocol = "1.0";  // 1.0, 1.0C or 1.1
    std::vector<HttpUrl> urls;
};

struct MiscParams {
    std::string path;                            // the command line (split into words, no shell)
    Duration timeout{std::chrono::seconds(60)};  // misc_timeout; keepalived's default is delay_loop
    bool dynamic = false;
    std::string user;  // empty: the checker's own user
    std::string group;
};

struct PingParams {};

struct UdpParams {
    std::vector<uint8_t> payload;  // empty: a random payload
    bool require_reply = false;
    std::vector<uint8_t> reply_pattern;  // bytes to match when require_reply has a HEX_STR
    std::vector<uint8_t> reply_mask;     // 0xff where a nibble matters (X in the HEX_STR clears it)
    int min_reply_length = 0;
    int max_reply_length = 255;
};

struct DnsParams {
    std::string type = "SOA";
    std::string name = ".";
};

struct SmtpParams {
    std::string helo_name = "smtpchecker.vigil";
};

struct FileParams {
    std::string track_file;  // its name, for messages
    std::string path;        // the file it reads
    int64_t weight = 1;      // multiplier; 0: non-zero value means failure
    bool reverse = false;
    bool dynamic = false;
};

// check_script { NAME } in a virtual_server: a vrrp_script run against each real server.
struct ScriptParams {
    std::string name;
    std::string script;  // command line; the real server's address and port are appended
    Duration timeout{};
    std::string user;
    std::string group;
};

using CheckParams = std::variant<TcpParams, HttpParams, MiscParams, PingParams, UdpParams, DnsParams,
                                 SmtpParams, FileParams, ScriptParams>;

struct CheckSpec {
    CheckTiming timing;
    ConnectTarget target;
    CheckParams params;
};

// A command run by the checker (quorum_up, notify_down ...).
struct ScriptCommand {
    std::string command;  // empty: none
    std::string user;
    std::string group;
};

struct RealServerSpec {
    std::string ip;
    uint16_t port = 0;
    int weight = 1;
    bool inhibit_on_failure = false;
    ScriptCommand notify_up;
    ScriptCommand notify_down;
    std::vector<CheckSpec> checks;
};

struct VirtualServerSpec {
    // "10.0.0.1:80 TCP", "fwmark 5" or "group NAME": how logs and status name it.
    std::string name;
    std::string ip;
    uint16_t port = 0;
    uint32_t fwmark = 0;
    std::string group;
    std::string protocol = "TCP";
    int quorum = 1;
    int hysteresis = 0;
    bool omega = false;
    ScriptCommand quorum_up;
    ScriptCommand quorum_down;
    std::optional<RealServerSpec> sorry_server;  // its checks are ignored
    bool sorry_server_inhibit = false;
    // ha_suspend: the vrrp_instance whose VIPs hold this virtual server's address; checks run only while it
    // is MASTER. Empty: never suspended.
    std::string ha_suspend_instance;
    std::vector<RealServerSpec> real_servers;
};

struct CheckerConfig {
    std::vector<VirtualServerSpec> virtual_servers;
    // Non-fatal problems found while building (keywords not acted on, names not found).
    std::vector<std::string> warnings;
};

// "10.0.0.1:80", "[fe80::1]:80".
std::string format_endpoint(const std::string& ip, uint16_t port);

}  // namespace vigil::check
