// One Instance driven directly: the actions it returns for each input.

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

#include <sstream>

#include "test/unit/vrrp/sim.hpp"
#include "vrrp_child/state_machine.hpp"

using namespace vigil::vrrp;
using namespace std::chrono_literals;

namespace {

TimePoint t0() {
    return TimePoint{} + 100s;
}

template <class T>
std::vector<T> all_of(const Actions& actions) {
    std::vector<T> out;
    for (const auto& a : actions)
        if (auto* x = std::get_if<T>(&a)) out.push_back(*x);
    return out;
}

Advert advert_from(std::uint8_t priority, const InstanceConfig& c) {
    Advert ad;
    ad.version = c.version;
    ad.vrid = c.vrid;
    ad.priority = priority;
    ad.interval_field = 100;
    for (const auto& v : c.vips) ad.addresses.push_back(v.address);
    return ad;
}

const IpFacts kFromPeer{Family::kIpv4, *IpAddr::parse("10.0.0.9"), vrrp_group_v4(), 255, true};

}  // namespace

TEST_CASE("start as backup arms Master_Down_Timer and notifies BACKUP", "[vrrp][instance]") {
    Instance i(sim::v3_instance(100));
    auto out = i.start(t0());
    CHECK(i.state() == State::kBackup);
    auto arms = all_of<ArmTimer>(out);
    REQUIRE(arms.size() == 1);
    CHECK(arms[0].timer == TimerId::kMasterDownTimer);
    CHECK(arms[0].at == t0() + 3s + Duration(156 * 1'000'000 / 256));
    auto t = all_of<Transition>(out);
    REQUIRE(t.size() == 1);
    CHECK(t[0].from == State::kInitialize);
    CHECK(t[0].to == State::kBackup);
    auto n = all_of<Notify>(out);
    REQUIRE(n.size() == 1);
    CHECK(n[0].arguments() == std::vector<std::string>{"INSTANCE", "VI_1", "BACKUP", "100"});
    CHECK(i.stats().transitions == 1);
    CHECK(i.last_transition() == t0());
}

TEST_CASE("becoming master: addresses, advert, GARP burst, timers, then the notification",
          "[vrrp][instance]") {
    Instance i(sim::v3_instance(100));
    i.start(t0());
    auto due = *i.next_deadline();
    auto out = i.poll(due);
    CHECK(i.state() == State::kMaster);
    REQUIRE(out.size() >= 6);
    CHECK(std::holds_alternative<AddAddresses>(out[0]));
    CHECK(std::holds_alternative<SendAdvert>(out[1]));
    CHECK(std::get<SendGratuitous>(out[2]).repeat == 5);
    CHECK(std::holds_alternative<Notify>(out.back()));
    CHECK(std::get<Notify>(out.back()).state == NotifyState::kMaster);
    CHECK(i.deadline(TimerId::kAdverTimer) == due + 1s);
    CHECK(i.deadline(TimerId::kGarpDelay) == due + 5s);
    CHECK_FALSE(i.deadline(TimerId::kMasterDownTimer));
    // The second GARP burst after garp_master_delay, then only adverts.
    auto later = i.poll(due + 5s);
    CHECK(all_of<SendGratuitous>(later).size() == 1);
    CHECK(all_of<SendAdvert>(later).size() == 1);
}

TEST_CASE("a master's adverts keep their cadence when it wakes late", "[vrrp][instance]") {
    Instance i(sim::v3_instance(100));
    i.start(t0());
    auto due = *i.next_deadline();
    i.poll(due);
    REQUIRE(i.state() == State::kMaster);
    // Woken 300 ms after the Adver_Timer was due: the next advert is still one interval after the last was
    // due.
    auto out = i.poll(due + 1s + 300ms);
    CHECK(all_of<SendAdvert>(out).size() == 1);
    CHECK(i.deadline(TimerId::kAdverTimer) == due + 2s);
    // Woken more than a whole interval late: one advert, and the cadence starts again from that wake-up.
    out = i.poll(due + 3s + 500ms);
    CHECK(all_of<SendAdvert>(out).size() == 1);
    CHECK(i.deadline(TimerId::kAdverTimer) == due + 4s + 500ms);
}

TEST_CASE("garp_master_refresh repeats while master", "[vrrp][instance]") {
    auto c = sim::v3_instance(255);
    c.garp.master_refresh = 60s;
    c.garp.master_refresh_repeat = 2;
    Instance i(c);
    i.start(t0());
    std::size_t bursts = 0;
    for (auto t = t0() + 1s; t <= t0() + 181s; t += 1s)
        for (const auto& g : all_of<SendGratuitous>(i.poll(t))) bursts += g.repeat == 2;
    CHECK(bursts == 3);
}

TEST_CASE("stale or early timer expiries do nothing", "[vrrp][instance]") {
    Instance i(sim::v3_instance(100));
    i.start(t0());
    CHECK(i.expire(TimerId::kMasterDownTimer, t0() + 1s).empty());
    CHECK(i.expire(TimerId::kAdverTimer, t0() + 10s).empty());
    CHECK(i.state() == State::kBackup);
}

TEST_CASE("a backup resets Master_Down_Timer on each accepted advert", "[vrrp][instance]") {
    auto c = sim::v3_instance(90);
    Instance i(c);
    i.start(t0());
    auto out = i.receive(advert_from(100, c), kFromPeer, t0() + 2s);
    auto arms = all_of<ArmTimer>(out);
    REQUIRE(arms.size() == 1);
    CHECK(arms[0].at == t0() + 2s + 3s + Duration(166 * 1'000'000 / 256));
    CHECK(i.master_address() == kFromPeer.source);
    CHECK(i.stats().adverts_received == 1);
}

TEST_CASE("a rejected advert is counted by reason and changes nothing", "[vrrp][instance]") {
    auto c = sim::v3_instance(90);
    Instance i(c);
    i.start(t0());
    auto deadline = i.deadline(TimerId::kMasterDownTimer);
    Advert other = advert_from(100, c);
    other.vrid = 9;
    CHECK(i.receive(other, kFromPeer, t0() + 1s).empty());
    CHECK(i.stats().rejected[static_cast<int>(Reason::kVridNotOurs)] == 1);
    CHECK(i.deadline(TimerId::kMasterDownTimer) == deadline);
}

TEST_CASE("resume as BACKUP: no transition, no notification", "[vrrp][instance]") {
    Instance i(sim::v3_instance(90));
    auto out = i.resume(State::kBackup, t0());
    CHECK(i.state() == State::kBackup);
    CHECK(all_of<Transition>(out).empty());
    CHECK(all_of<Notify>(out).empty());
    CHECK(i.deadline(TimerId::kMasterDownTimer));
}

TEST_CASE("resume as MASTER with the link down: releases at once", "[vrrp][instance]") {
    Instance i(sim::v3_instance(100));
    i.set_link("eth0", false, t0());
    auto out = i.resume(State::kMaster, t0());
    CHECK(i.state() == State::kFault);
    CHECK(all_of<RemoveAddresses>(out).size() == 1);
}

TEST_CASE(
    "resume as MASTER with a tracked virtual server's quorum lost beforehand: advertises the lowered "
    "priority",
    "[vrrp][instance]") {
    // What a restarted vigil-vrrp does with the quorum its predecessor was told (Engine::restore).
    auto c = sim::v3_instance(150);
    c.track_virtual_servers = {{"192.0.2.100:80 TCP", -100}};
    Instance i(c);
    CHECK(i.set_virtual_server("192.0.2.100:80 TCP", false, t0()).empty());
    CHECK(i.priority() == 50);
    auto out = i.resume(State::kMaster, t0());
    CHECK(i.state() == State::kMaster);
    CHECK(all_of<Transition>(out).empty());
    auto adverts = all_of<SendAdvert>(out);
    REQUIRE(adverts.size() == 1);
    CHECK(adverts[0].advert.priority == 50);
}

TEST_CASE("tracked interface with a weight lowers priority instead of FAULT", "[vrrp][instance]") {
    auto c = sim::v3_instance(100);
    c.track_interfaces = {{"eth1", -50}, {"eth2", 0}};
    Instance i(c);
    i.start(t0());
    i.set_link("eth1", false, t0());
    CHECK(i.state() == State::kBackup);
    CHECK(i.priority() == 50);
    i.set_link("eth2", false, t0());
    CHECK(i.state() == State::kFault);
    i.set_link("eth2", true, t0());
    CHECK(i.state() == State::kBackup);
}

TEST_CASE("weights clamp the priority to 1..254 and never move an address owner", "[vrrp][instance]") {
    auto c = sim::v3_instance(250);
    c.track_scripts = {{"up", 50}, {"down", -60}};
    Tracker t(c);
    CHECK(t.effective_priority() == 254);
    t.set_script("up", false);
    t.set_script("down", false);
    CHECK(t.effective_priority() == 190);
    c.priority = 10;
    t.reconfigure(c);
    CHECK(t.effective_priority() == 1);
    c.priority = 255;
    t.reconfigure(c);
    CHECK(t.effective_priority() == 255);
}

TEST_CASE("a master hearing priority 0 answers with an advert at once", "[vrrp][instance]") {
    auto c = sim::v3_instance(255);
    Instance i(c);
    i.start(t0());
    auto out = i.receive(advert_from(0, c), kFromPeer, t0() + 500ms);
    auto sent = all_of<SendAdvert>(out);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].advert.priority == 255);
    CHECK(i.deadline(TimerId::kAdverTimer) == t0() + 1500ms);
}

TEST_CASE("the advert carries v2 auth and whole seconds, v3 centiseconds", "[vrrp][instance]") {
    auto c2 = sim::v2_instance(255);
    Instance i2(c2);
    auto out = i2.start(t0());
    auto s = all_of<SendAdvert>(out);
    REQUIRE(s.size() == 1);
    CHECK(s[0].advert.version == 2);
    CHECK(s[0].advert.interval_field == 1);
    CHECK(s[0].advert.auth_type == AuthType::kPass);
    CHECK(s[0].advert.auth_data[0] == 's');
    auto c3 = sim::v3_instance(255);
    c3.advert_int = 20ms;
    Instance i3(c3);
    s = all_of<SendAdvert>(i3.start(t0()));
    REQUIRE(s.size() == 1);
    CHECK(s[0].advert.interval_field == 2);
}

TEST_CASE("every transition is logged with its subject, states and reason", "[vrrp][instance]") {
    std::ostringstream text;
    auto previous = spdlog::default_logger();
    auto logger =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
    logger->set_pattern("%v");
    spdlog::set_default_logger(logger);
    Instance i(sim::v3_instance(100));
    i.start(t0());
    i.poll(*i.next_deadline());
    spdlog::set_default_logger(previous);
    CHECK_THAT(text.str(), Catch::Contains("[VI_1] INIT -> BACKUP (start)"));
    CHECK_THAT(text.str(), Catch::Contains("[VI_1] BACKUP -> MASTER (master down timer expired)"));
    CHECK(i.stats().transitions == 2);
    CHECK(i.stats().became_master == 1);
}
