#pragma once
// The control socket: a UNIX stream socket where vigilctl asks for status, a reload or the running config.
// Only root and the daemon's own uid or gid may talk to it (SO_PEERCRED); others are refused and logged.

#include <sys/types.h>

#include <asio.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/ipc/unique_fd.hpp"
#include "proto/control.pb.h"

namespace vigil::parent {

// What the server asks of the daemon.
class ControlHandler {
  public:
    virtual ~ControlHandler() = default;
    // Gets the status; `done` runs once it is assembled (vigild first asks the checker for a fresh one).
    virtual void status(std::function<void(const vigil::control::StatusResponse&)> done) = 0;
    // Starts (or queues) a reload; `done` runs once it is decided.
    virtual void reload(std::function<void(const vigil::control::ReloadResult&)> done) = 0;
    // The running config.
    virtual vigil::control::ConfigResponse config() = 0;
};

// Who may use the socket.
struct PeerPolicy {
    uid_t uid = 0;  // the daemon's own
    gid_t gid = 0;
    // True when a peer with these credentials is allowed.
    bool allows(uid_t peer_uid, gid_t peer_gid) const {
        return peer_uid == 0 || peer_uid == uid || peer_gid == gid;
    }
};

class ControlServer {
  public:
    // `listening` is a bound, listening AF_UNIX stream socket; `path` is only for logs and the unlink at
    // close.
    ControlServer(asio::io_context& io, common::ipc::UniqueFd listening, std::string path, PeerPolicy policy,
                  ControlHandler& handler);
    ~ControlServer();

    // Starts accepting.
    void start();
    // Stops accepting, removes the socket file (when allowed) and closes open connections.
    void close();

    // Answers one decoded request; `reply` may run later (reload). Public for tests.
    static void serve(ControlHandler& handler, const vigil::control::Request& request,
                      std::function<void(const vigil::control::Response&)> reply);

  private:
    class Connection;
    void accept_next();

    asio::io_context& io_;
    asio::local::stream_protocol::acceptor acceptor_;
    std::string path_;
    PeerPolicy policy_;
    ControlHandler& handler_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::parent
