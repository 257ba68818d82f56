#pragma once
// The VRRP child's engine: the sans-IO Core driven by the real world. It owns the raw sockets, the address
// manager, the GARP/NA sender, the link monitor and the vrrp_script runner, performs the Core's actions, and
// speaks to the parent through the child runtime's Handler interface (prepare/commit a config, restore after
// a restart, report status and state changes, stop with priority-0 adverts and the VIPs released).

#include <asio.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/child/runtime.hpp"
#include "common/log/throttle.hpp"
#include "common/netlink/client.hpp"
#include "common/script/script_runner.hpp"
#include "proto/config.pb.h"
#include "vrrp_child/core.hpp"
#include "vrrp_child/event_loop.hpp"
#include "vrrp_child/garp.hpp"
#include "vrrp_child/link_monitor.hpp"
#include "vrrp_child/socket.hpp"
#include "vrrp_child/timer_fd.hpp"

namespace vigil::vrrp {

class ScriptTracker;

// What a config turns into for the Core, or the reasons it cannot.
struct EngineConfig {
    std::vector<InstanceConfig> instances;
    std::vector<SyncGroupConfig> groups;
    std::vector<std::string> errors;
};

// Builds the Core's configs from the model: each instance's own fields, plus what lives elsewhere in the file
// (a track_script without a weight takes its vrrp_script's, the sync group an instance belongs to).
EngineConfig make_engine_config(const vigil::config::Config& config);

class Engine final : public common::child::Handler {
  public:
    explicit Engine(asio::io_context& io);
    ~Engine() override;

    void start(common::child::Uplink& uplink) override;
    std::vector<std::string> prepare(std::uint64_t generation, const vigil::config::Config& config) override;
    void commit(std::uint64_t generation) override;
    void abort(std::uint64_t generation) override;
    void restore(const vigil::ipc::Snapshot& snapshot) override;
    void fill_status(vigil::ipc::Status& status) override;
    void on_peer_message(const vigil::ipc::Envelope& envelope) override;
    void stop(std::function<void()> done) override;
    // The EventLoop with Asio's loop inside it (vrrp_child/event_loop.hpp).
    void run(asio::io_context& io) override;

  private:
    struct Prepared {
        std::uint64_t generation = 0;
        vigil::config::Config config;
        EngineConfig engine;
    };
    struct InstanceExtra {
        std::uint64_t transitions = 0;
        std::optional<std::chrono::system_clock::time_point> last_transition;
        std::string reason;
    };

    // Opens the netlink client, link monitor and GARP sender once; false (logged) when the host refuses.
    bool open_io();
    // Makes sure every interface/family the Core's instances use has a socket; closes the ones no longer
    // used.
    void sync_sockets();
    // Opens the socket of one interface and family unless it is open; false (logged) when that fails.
    bool open_socket(const std::string& ifname, bool ipv6, bool unicast_only);
    // Logs a warning for each unicast_src_ip that is not an address of this host.
    void warn_foreign_sources(const EngineConfig& engine);
    // Tells each instance its primary address (the interface's first IPv4, or IPv6 link-local).
    void set_primary_addresses();
    // Reports the current link state of every interface the instances use or track.
    void report_links(TimePoint now);
    void on_datagram(const std::string& ifname, bool ipv6, const ReceivedDatagram& datagram);
    void on_link(const LinkChange& change);
    void on_script(const std::string& name, bool ok);

    // Performs the Core's actions in order, then re-arms the one timer at the Core's next deadline.
    void execute(const Actions& actions);
    void perform(const SendAdvert& a);
    void perform_addresses(const std::string& instance, const std::vector<VirtualAddress>& addresses,
                           bool add);
    void perform(const SendGratuitous& a);
    void perform(const Notify& a);
    void perform(const Transition& a);
    // Arms the timer at the Core's next deadline, or cancels it.
    void schedule();
    // The timer expired: the Core's due timers run.
    void on_deadline();
    int ifindex_of(const std::string& instance, const VirtualAddress& vip);
    void log_drop(const std::string& ifname, const std::string& what);
    void wait_for_scripts(std::chrono::steady_clock::time_point deadline, std::function<void()> done);

    asio::io_context& io_;
    std::unique_ptr<EventLoop> loop_;  // the timer's and the sockets' (before them: they leave it first)
    common::child::Uplink* uplink_ = nullptr;
    SteadyClock clock_;
    std::unique_ptr<TimerFd> timer_;  // the Core's next deadline (opened with the netlink client)
    asio::steady_timer stop_timer_;   // while stopping, polls for notify_stop scripts to end
    common::script::Runner scripts_;
    std::optional<common::netlink::Client> netlink_;
    std::unique_ptr<LinkMonitor> links_;
    std::unique_ptr<GarpSender> garp_;
    std::map<std::pair<std::string, bool>, std::unique_ptr<VrrpSocket>> sockets_;
    std::unique_ptr<Core> core_;
    std::unique_ptr<ScriptTracker> script_tracker_;
    std::optional<Prepared> prepared_;
    vigil::config::Config running_;
    std::map<std::string, InstanceExtra> extra_;
    // States the previous vigil-vrrp reported, used once, by the first commit after a restart.
    std::map<std::string, State> remembered_;
    std::map<std::string, vigil::status::VrrpInstanceStatus> remembered_status_;
    // The quorum of each virtual server as the previous vigil-vrrp was last told (track_virtual_server): a
    // quorum lost before the restart stays lost, since the checker reports it again only when it changes.
    std::map<std::string, bool> remembered_quorum_;
    // Drop counters by reason, and the rate limit of their log lines per reason.
    std::map<std::string, std::uint64_t> drops_;
    std::map<std::string, common::log::Throttle> drop_log_;
    bool stopping_ = false;
    Actions spare_;                     // the timer's action list, kept between polls
    std::vector<std::uint8_t> packet_;  // the advert being sent, its capacity kept between adverts
};

}  // namespace vigil::vrrp
