// vigilctl: asks a running vigild, over its control socket, for its status, a reload or its running config.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "common/ipc/unique_fd.hpp"
#include "parent/framing.hpp"
#include "parent/status_report.hpp"
#include "proto/control.pb.h"

namespace {

using vigil::common::ipc::UniqueFd;

constexpr const char* kUsage = R"(Usage: vigilctl [-s PATH] COMMAND
Talk to a running vigild over its control socket.

Commands:
  status [--json]   children, VRRP instances, virtual and real servers (--json: protobuf JSON)
  reload            re-read the configuration and apply it; waits for the result, exits 1 when refused
  config            the running configuration as JSON

Options:
  -s, --socket PATH  control socket (default /run/vigil/vigil.sock)
  -h, --help         this help
)";

struct Failure {
    std::string message;
};

UniqueFd connect_to(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) throw Failure{"socket path too long: " + path};
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw Failure{std::string("socket: ") + std::strerror(errno)};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        std::string hint = err == EACCES ? " (only root and vigild's user or group may use it)"
                           : err == ENOENT || err == ECONNREFUSED ? " (is vigild running? see -s)"
                                                                  : "";
        throw Failure{"cannot connect to " + path + ": " + std::strerror(err) + hint};
    }
    return fd;
}

vigil::control::Response call(const std::string& path, const vigil::control::Request& req) {
    auto fd = connect_to(path);
    const auto out = vigil::parent::frame(req.SerializeAsString());
    for (std::size_t off = 0; off < out.size();) {
        auto n = ::send(fd.get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Failure{std::string("sending the request: ") + std::strerror(errno)};
        off += static_cast<std::size_t>(n);
    }
    vigil::parent::FrameReader reader;
    char buf[65536];
    for (;;) {
        if (auto payload = reader.next()) {
            vigil::control::Response resp;
            if (!resp.ParseFromString(*payload)) throw Failure{"malformed response from vigild"};
            return resp;
        }
        if (!reader.error().empty()) throw Failure{"bad response from vigild: " + reader.error()};
        auto n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Failure{std::string("reading the response: ") + std::strerror(errno)};
        if (n == 0)
            throw Failure{
                "vigild closed the connection without an answer (refused: only root and vigild's user "
                "or group may use the control socket)"};
        reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
}

int print_reload(const vigil::control::ReloadResult& r) {
    if (r.ok()) {
        std::cout << "reload ok: generation " << r.generation() << " running\n";
    } else {
        std::cout << "reload refused: generation " << r.generation() << " keeps running\n";
    }
    for (const auto& e : r.errors()) std::cout << "  error: " << e << "\n";
    for (const auto& w : r.warnings()) std::cout << "  warning: " << w << "\n";
    for (const auto& c : r.children())
        std::cout << "  " << c.role() << ": " << (c.ok() ? "acked" : "refused") << "\n";
    return r.ok() ? 0 : 1;
}

int run(int argc, char** argv) {
    std::string socket_path = "/run/vigil/vigil.sock";
    std::string command;
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::cout << kUsage;
            return 0;
        } else if (a == "-s" || a == "--socket") {
            if (++i >= argc) throw Failure{"-s needs a path"};
            socket_path = argv[i];
        } else if (a.rfind("--socket=", 0) == 0) {
            socket_path = a.substr(9);
        } else if (a == "--json") {
            json = true;
        } else if (command.empty() && a[0] != '-') {
            command = a;
        } else {
            std::cerr << "vigilctl: unexpected argument '" << a << "'\n" << kUsage;
            return 2;
        }
    }
    vigil::control::Request req;
    if (command == "status")
        req.mutable_status();
    else if (command == "reload")
        req.mutable_reload();
    else if (command == "config")
        req.mutable_config();
    else {
        std::cerr << (command.empty() ? "vigilctl: a command is needed\n"
                                      : "vigilctl: unknown command '" + command + "'\n")
                  << kUsage;
        return 2;
    }
    if (json && command != "status") {
        std::cerr << "vigilctl: --json goes with status\n";
        return 2;
    }
    auto resp = call(socket_path, req);
    switch (resp.kind_case()) {
        case vigil::control::Response::kStatus:
            std::cout << (json ? vigil::parent::to_json(resp.status()) + "\n"
                               : vigil::parent::format_status_text(resp.status()));
            return 0;
        case vigil::control::Response::kReload:
            return print_reload(resp.reload());
        case vigil::control::Response::kConfig:
            std::cout << vigil::parent::to_json(resp.config().config()) << "\n";
            return 0;
        case vigil::control::Response::kError:
            throw Failure{"vigild: " + resp.error()};
        default:
            throw Failure{"empty response from vigild"};
    }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const Failure& f) {
        std::cerr << "vigilctl: " << f.message << "\n";
        return 1;
    }
}
