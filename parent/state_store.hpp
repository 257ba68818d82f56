#pragma once
// The latest state each child reported, kept by the parent so that `vigilctl status` can show it and a
// restarted child can resume from it (Restore). Sans-IO.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/ipc.pb.h"

namespace vigil::parent {

class StateStore {
  public:
    // A Status from vigil-vrrp: replaces the VRRP instance records.
    void on_vrrp_status(const vigil::ipc::Status& status);
    // A Status from vigil-checker: replaces the virtual server records and the IPVS backend state.
    void on_checker_status(vigil::ipc::Status status);
    // A VrrpState from vigil-vrrp: updates that instance's state (adds a record if it is new).
    void on_vrrp_state(const vigil::ipc::VrrpState& state);
    // A Health from vigil-checker: kept per (virtual server, real server) and reflected in the records.
    void on_health(const vigil::ipc::Health& health);

    // What a restarted vigil-vrrp resumes from.
    vigil::ipc::Snapshot vrrp_snapshot() const;
    // What a restarted vigil-checker resumes from.
    vigil::ipc::Snapshot checker_snapshot() const;

    // The latest Status of each child (empty messages before the first).
    const vigil::ipc::Status& vrrp_status() const { return vrrp_; }
    const vigil::ipc::Status& checker_status() const { return checker_; }

  private:
    // (virtual server key, real server key), as a Health names them.
    using Key = std::pair<std::string, std::string>;
    // Forgetting instances and servers absent from a newly committed config is the children's job: their
    // next Status replaces the records. This drops the health of servers the latest Status does not name.
    void forget_health_not_in_index();

    vigil::ipc::Status vrrp_;
    vigil::ipc::Status checker_;
    std::map<Key, vigil::ipc::Health> health_;
    // Where each real server of checker_ is: (virtual server index, real server index); a virtual server's
    // quorum (the Health with no real server, which vigil-vrrp's track_virtual_server follows and resumes
    // from after a restart) under (its key, "") at (its index, kQuorum).
    static constexpr int kQuorum = -1;
    std::map<Key, std::vector<std::pair<int, int>>> index_;
    // A Health named a server index_ does not hold: the next Status looks for what to forget.
    bool health_outside_index_ = false;
};

// The key a Health uses for a virtual server: `10.0.0.1:80 TCP`, `[2001:db8::1]:443 TCP`, `fwmark 7`.
std::string virtual_server_key(const vigil::status::VirtualServerStatus& vs);
// The key a Health uses for a real server: `10.0.1.2:80`, `[2001:db8::2]:443`.
std::string real_server_key(const vigil::status::RealServerStatus& rs);

}  // namespace vigil::parent
