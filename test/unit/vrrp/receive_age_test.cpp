#include "vrrp_child/socket.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using vigil::vrrp::receive_age;

TEST_CASE("a datagram's age is the time from the kernel's stamp to its reading", "[vrrp][socket]") {
    CHECK(receive_age({100, 999'000'000}, {101, 250'000}) == 1'250'000ns);
    CHECK(receive_age({100, 0}, {100, 0}) == 0ns);
    CHECK(receive_age({100, 0}, {101, 0}) == 1s);
}

TEST_CASE("an age the wall clock's steps could have made is not trusted", "[vrrp][socket]") {
    CHECK(receive_age({100, 500}, {100, 499}) == 0ns);  // read before it arrived: the clock went back
    CHECK(receive_age({100, 0}, {101, 1}) == 0ns);      // over a second: the clock went forward
    CHECK(receive_age({100, 0}, {5000, 0}) == 0ns);
}
