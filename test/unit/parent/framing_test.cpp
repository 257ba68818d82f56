#include <catch2/catch.hpp>

#include "parent/framing.hpp"
#include "proto/control.pb.h"

using vigil::parent::frame;
using vigil::parent::FrameReader;

TEST_CASE("a frame is a 4-byte big-endian length and the payload") {
    auto f = frame("abc");
    REQUIRE(f.size() == 7);
    CHECK(f.substr(0, 4) == std::string("\0\0\0\3", 4));
    CHECK(f.substr(4) == "abc");
}

TEST_CASE("the reader returns whole frames however the bytes are split") {
    auto bytes = frame("hello") + frame("") + frame("world!");
    FrameReader r;
    std::vector<std::string> got;
    for (char c : bytes) {
        r.feed(std::string_view(&c, 1));
        while (auto p = r.next()) got.push_back(*p);
    }
    CHECK(got == std::vector<std::string>{"hello", "", "world!"});
    CHECK(r.buffered() == 0);
}

TEST_CASE("an incomplete frame waits for more bytes") {
    FrameReader r;
    auto f = frame("payload");
    r.feed(f.substr(0, 6));
    CHECK_FALSE(r.next());
    r.feed(f.substr(6));
    CHECK(r.next() == std::optional<std::string>("payload"));
}

TEST_CASE("a frame announcing more than the limit is an error, and the reader stays failed") {
    FrameReader r;
    r.feed(std::string("\x7f\xff\xff\xff", 4));
    CHECK_FALSE(r.next());
    CHECK_THAT(r.error(), Catch::Contains("exceeds the limit"));
    r.feed(frame("x"));
    CHECK_FALSE(r.next());
}

TEST_CASE("a Request survives framing") {
    vigil::control::Request req;
    req.mutable_reload();
    FrameReader r;
    r.feed(frame(req.SerializeAsString()));
    auto p = r.next();
    REQUIRE(p);
    vigil::control::Request back;
    REQUIRE(back.ParseFromString(*p));
    CHECK(back.has_reload());
}
