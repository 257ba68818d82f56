#include "common/script/script_runner.hpp"

#include "common/sys/sched.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>
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
    // A backslash escapes outside quotes and inside double quotes; single quotes keep it.
    CHECK(split_command(R"(a\ b "c\"d" 'e\f')") == std::vector<std::string>{"a b", "c\"d", "e\\f"});
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
    CHECK(r.reason(200ms) == "timeout after 0.2 s");
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
    CHECK(r.reason(1s) == "cannot exec /nonexistent/vigil-script: No such file or directory");
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
                        "; ls /proc/$$/fd >> " + path));  // the shell's, not ls's own
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

// Runs `code` under sh and returns what it wrote to the file it was given as $1.
std::string output_of(const std::string& code, std::chrono::milliseconds timeout = 5s) {
    char path[] = "/tmp/vigil-script-test-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    auto spec = sh(code, timeout);
    spec.argv.push_back("sh");
    spec.argv.push_back(path);
    run_one(spec);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    unlink(path);
    return text.str();
}

TEST_CASE("a script gets /dev/null as stdin and stdout, and the usual soft limit of 1,024 descriptors",
          "[script]") {
    rlimit before{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &before) == 0);
    rlimit raised = before;
    raised.rlim_cur = raised.rlim_max;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &raised) == 0);
    // A descriptor far above 1,024, as vigil-checker holds at 50,000 real servers, must not reach it either.
    // (not close-on-exec: the runner has to close it).
    int high = -1;
    if (raised.rlim_cur > 5000) {
        const int low = open("/dev/null", O_RDONLY);
        high = fcntl(low, F_DUPFD, 5000);
        close(low);
    }
    // The shell's own descriptors, read before any redirection of its own (dash redirects in place).
    const std::string script = R"sh(i=$(readlink /proc/$$/fd/0); o=$(readlink /proc/$$/fd/1)
fds=$(ls /proc/$$/fd); n=$(ulimit -Sn)
printf '%s\n%s\n%s\n%s\n' "$i" "$o" "$n" "$fds" > "$1")sh";
    const auto out = output_of(script);
    setrlimit(RLIMIT_NOFILE, &before);
    CHECK(out.rfind("/dev/null\n/dev/null\n", 0) == 0);
    CHECK(out.find("\n" + std::to_string(std::min<rlim_t>(1024, raised.rlim_max)) + "\n") !=
          std::string::npos);
    if (high >= 0) {
        CHECK(out.find("\n" + std::to_string(high) + "\n") == std::string::npos);
        close(high);
    }
}

namespace {

// se.slice from /proc/PID/sched (ns), or -1 where the kernel does not show it.
long long slice_of(const std::string& sched_text) {
    std::istringstream in(sched_text);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("se.slice", 0) == 0) return std::stoll(line.substr(line.find(':') + 1));
    return -1;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Custom SCHED_OTHER slices came with EEVDF's sched_runtime in Linux 6.12.
bool kernel_has_custom_slices() {
    utsname u{};
    int major = 0, minor = 0;
    return uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
           (major > 6 || (major == 6 && minor >= 12));
}

}  // namespace

TEST_CASE("a process may ask for a short time slice, and a script it starts gets the default back",
          "[script]") {
    const long long before = slice_of(read_file("/proc/self/sched"));
    REQUIRE(vigil::common::sys::request_slice(300us));
    const long long asked = slice_of(read_file("/proc/self/sched"));
    const auto script = output_of(R"(cat /proc/self/sched > "$1")");
    vigil::common::sys::reset_slice();
    const long long after = slice_of(read_file("/proc/self/sched"));
    if (!kernel_has_custom_slices() || before < 0) {
        WARN("this kernel has no custom time slices; only the calls were checked");
        return;
    }
    CHECK(asked == 300'000);
    CHECK(slice_of(script) == before);
    CHECK(after == before);
}

TEST_CASE("a timeout ends the script's own children too: it leads its own process group", "[script]") {
    const auto out =
        output_of(R"(sleep 30 & echo $! > "$1"; ps -o sid= -p $$ >> "$1"; echo $$ >> "$1"; wait)", 300ms);
    std::istringstream in(out);
    pid_t child = 0, sid = 0, self = 0;
    in >> child >> sid >> self;
    REQUIRE(child > 0);
    CHECK(sid == self);  // the script leads its session
    // The background sleep went with it (TERM to the group), so it is gone or a zombie of nobody's.
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string line;
    if (std::getline(stat, line)) CHECK(line.find(") Z ") != std::string::npos);
}

TEST_CASE("destroying the runner kills the scripts still running and calls nobody back", "[script]") {
    asio::io_context io;
    int called = 0;
    pid_t pid = 0;
    char path[] = "/tmp/vigil-script-test-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    {
        Runner runner(io);
        auto spec = sh(R"(echo $$ > "$1"; exec sleep 30)");
        spec.argv.push_back("sh");
        spec.argv.push_back(path);
        runner.run(spec, [&](const ScriptResult&) { ++called; });
        runner.run(sh("exit 0"), {});  // no callback at all is allowed
        for (int i = 0; i < 200 && pid == 0; ++i) {
            io.run_for(10ms);
            std::ifstream(path) >> pid;
        }
        REQUIRE(pid > 0);
    }
    unlink(path);
    io.restart();
    io.run_for(50ms);
    CHECK(called == 0);
    CHECK(kill(pid, 0) != 0);  // killed and reaped
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
    CHECK(vigil::common::script::lookup_group("root") == std::optional<gid_t>(0));
    CHECK(vigil::common::script::lookup_group("0") == std::optional<gid_t>(0));
    CHECK_FALSE(vigil::common::script::lookup_group("no-such-group-vigil"));
}
