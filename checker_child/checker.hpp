#pragma once
// vigil-checker's child Handler: the check engine (engine.hpp) and the IPVS keeper (ipvs_keeper.hpp) driven
// by the parent's protocol. Health changes go up as Health messages (a real server's, and a virtual server's
// quorum with an empty real_server, which track_virtual_server follows); the destinations each virtual server
// should have become the IPVS table the keeper reconciles with the kernel.

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checker_child/engine.hpp"
#include "checker_child/ipvs_keeper.hpp"
#include "common/child/runtime.hpp"
#include "proto/config.pb.h"

namespace vigil::check {

// Every problem of `config` that this host makes (an address to bind to that is not ours, PING_CHECK without
// CAP_NET_RAW), each naming its real server.
std::vector<std::string> check_against_host(const vigil::config::Config& config, bool have_net_raw);

class Checker final : public common::child::Handler {
  public:
    Checker(asio::io_context& io, bool have_net_raw);
    ~Checker() override;

    void start(common::child::Uplink& uplink) override { uplink_ = &uplink; }
    std::vector<std::string> prepare(std::uint64_t generation, const vigil::config::Config& config) override;
    void commit(std::uint64_t generation) override;
    void abort(std::uint64_t generation) override;
    void restore(const vigil::ipc::Snapshot& snapshot) override;
    void fill_status(vigil::ipc::Status& status) override;
    void on_peer_message(const vigil::ipc::Envelope& envelope) override;
    void stop(std::function<void()> done) override;

  private:
    struct Prepared {
        std::uint64_t generation = 0;
        vigil::config::Config config;
        CheckerConfig checker;
    };
    void on_health(const HealthEvent& e);
    void on_quorum(const QuorumEvent& e);
    void on_destinations(const DestinationsEvent& e);
    void push_table();
    // Rebuilds the IPVS table at most once per interval (the first at once): a start or a switch going down
    // changes thousands of real servers within a second, and a rebuild of the whole table per change is
    // O(N^2). Health messages go out one per change, at once. (Status goes only when vigild asks: the
    // runtime answers a StatusRequest, and sends one after each commit.)
    void schedule_table();
    struct Throttle {
        explicit Throttle(asio::io_context& io) : timer(io) {}
        asio::steady_timer timer;
        bool armed = false;
        std::chrono::steady_clock::time_point last{};
    };
    // Runs `action` on a later turn of the loop, no sooner than `interval` after its last run; calls while
    // one is pending are absorbed by it.
    void throttle(Throttle& t, std::chrono::milliseconds interval, std::function<void()> action);
    std::string key_of(const std::string& engine_name) const;

    asio::io_context& io_;
    bool have_net_raw_;
    common::child::Uplink* uplink_ = nullptr;
    std::optional<Prepared> prepared_;
    vigil::config::Config running_;
    std::unique_ptr<Engine> engine_;
    IpvsKeeper keeper_;
    // Per virtual server (config order): its IPVS services and the destinations the engine wants now.
    std::vector<std::vector<Service>> services_;
    std::vector<std::vector<DesiredDestination>> destinations_;
    Ownership owned_;
    // Engine name of a virtual server -> its key in Health messages (common/ipc/keys).
    std::map<std::string, std::string> keys_;
    // Health the parent handed back after a restart, shown until the first check of each real server.
    std::map<std::string, vigil::ipc::Health> restored_;
    std::map<std::string, bool> vrrp_master_;
    bool first_commit_ = true;  // no generation committed yet in this process
    bool restarted_ = false;  // the parent restarted this checker (a Restore came): lvs_flush does not apply
    bool table_dirty_ = false;
    Throttle table_throttle_{io_};
    // False once destroyed: a pending flush is dropped.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::check
