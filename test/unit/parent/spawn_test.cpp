#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/sys/pid_file.hpp"
#include "common/sys/spawn.hpp"

using namespace vigil::common::sys;

namespace {

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / (name + "." + std::to_string(::getpid()))).string();
}

int wait_for(pid_t pid) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    return st;
}

}  // namespace

TEST_CASE("a spawned child gets the passed descriptor as fd 3 and no other above 2") {
    const auto out = temp_path("vigil-spawn-fds");
    // Leaked on purpose: not close-on-exec, so only spawn's cleanup can keep them from the child.
    // Numbered above anything the shell uses (it keeps its own at 10), so their absence means spawn closed
    // them.
    const int base = ::open("/dev/null", O_RDONLY);
    int leak1 = ::fcntl(base, F_DUPFD, 40);
    int leak2 = ::fcntl(base, F_DUPFD, 41);
    ::close(base);
    int pass = ::open("/dev/null", O_RDONLY);
    REQUIRE((leak1 >= 0 && leak2 >= 0 && pass >= 0));
    SpawnRequest req;
    req.path = "/bin/sh";
    // The shell lists its descriptors (fd 3 must be /dev/null), ls opens one more for /proc/self/fd itself.
    req.argv = {"sh", "-c", "readlink /proc/$$/fd/3 > " + out + "; ls /proc/$$/fd >> " + out};
    req.pass_fd = pass;
    req.pass_as = 3;
    auto pid = spawn(req);
    REQUIRE(pid.ok());
    auto st = wait_for(pid.value());
    CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
    std::ifstream in(out);
    std::string target;
    std::getline(in, target);
    CHECK(target == "/dev/null");
    std::set<int> fds;
    for (std::string line; std::getline(in, line);) fds.insert(std::stoi(line));
    // 0-2, 3, and at most the shell's own script/redirection descriptors at 10 or above.
    for (int fd : fds) CHECK((fd <= 3 || fd >= 10));
    CHECK(fds.count(leak1) == 0);
    CHECK(fds.count(leak2) == 0);
    ::close(leak1);
    ::close(leak2);
    ::close(pass);
    std::filesystem::remove(out);
}

TEST_CASE("a spawn whose exec fails reports why") {
    SpawnRequest req;
    req.path = "/nonexistent/vigil-child";
    req.argv = {"vigil-child"};
    auto pid = spawn(req);
    REQUIRE_FALSE(pid.ok());
    CHECK_THAT(pid.error(), Catch::Contains("exec") && Catch::Contains("No such file"));
    int st;
    while (::waitpid(-1, &st, WNOHANG) > 0) {
    }
}

TEST_CASE("a second pid file on the same path is refused while the first is held") {
    const auto path = temp_path("vigil-pidfile");
    {
        auto first = PidFile::create(path);
        REQUIRE(first.ok());
        std::ifstream in(path);
        int written = 0;
        in >> written;
        CHECK(written == ::getpid());
        auto second = PidFile::create(path);
        REQUIRE_FALSE(second.ok());
        CHECK_THAT(second.error(), Catch::Contains("held by a running process"));
    }
    CHECK_FALSE(std::filesystem::exists(path));
}
