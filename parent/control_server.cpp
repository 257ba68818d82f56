#include "parent/control_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>

#include "parent/framing.hpp"

namespace vigil::parent {

using asio::local::stream_protocol;

class ControlServer::Connection : public std::enable_shared_from_this<ControlServer::Connection> {
  public:
    Connection(stream_protocol::socket socket, ControlHandler& handler, std::string peer)
        : socket_(std::move(socket)), handler_(handler), peer_(std::move(peer)) {}

    void start() { read_more(); }

  private:
    void read_more() {
        auto self = shared_from_this();
        socket_.async_read_some(asio::buffer(buf_), [self](const asio::error_code& ec, std::size_t n) {
            if (ec) return;  // closed or reset: nothing to answer
            self->reader_.feed(std::string_view(self->buf_.data(), n));
            self->drain();
        });
    }

    void drain() {
        if (busy_) return;  // one request at a time: the next waits for this answer
        if (auto payload = reader_.next()) {
            vigil::control::Request req;
            if (!req.ParseFromString(*payload)) {
                vigil::control::Response resp;
                resp.set_error("malformed request");
                spdlog::warn("control: {} sent a malformed request", peer_);
                write(resp, /*close_after=*/true);
                return;
            }
            busy_ = true;
            // The callback holds the connection open while a reload is decided (bounded by its timeout).
            ControlServer::serve(handler_, req,
                                 [self = shared_from_this()](const vigil::control::Response& resp) {
                                     self->busy_ = false;
                                     self->write(resp, false);
                                 });
            return;
        }
        if (!reader_.error().empty()) {
            spdlog::warn("control: {}: {}", peer_, reader_.error());
            asio::error_code ignored;
            socket_.close(ignored);
            return;
        }
        read_more();
    }

    void write(const vigil::control::Response& resp, bool close_after) {
        auto bytes = std::make_shared<std::string>(frame(resp.SerializeAsString()));
        auto self = shared_from_this();
        asio::async_write(socket_, asio::buffer(*bytes),
                          [self, bytes, close_after](const asio::error_code& ec, std::size_t) {
                              if (ec || close_after) {
                                  asio::error_code ignored;
                                  self->socket_.close(ignored);
                                  return;
                              }
                              self->drain();
                          });
    }

    stream_protocol::socket socket_;
    ControlHandler& handler_;
    std::string peer_;
    std::array<char, 4096> buf_{};
    FrameReader reader_;
    bool busy_ = false;
};

ControlServer::ControlServer(asio::io_context& io, common::ipc::UniqueFd listening, std::string path,
                             PeerPolicy policy, ControlHandler& handler)
    : io_(io), acceptor_(io), path_(std::move(path)), policy_(policy), handler_(handler) {
    acceptor_.assign(stream_protocol(), listening.release());
}

ControlServer::~ControlServer() {
    *alive_ = false;
}

void ControlServer::start() {
    accept_next();
}

void ControlServer::close() {
    if (!acceptor_.is_open()) return;
    asio::error_code ignored;
    acceptor_.close(ignored);
    ::unlink(path_.c_str());
}

void ControlServer::accept_next() {
    acceptor_.async_accept(
        [this, alive = alive_](const asio::error_code& ec, stream_protocol::socket socket) {
            if (!*alive || ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
            if (!ec) {
                ucred cred{};
                socklen_t len = sizeof cred;
                if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
                    spdlog::warn("control: cannot read the peer's credentials: refused");
                } else if (!policy_.allows(cred.uid, cred.gid)) {
                    spdlog::warn(
                        "control: refused a client with uid {} gid {} (pid {}): only root, uid {} or gid {} "
                        "may use {}",
                        cred.uid, cred.gid, cred.pid, policy_.uid, policy_.gid, path_);
                } else {
                    auto peer = "pid " + std::to_string(cred.pid) + " uid " + std::to_string(cred.uid);
                    std::make_shared<Connection>(std::move(socket), handler_, std::move(peer))->start();
                }
            } else {
                spdlog::warn("control: accept: {}", ec.message());
            }
            accept_next();
        });
}

void ControlServer::serve(ControlHandler& handler, const vigil::control::Request& request,
                          std::function<void(const vigil::control::Response&)> reply) {
    vigil::control::Response resp;
    switch (request.kind_case()) {
        case vigil::control::Request::kStatus:
            handler.status([reply](const vigil::control::StatusResponse& s) {
                vigil::control::Response out;
                *out.mutable_status() = s;
                reply(out);
            });
            return;
        case vigil::control::Request::kConfig:
            *resp.mutable_config() = handler.config();
            break;
        case vigil::control::Request::kReload:
            handler.reload([reply](const vigil::control::ReloadResult& r) {
                vigil::control::Response out;
                *out.mutable_reload() = r;
                reply(out);
            });
            return;
        default:
            resp.set_error("unknown request");
            break;
    }
    reply(resp);
}

}  // namespace vigil::parent
