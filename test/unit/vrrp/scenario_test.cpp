// Recorded scenarios in virtual time, written as specifications of RFC 5798 section 6 and keepalived's
// behaviour where the RFC leaves room. Nodes are vrrp::Core instances joined by sim::Wire.

#include <catch2/catch.hpp>

#include "test/unit/vrrp/sim.hpp"

using namespace vigil::vrrp;
using namespace vigil::vrrp::sim;
using namespace std::chrono_literals;

namespace {

TimePoint at(Duration d) {
    return TimePoint{} + d;
}

// Skew_Time for priority p with a 1 s Master_Adver_Interval: (256 - p) / 256 s, in whole microseconds.
Duration skew(unsigned p) {
    return Duration((256 - p) * 1'000'000 / 256);
}
Duration master_down(unsigned p) {
    return 3s + skew(p);
}

// Two nodes A (100) and B (90), A elected master; returns the time of A's last advert before `until`.
void elect_a(Wire& w, InstanceConfig a = v3_instance(100), InstanceConfig b = v3_instance(90)) {
    w.add("A", "10.0.0.1", {std::move(a)});
    w.add("B", "10.0.0.2", {std::move(b)});
    w.start_all();
    w.run_for(10s);
    REQUIRE(w.masters("VI_1") == std::vector<std::string>{"A"});
}

TimePoint last_advert(const Wire& w, const std::string& node) {
    TimePoint t{};
    for (const auto& a : w.adverts)
        if (a.node == node) t = a.at;
    return t;
}

}  // namespace

TEST_CASE("election: the higher priority becomes master after its own Master_Down_Interval",
          "[vrrp][scenario]") {
    Wire w;
    w.add("A", "10.0.0.1", {v3_instance(100)});
    w.add("B", "10.0.0.2", {v3_instance(90)});
    w.start_all();
    w.run_for(20s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"A"});
    CHECK(w.state("B", "VI_1") == State::kBackup);
    auto m = w.transitions_to("A", State::kMaster);
    REQUIRE(m.size() == 1);
    // Both start in BACKUP; A's Master_Down_Interval (3 s + 156/256 s) runs out first.
    CHECK(m[0].at == at(master_down(100)));
    CHECK(w.transitions_to("B", State::kMaster).empty());
    CHECK(w.node("A").addresses == std::set<std::string>{"10.0.0.100/24"});
    CHECK(w.node("B").addresses.empty());
    CHECK(w.node("A").gratuitous == 10);  // garp_master_repeat 5, again after garp_master_delay 5 s
}

TEST_CASE("master dies: backup takes over exactly Master_Down_Interval after the last advert",
          "[vrrp][scenario]") {
    Wire w;
    elect_a(w);
    const TimePoint last = last_advert(w, "A");
    w.kill("A");
    w.run_for(10s);
    auto m = w.transitions_to("B", State::kMaster);
    REQUIRE(m.size() == 1);
    CHECK(m[0].at == last + master_down(90));
    CHECK(w.node("B").addresses == std::set<std::string>{"10.0.0.100/24"});
}

TEST_CASE("master stops: priority 0 makes the backup take over after Skew_Time only", "[vrrp][scenario]") {
    Wire w;
    elect_a(w);
    const TimePoint stop = w.now;
    w.feed("A", w.node("A").core->shutdown(w.now));
    w.run_for(5s);
    CHECK(w.node("A").addresses.empty());
    auto m = w.transitions_to("B", State::kMaster);
    REQUIRE(m.size() == 1);
    CHECK(m[0].at == stop + skew(90));
    CHECK(w.state("A", "VI_1") == State::kInitialize);
    REQUIRE_FALSE(w.node("A").notifications.empty());
    CHECK(w.node("A").notifications.back().arguments() ==
          std::vector<std::string>{"INSTANCE", "VI_1", "STOP", "100"});
}

TEST_CASE("preempt: a higher priority backup ignores the master and takes over", "[vrrp][scenario]") {
    Wire w;
    w.add("B", "10.0.0.2", {v3_instance(90)});
    w.add("A", "10.0.0.1", {v3_instance(100)});
    w.start("B");
    w.run_for(10s);
    REQUIRE(w.masters("VI_1") == std::vector<std::string>{"B"});
    const TimePoint a_start = w.now;
    w.start("A");
    w.run_for(10s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"A"});
    auto m = w.transitions_to("A", State::kMaster);
    REQUIRE(m.size() == 1);
    CHECK(m[0].at == a_start + master_down(100));
    CHECK(w.node("B").addresses.empty());
}

TEST_CASE("nopreempt: a higher priority backup leaves the master alone", "[vrrp][scenario]") {
    Wire w;
    auto a = v3_instance(100);
    a.preempt = false;
    w.add("B", "10.0.0.2", {v3_instance(90)});
    w.add("A", "10.0.0.1", {a});
    w.start("B");
    w.run_for(10s);
    w.start("A");
    w.run_for(120s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"B"});
    CHECK(w.transitions_to("A", State::kMaster).empty());
}

TEST_CASE("preempt_delay: preemption waits for the delay, then Master_Down_Interval", "[vrrp][scenario]") {
    Wire w;
    auto a = v3_instance(100);
    a.preempt_delay = 30s;
    w.add("B", "10.0.0.2", {v3_instance(90)});
    w.add("A", "10.0.0.1", {a});
    w.start("B");
    w.run_for(10s);
    const TimePoint a_start = w.now;
    w.start("A");
    w.run_for(29s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"B"});
    w.run_for(10s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"A"});
    auto m = w.transitions_to("A", State::kMaster);
    REQUIRE(m.size() == 1);
    // The delay starts at the first lower priority advert (within 1 s of start); after it, the next advert is
    // ignored and Master_Down_Interval runs out from the last accepted one.
    CHECK(m[0].at >= a_start + 30s);
    CHECK(m[0].at <= a_start + 1s + 30s + 1s + master_down(100));
}

TEST_CASE("address owner (priority 255) becomes master at once and preempts", "[vrrp][scenario]") {
    Wire w;
    w.add("B", "10.0.0.2", {v3_instance(100)});
    w.add("A", "10.0.0.1", {v3_instance(255)});
    w.start("B");
    w.run_for(10s);
    const TimePoint a_start = w.now;
    w.start("A");
    auto m = w.transitions_to("A", State::kMaster);
    REQUIRE(m.size() == 1);
    CHECK(m[0].at == a_start);
    w.run_for(1ms);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"A"});
    CHECK(w.node("B").addresses.empty());
}

TEST_CASE("state MASTER (not owner) waits one advert interval for another master", "[vrrp][scenario]") {
    Wire w;
    auto a = v3_instance(100);
    a.initial_state = InitialState::kMaster;
    w.add("A", "10.0.0.1", {a});
    w.start("A");
    CHECK(w.state("A", "VI_1") == State::kBackup);
    w.run_for(5s);
    auto m = w.transitions_to("A", State::kMaster);
    REQUIRE(m.size() == 1);
    CHECK(m[0].at == at(1s + Duration(1'000'000 / 256)));
}

TEST_CASE("track_script weight moves mastership away and back", "[vrrp][scenario]") {
    Wire w;
    auto a = v3_instance(100);
    a.track_scripts = {{"chk_service", -20}};
    elect_a(w, a);
    const TimePoint fail = w.now;
    w.feed("A", w.node("A").core->set_script("chk_service", false, w.now));
    CHECK(w.node("A").core->find("VI_1")->priority() == 80);
    w.run_for(10s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"B"});
    auto m = w.transitions_to("B", State::kMaster);
    REQUIRE(m.size() == 1);
    // B (90) ignores A's 80 adverts and waits out its Master_Down_Interval from A's last 100 advert.
    CHECK(m[0].at <= fail + master_down(90));
    w.feed("A", w.node("A").core->set_script("chk_service", true, w.now));
    w.run_for(10s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"A"});
}

TEST_CASE("track_script weight 0: failure means FAULT", "[vrrp][scenario]") {
    Wire w;
    auto a = v3_instance(100);
    a.track_scripts = {{"chk_service", 0}};
    elect_a(w, a);
    w.feed("A", w.node("A").core->set_script("chk_service", false, w.now));
    CHECK(w.state("A", "VI_1") == State::kFault);
    CHECK(w.node("A").addresses.empty());
    const TimePoint fault = w.now;
    w.run_for(5s);
    // FAULT sends priority 0 first, so B needs only Skew_Time.
    auto m = w.transitions_to("B", State::kMaster);
    REQUIRE(m.size() == 1);
    CHECK(m[0].at == fault + skew(90));
}

TEST_CASE("link down on the master: FAULT, VIPs released, takeover, link back: preempts again",
          "[vrrp][scenario]") {
    Wire w;
    elect_a(w);
    const TimePoint last = last_advert(w, "A");
    w.node("A").link_up = false;
    w.feed("A", w.node("A").core->set_link("eth0", false, w.now));
    CHECK(w.state("A", "VI_1") == State::kFault);
    CHECK(w.node("A").addresses.empty());
    REQUIRE_FALSE(w.node("A").notifications.empty());
    CHECK(w.node("A").notifications.back().arguments() ==
          std::vector<std::string>{"INSTANCE", "VI_1", "FAULT", "100"});
    w.run_for(10s);
    // The priority 0 advert was lost with the link: the backup waits a full Master_Down_Interval.
    auto m = w.transitions_to("B", State::kMaster);
    REQUIRE(m.size() == 1);
    CHECK(m[0].at == last + master_down(90));

    w.node("A").link_up = true;
    w.feed("A", w.node("A").core->set_link("eth0", true, w.now));
    CHECK(w.state("A", "VI_1") == State::kBackup);
    w.run_for(10s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"A"});
}

TEST_CASE("split brain heals to one master, which sends gratuitous ARP again", "[vrrp][scenario]") {
    Wire w;
    elect_a(w);
    w.block("A", "B");
    w.run_for(10s);
    CHECK(w.masters("VI_1").size() == 2);
    const unsigned garp_before = w.node("A").gratuitous;
    w.block("A", "B", false);
    w.run_for(1500ms);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"A"});
    CHECK(w.node("B").addresses.empty());
    CHECK(w.node("A").gratuitous > garp_before);
}

TEST_CASE("split brain with equal priorities: the lower primary address yields", "[vrrp][scenario]") {
    Wire w;
    w.add("A", "10.0.0.1", {v3_instance(100)});
    w.add("B", "10.0.0.2", {v3_instance(100)});
    w.block("A", "B");
    w.start_all();
    w.run_for(10s);
    REQUIRE(w.masters("VI_1").size() == 2);
    w.block("A", "B", false);
    w.run_for(1500ms);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"B"});
}

TEST_CASE("restart from a remembered MASTER: advert at once, no transition, no GARP, no failover",
          "[vrrp][scenario]") {
    Wire w;
    elect_a(w);
    w.kill("A");  // SIGKILL of vigil-vrrp alone: VIPs stay, nothing sent
    w.run_for(2s);
    const auto transitions_before = w.transitions.size();
    const unsigned garp_before = w.node("A").gratuitous;
    const TimePoint restart = w.now;
    w.restart("A", {v3_instance(100)}, {{"VI_1", State::kMaster}});
    REQUIRE_FALSE(w.adverts.empty());
    CHECK(w.adverts.back().node == "A");
    CHECK(w.adverts.back().at == restart);
    w.run_for(30s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"A"});
    CHECK(w.transitions.size() == transitions_before);
    CHECK(w.node("A").gratuitous == garp_before);
    CHECK(w.node("A").addresses == std::set<std::string>{"10.0.0.100/24"});
}

TEST_CASE("reload unchanged: a MASTER sends one advert and nothing else", "[vrrp][scenario]") {
    Wire w;
    elect_a(w);
    auto actions = w.node("A").core->reload({v3_instance(100)}, {}, w.now);
    REQUIRE(actions.size() == 1);
    CHECK(std::holds_alternative<SendAdvert>(actions[0]));
    w.feed("A", std::move(actions));
    w.run_for(10s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"A"});
}

TEST_CASE("reload changed: new VIP added and announced, still MASTER, no transition", "[vrrp][scenario]") {
    Wire w;
    elect_a(w);
    auto c = v3_instance(100);
    c.vips.push_back(VirtualAddress{*IpAddr::parse("10.0.0.101"), 24, "", ""});
    const auto transitions_before = w.transitions.size();
    auto actions = w.node("A").core->reload({c}, {}, w.now);
    bool added = false, garp = false, advert = false;
    for (const auto& a : actions) {
        if (auto* x = std::get_if<AddAddresses>(&a)) added = x->addresses.size() == 1;
        if (auto* x = std::get_if<SendGratuitous>(&a)) garp = x->addresses.size() == 1;
        if (auto* x = std::get_if<SendAdvert>(&a)) advert = x->advert.addresses.size() == 2;
    }
    CHECK(added);
    CHECK(garp);
    CHECK(advert);
    w.feed("A", std::move(actions));
    CHECK(w.transitions.size() == transitions_before);
    CHECK(w.node("A").addresses == std::set<std::string>{"10.0.0.100/24", "10.0.0.101/24"});
}

TEST_CASE("reload changed priority on a backup: it preempts with the new priority", "[vrrp][scenario]") {
    Wire w;
    elect_a(w);
    w.feed("B", w.node("B").core->reload({v3_instance(110)}, {}, w.now));
    w.run_for(10s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"B"});
}

TEST_CASE("reload removed: the instance stops, releases its VIPs and the peer takes over",
          "[vrrp][scenario]") {
    Wire w;
    elect_a(w);
    const TimePoint reload = w.now;
    w.feed("A", w.node("A").core->reload({}, {}, w.now));
    CHECK(w.node("A").addresses.empty());
    CHECK(w.node("A").core->find("VI_1") == nullptr);
    w.run_for(5s);
    auto m = w.transitions_to("B", State::kMaster);
    REQUIRE(m.size() == 1);
    CHECK(m[0].at == reload + skew(90));
}

TEST_CASE("VRRPv2 with PASS: election and failover, a wrong password isolates", "[vrrp][scenario]") {
    Wire w;
    elect_a(w, v2_instance(100), v2_instance(90));
    const TimePoint last = last_advert(w, "A");
    w.kill("A");
    w.run_for(10s);
    auto m = w.transitions_to("B", State::kMaster);
    REQUIRE(m.size() == 1);
    // RFC 3768: Skew_Time = (256 - Priority) / 256 seconds.
    CHECK(m[0].at == last + 3s + skew(90));

    Wire w2;
    auto b = v2_instance(90);
    b.auth.password = "other";
    w2.add("A", "10.0.0.1", {v2_instance(100)});
    w2.add("B", "10.0.0.2", {b});
    w2.start_all();
    w2.run_for(10s);
    CHECK(w2.masters("VI_1").size() == 2);
    CHECK(w2.node("B").core->find("VI_1")->stats().rejected[static_cast<int>(Reason::kPasswordMismatch)] > 0);
}

TEST_CASE("VRRPv3: a backup learns the master's advert interval", "[vrrp][scenario]") {
    Wire w;
    auto a = v3_instance(100);
    a.advert_int = 100ms;
    elect_a(w, a, v3_instance(90));
    const auto* b = w.node("B").core->find("VI_1");
    CHECK(b->master_adver_interval() == 100ms);
    // Master_Down_Interval = 3 * 100 ms + (256 - 90) * 100 ms / 256.
    CHECK(b->master_down_interval() == Duration(300'000 + 166 * 100'000 / 256));
    const TimePoint last = last_advert(w, "A");
    w.kill("A");
    w.run_for(2s);
    auto m = w.transitions_to("B", State::kMaster);
    REQUIRE(m.size() == 1);
    CHECK(m[0].at == last + b->master_down_interval());
}

TEST_CASE("VRRPv3 over IPv6: election and failover", "[vrrp][scenario]") {
    auto v6 = [](std::uint8_t p) {
        auto c = v3_instance(p);
        c.family = Family::kIpv6;
        c.vips = {VirtualAddress{*IpAddr::parse("2001:db8::100"), 64, "", ""}};
        return c;
    };
    Wire w;
    w.add("A", "fe80::1", {v6(100)});
    w.add("B", "fe80::2", {v6(90)});
    w.start_all();
    w.run_for(10s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"A"});
    w.kill("A");
    w.run_for(10s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"B"});
    CHECK(w.node("B").addresses == std::set<std::string>{"2001:db8::100/64"});
}

TEST_CASE("unicast peers: adverts go to each peer, election works", "[vrrp][scenario]") {
    auto a = v3_instance(100);
    a.unicast_src = *IpAddr::parse("10.0.0.1");
    a.unicast_peers = {*IpAddr::parse("10.0.0.2")};
    auto b = v3_instance(90);
    b.unicast_src = *IpAddr::parse("10.0.0.2");
    b.unicast_peers = {*IpAddr::parse("10.0.0.1")};
    Wire w;
    elect_a(w, a, b);
    CHECK(w.state("B", "VI_1") == State::kBackup);
    bool to_peer = false;
    for (const auto& [t, act] : w.node("A").log)
        if (auto* s = std::get_if<SendAdvert>(&act)) to_peer = s->destinations == a.unicast_peers;
    CHECK(to_peer);
}

TEST_CASE("virtual_ipaddress_excluded is added and removed but not advertised", "[vrrp][scenario]") {
    auto a = v3_instance(100);
    a.excluded_vips = {VirtualAddress{*IpAddr::parse("192.168.50.1"), 24, "", ""}};
    Wire w;
    elect_a(w, a);
    CHECK(w.node("A").addresses == std::set<std::string>{"10.0.0.100/24", "192.168.50.1/24"});
    for (const auto& [t, act] : w.node("A").log)
        if (auto* s = std::get_if<SendAdvert>(&act)) CHECK(s->advert.addresses.size() == 1);
    w.feed("A", w.node("A").core->shutdown(w.now));
    CHECK(w.node("A").addresses.empty());
}

TEST_CASE("sync group: one member in FAULT takes the group to FAULT, the peer's group takes over",
          "[vrrp][scenario]") {
    auto member = [](std::uint8_t p, const char* name, std::uint8_t vrid) {
        auto c = v3_instance(p, name);
        c.vrid = vrid;
        c.vips = {VirtualAddress{*IpAddr::parse(vrid == 51 ? "10.0.0.100" : "10.0.0.101"), 24, "", ""}};
        return c;
    };
    auto a2 = member(100, "VI_2", 52);
    a2.track_interfaces = {{"eth1", 0}};
    std::vector<SyncGroupConfig> g = {{"G", {"VI_1", "VI_2"}}};
    Wire w;
    w.add("A", "10.0.0.1", {member(100, "VI_1", 51), a2}, g);
    w.add("B", "10.0.0.2", {member(90, "VI_1", 51), member(90, "VI_2", 52)}, g);
    w.start_all();
    w.run_for(10s);
    REQUIRE(w.masters("VI_1") == std::vector<std::string>{"A"});
    REQUIRE(w.masters("VI_2") == std::vector<std::string>{"A"});

    w.feed("A", w.node("A").core->set_link("eth1", false, w.now));
    CHECK(w.state("A", "VI_1") == State::kFault);
    CHECK(w.state("A", "VI_2") == State::kFault);
    CHECK(w.node("A").addresses.empty());
    w.run_for(5s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"B"});
    CHECK(w.masters("VI_2") == std::vector<std::string>{"B"});

    w.feed("A", w.node("A").core->set_link("eth1", true, w.now));
    CHECK(w.state("A", "VI_1") == State::kBackup);
    CHECK(w.state("A", "VI_2") == State::kBackup);
    w.run_for(10s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"A"});
    CHECK(w.masters("VI_2") == std::vector<std::string>{"A"});
}

TEST_CASE("sync group: MASTER only when every member's Master_Down_Timer ran out, then all together",
          "[vrrp][scenario]") {
    auto vi1 = v3_instance(100, "VI_1");
    auto vi2 = v3_instance(50, "VI_2");
    vi2.vrid = 52;
    vi2.advert_int = 2s;  // Master_Down_Interval 6 s + 206 * 2 s / 256 = 7.609375 s
    Wire w;
    w.add("A", "10.0.0.1", {vi1, vi2}, {{"G", {"VI_1", "VI_2"}}});
    w.start_all();
    w.run_for(5s);
    // VI_1's own timer ran out at 3.609375 s, but VI_2 still waits: the group stays BACKUP.
    CHECK(w.state("A", "VI_1") == State::kBackup);
    w.run_for(5s);
    auto m = w.transitions_to("A", State::kMaster);
    REQUIRE(m.size() == 2);
    CHECK(m[0].at == at(7609375us));
    CHECK(m[1].at == m[0].at);
}

TEST_CASE("sync group: one member hearing a better master takes the group to BACKUP", "[vrrp][scenario]") {
    auto vi2 = v3_instance(100, "VI_2");
    vi2.vrid = 52;
    vi2.vips = {VirtualAddress{*IpAddr::parse("10.0.0.101"), 24, "", ""}};
    Wire w;
    w.add("A", "10.0.0.1", {v3_instance(100), vi2}, {{"G", {"VI_1", "VI_2"}}});
    w.add("B", "10.0.0.2", {v3_instance(90)});
    w.start_all();
    w.run_for(10s);
    REQUIRE(w.state("A", "VI_1") == State::kMaster);
    REQUIRE(w.state("A", "VI_2") == State::kMaster);
    w.feed("B", w.node("B").core->reload({v3_instance(110)}, {}, w.now));
    w.run_for(10s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"B"});
    CHECK(w.state("A", "VI_2") == State::kBackup);
    // VI_2 alone would time out, but VI_1 keeps hearing B: the group stays BACKUP for good.
    w.run_for(60s);
    CHECK(w.state("A", "VI_2") == State::kBackup);
    CHECK(w.transitions_to("A", State::kMaster).size() == 2);
}

TEST_CASE("equal priorities settle: the higher address masters, the other stays backup", "[vrrp][scenario]") {
    Wire w;
    w.add("A", "10.0.0.1", {v3_instance(100)});
    w.add("B", "10.0.0.2", {v3_instance(100)});
    w.start_all();
    w.run_for(60s);
    CHECK(w.masters("VI_1") == std::vector<std::string>{"B"});
    // Both time out together at start; A yields once and then accepts B's equal priority adverts for good.
    CHECK(w.transitions_to("A", State::kMaster).size() == 1);
    CHECK(w.transitions_to("B", State::kMaster).size() == 1);
}
