#include <catch2/catch.hpp>

#include <optional>

#include "parent/control_server.hpp"

using namespace vigil;
using parent::ControlServer;

namespace {

class FakeHandler : public parent::ControlHandler {
  public:
    void status(std::function<void(const control::StatusResponse&)> done) override {
        control::StatusResponse s;
        s.set_version("test");
        done(s);
    }
    void reload(std::function<void(const control::ReloadResult&)> done) override {
        pending = std::move(done);
    }
    control::ConfigResponse config() override {
        control::ConfigResponse c;
        c.set_generation(7);
        return c;
    }
    std::function<void(const control::ReloadResult&)> pending;
};

}  // namespace

TEST_CASE("status and config requests are answered at once") {
    FakeHandler h;
    control::Request req;
    req.mutable_status();
    std::optional<control::Response> got;
    ControlServer::serve(h, req, [&](const control::Response& r) { got = r; });
    REQUIRE(got);
    CHECK(got->status().version() == "test");
    req.mutable_config();
    got.reset();
    ControlServer::serve(h, req, [&](const control::Response& r) { got = r; });
    REQUIRE(got);
    CHECK(got->config().generation() == 7);
}

TEST_CASE("a reload request is answered only once the reload is decided") {
    FakeHandler h;
    control::Request req;
    req.mutable_reload();
    std::optional<control::Response> got;
    ControlServer::serve(h, req, [&](const control::Response& r) { got = r; });
    CHECK_FALSE(got);
    REQUIRE(h.pending);
    control::ReloadResult result;
    result.set_ok(false);
    result.add_errors("x.conf:1:1: error: bad");
    h.pending(result);
    REQUIRE(got);
    CHECK_FALSE(got->reload().ok());
    CHECK(got->reload().errors_size() == 1);
}

TEST_CASE("an empty request gets an error, not silence") {
    FakeHandler h;
    std::optional<control::Response> got;
    ControlServer::serve(h, control::Request{}, [&](const control::Response& r) { got = r; });
    REQUIRE(got);
    CHECK(got->error() == "unknown request");
}

TEST_CASE("only root, the daemon's uid or its gid may use the control socket") {
    parent::PeerPolicy p{998, 997};
    CHECK(p.allows(0, 1000));
    CHECK(p.allows(998, 1000));
    CHECK(p.allows(1000, 997));
    CHECK_FALSE(p.allows(1000, 1000));
}
