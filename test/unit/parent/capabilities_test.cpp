#include <catch2/catch.hpp>

#include <pwd.h>

#include "common/sys/capabilities.hpp"

using namespace vigil::common::sys;

TEST_CASE("the Cap lines of /proc/PID/status are parsed") {
    auto r = parse_proc_status_caps(
        "Name:\tvigild\nCapInh:\t0000000000003000\nCapPrm:\t0000000000003000\nCapEff:\t0000000000000000\n"
        "CapBnd:\t0000000000003000\nCapAmb:\t0000000000003000\n");
    REQUIRE(r.ok());
    CHECK(r.value().effective == 0);
    CHECK(r.value().permitted == (cap_bit(12) | cap_bit(13)));
    CHECK(r.value().ambient == 0x3000);
    CHECK(r.value().bounding == 0x3000);
}

TEST_CASE("a status without all five Cap lines is refused with a reason") {
    auto r = parse_proc_status_caps("CapEff:\t0\n");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("found 1"));
    auto bad = parse_proc_status_caps("CapInh:\tzz\n");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error(), Catch::Contains("bad value"));
}

TEST_CASE("capability masks are named as in the documentation") {
    CHECK(describe_caps(0) == "none");
    CHECK(describe_caps(cap_bit(12) | cap_bit(13)) == "CAP_NET_ADMIN, CAP_NET_RAW");
}

TEST_CASE("this process's own sets can be read") {
    auto r = read_capabilities();
    REQUIRE(r.ok());
    CHECK((r.value().effective & ~r.value().permitted) == 0);
}

TEST_CASE("a user is looked up by name, and a missing one is named in the error") {
    auto root = vigil::common::sys::lookup_user("root");
    REQUIRE(root);
    CHECK(root.value().uid == 0);
    CHECK(root.value().gid == 0);
    CHECK(root.value().name == "root");
    auto nobody = vigil::common::sys::lookup_user("nobody");
    const passwd* direct = ::getpwnam("nobody");
    REQUIRE(direct != nullptr);
    REQUIRE(nobody);
    CHECK(nobody.value().uid == direct->pw_uid);
    CHECK(nobody.value().gid == direct->pw_gid);
    auto missing = vigil::common::sys::lookup_user("no-such-user-vigil");
    REQUIRE_FALSE(missing);
    CHECK(missing.error() == "no user named 'no-such-user-vigil'");
}
