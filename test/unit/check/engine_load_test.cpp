// The engine under more simultaneous checks than the process has descriptors for: the checks beyond its
// budget wait for a running one to finish instead of failing with EMFILE.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <filesystem>

#include "checker_child/engine.hpp"
#include "test/unit/check/support.hpp"

using namespace vigil::check;
using namespace vigil::check::test;
using namespace std::chrono_literals;

namespace {

// Lowers the soft RLIMIT_NOFILE for the scope of a test.
struct FileLimit {
    rlimit saved{};
    explicit FileLimit(rlim_t soft) {
        ::getrlimit(RLIMIT_NOFILE, &saved);
        rlimit lowered = saved;
        lowered.rlim_cur = soft;
        ::setrlimit(RLIMIT_NOFILE, &lowered);
    }
    ~FileLimit() { ::setrlimit(RLIMIT_NOFILE, &saved); }
};

std::size_t open_descriptors() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

uint16_t closed_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

}  // namespace

TEST_CASE("engine: 300 TCP checks due at once with a budget of ~25 descriptors all run, none hits EMFILE") {
    const uint16_t port = closed_port();
    CheckerConfig config;
    VirtualServerSpec vs;
    vs.name = "10.0.0.1:80 TCP";
    for (int i = 0; i < 300; ++i) {
        CheckSpec c;
        c.timing.delay_loop = 10s;
        c.timing.warmup = 1ms;  // all due in the same turn of the loop
        c.timing.retry = 0;
        c.timing.connect_timeout = 5s;
        c.target = loopback(port);
        c.params = TcpParams{};
        RealServerSpec rs;
        rs.ip = "127.0.0.1";
        rs.port = static_cast<uint16_t>(20000 + i);
        rs.weight = 1;
        rs.checks = {c};
        vs.real_servers.push_back(rs);
    }
    config.virtual_servers = {vs};

    asio::io_context io;
    std::vector<HealthEvent> health;
    Engine::Sinks sinks;
    sinks.on_health = [&](const HealthEvent& e) { health.push_back(e); };
    FileLimit limit(open_descriptors() + 50);
    Engine engine(io.get_executor(), config, sinks);
    engine.start();
    REQUIRE(run_until(io, [&] { return health.size() == 300; }));
    std::size_t refused = 0;
    for (const auto& e : health) refused += e.reason == "connection refused" ? 1 : 0;
    CHECK(refused == 300);
    CHECK_FALSE(health.front().up);
}
