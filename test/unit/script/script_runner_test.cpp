#include "common/script/script_runner.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

using namespace std::chrono_literals;
using vigil::common::script::Runner;
using vigil::common::script::ScriptResult;
using vigil::common::script::ScriptSpec;
using vigil::common::script::split_command;

namespace {

// Runs one script to completion on a fresh loop.
ScriptResult run_one(ScriptSpec spec) {
    asio::io_context io;
    Runner runner(io);
    ScriptResult result;
    bool called = false;
    runner.run(spec, [&](const ScriptResult& r) {
        result = r;
        called = true;
    });
    io.run();
    REQUIRE(called);
    REQUIRE(runner.running() == 0);
    return result;
}

ScriptSpec sh(const std::string& code, std::chrono::milliseconds timeout = 5s) {
    ScriptSpec s;
    s.argv = {"/bin/sh", "-c", code};
    s.timeout = timeout;
    return s;
}

}  // namespace

TEST_CASE("split_command splits on blanks and keeps quoted words together", "[script]") {
    CHECK(split_command("/usr/bin/pgrep -x haproxy") ==
          std::vector<std::string>{"/usr/bin/pgrep", "-x", "haproxy"});
    CHECK(split_command("  /bin/check  'two words' \"and three words\"  ") ==
          std::vector<std::string>{"/bin/check", "two words", "and three words"});
    CHECK(split_command("a '' b") == std::vector<std::string>{"a", "", "b"});
    CHECK(split_command("").empty());
}

TEST_CASE("a script's exit status is reported", "[script]") {
    auto ok = run_one(sh("exit 0"));
    CHECK(ok.ok());
    CHECK(ok.reason(5s) == "exit 0");
    auto bad = run_one(sh("exit 3"));
    CHECK_FALSE(bad.ok());
    CHECK(bad.kind == ScriptResult::Kind::kExited);
    CHECK(bad.code == 3);
    CHECK(bad.reason(5s) == "exit 3");
}

TEST_CASE("a script that outlives its timeout is killed and reported as a timeout", "[script]") {
    auto r = run_one(sh("sleep 30", 200ms));
    CHECK(r.kind == ScriptResult::Kind::kTimedOut);
    CHECK(r.reason(200ms) == "timeout after 200 ms");
    CHECK(r.reason(3s) == "timeout after 3 s");
}

TEST_CASE("a script that ignores TERM is killed after the grace period", "[script]") {
    auto spec = sh("trap '' TERM; sleep 30", 200ms);
    spec.kill_grace = 200ms;
    auto r = run_one(spec);
    CHECK(r.kind == ScriptResult::Kind::kTimedOut);
}

TEST_CASE("a missing program is a spawn failure with the reason", "[script]") {
    ScriptSpec s;
    s.argv = {"/nonexistent/vigil-script"};
    auto r = run_one(s);
    CHECK(r.kind == ScriptResult::Kind::kSpawnFailed);
    CHECK(r.reason(1s) == "cannot start: No such file or directory");
}

TEST_CASE("a script runs with no capabilities and no inherited descriptors", "[script]") {
    char path[] = "/tmp/vigil-script-test-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    // An fd the runner's process holds open must not reach the script.
    int leak = open("/dev/null", O_RDONLY);
    REQUIRE(leak >= 0);
    auto r = run_one(sh("grep -E '^Cap(Eff|Prm|Amb):' /proc/self/status > " + std::string(path) +
                        "; ls /proc/self/fd >> " + path));
    close(leak);
    CHECK(r.ok());
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    unlink(path);
    CHECK(text.str().find("CapEff:\t0000000000000000") != std::string::npos);
    CHECK(text.str().find("CapPrm:\t0000000000000000") != std::string::npos);
    CHECK(text.str().find("CapAmb:\t0000000000000000") != std::string::npos);
    CHECK(text.str().find("\n" + std::to_string(leak) + "\n") == std::string::npos);
}

TEST_CASE("several scripts run at once without blocking each other", "[script]") {
    asio::io_context io;
    Runner runner(io);
    int finished = 0;
    std::vector<int> order;
    runner.run(sh("sleep 0.3; exit 1"), [&](const ScriptResult& r) {
        order.push_back(r.code);
        ++finished;
    });
    runner.run(sh("exit 2"), [&](const ScriptResult& r) {
        order.push_back(r.code);
        ++finished;
    });
    CHECK(runner.running() == 2);
    io.run();
    CHECK(finished == 2);
    // The fast one finished first although it started second.
    CHECK(order == std::vector<int>{2, 1});
}

TEST_CASE("lookup_user resolves names and numeric ids", "[script]") {
    auto root = vigil::common::script::lookup_user("root");
    REQUIRE(root);
    CHECK(root->first == 0u);
    auto by_id = vigil::common::script::lookup_user("0");
    REQUIRE(by_id);
    CHECK(by_id->first == 0u);
    CHECK_FALSE(vigil::common::script::lookup_user("no-such-user-vigil"));
    CHECK_FALSE(vigil::common::script::lookup_user(""));
}
