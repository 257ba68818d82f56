#pragma once
// Helpers for the check tests: run a check on a loop shared with in-process servers, temporary files.

#include <netinet/in.h>
#include <sys/socket.h>

#include <asio.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "checker_child/check.hpp"

namespace vigil::check::test {

// Runs `check` on `io` (where the test's servers also run) until it completes; fails the test on a hang.
inline CheckResult run_check(asio::io_context& io, Check& check,
                             std::chrono::seconds limit = std::chrono::seconds(20)) {
    std::optional<CheckResult> result;
    asio::co_spawn(io, check.run(), [&](std::exception_ptr e, CheckResult r) {
        result = e ? CheckResult{false, "exception", {}} : r;
    });
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!result && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_for(std::chrono::milliseconds(50));
    }
    if (!result) return CheckResult{false, "TEST HARNESS: check did not complete", {}};
    return *result;
}

// A listener with backlog 0 that never accepts, its queue filled: further SYNs are dropped and a connect to
// it hangs until its deadline.
struct BlackHole {
    asio::ip::tcp::acceptor acceptor;
    std::vector<asio::ip::tcp::socket> fillers;
    uint16_t port = 0;
    explicit BlackHole(asio::io_context& io) : acceptor(io) {
        acceptor.open(asio::ip::tcp::v4());
        acceptor.bind(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        acceptor.listen(0);
        port = acceptor.local_endpoint().port();
        // Non-blocking connects that stay pending (asio's synchronous connect would wait for them).
        for (int i = 0; i < 3; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) throw std::system_error(errno, std::system_category(), "socket");
            sockaddr_in sin{};
            sin.sin_family = AF_INET;
            sin.sin_port = htons(port);
            sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            [[maybe_unused]] int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
            fillers.emplace_back(io, asio::ip::tcp::v4(), fd);
        }
    }
};

// Runs `io` until `done()` or the limit.
template <typename Pred>
bool run_until(asio::io_context& io, Pred done, std::chrono::seconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_for(std::chrono::milliseconds(20));
    }
    return done();
}

// A fresh temporary directory, removed at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-check-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    // Writes an executable script and returns its path.
    std::string script(const std::string& name, const std::string& body) const {
        const auto p = path / name;
        std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
        std::filesystem::permissions(
            p, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                   std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                   std::filesystem::perms::others_exec);
        return p.string();
    }
    std::string file(const std::string& name, const std::string& content) const {
        const auto p = path / name;
        std::ofstream(p) << content;
        return p.string();
    }
};

inline ConnectTarget loopback(uint16_t port, const std::string& ip = "127.0.0.1") {
    ConnectTarget t;
    t.ip = ip;
    t.port = port;
    return t;
}

}  // namespace vigil::check::test
