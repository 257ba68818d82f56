// The reconciler: desired (config + health) against current (the kernel's table) gives the fewest operations,
// and never touches what vigil's config does not name.

#include <catch2/catch.hpp>

#include "checker_child/ipvs_table.hpp"

using namespace vigil::check;

namespace {

Service service(const std::string& vip, std::uint16_t port, const std::string& sched = "rr") {
    Service s;
    s.key.family = AF_INET;
    s.key.protocol = IPPROTO_TCP;
    s.key.address = *parse_ip(vip);
    s.key.port = port;
    s.scheduler = sched;
    return s;
}

Dest dest(const std::string& ip, std::uint16_t port, std::uint32_t weight = 1) {
    Dest d;
    d.key.address = *parse_ip(ip);
    d.key.port = port;
    d.weight = weight;
    return d;
}

RealServerState real(const std::string& ip, std::uint32_t weight = 1, bool up = true, bool inhibit = false) {
    return RealServerState{dest(ip, 80, weight), up, inhibit};
}

// One virtual server 10.0.0.1:80 with three real servers.
std::vector<VirtualServerState> config() {
    VirtualServerState vs;
    vs.service = service("10.0.0.1", 80);
    vs.reals = {real("10.0.1.1"), real("10.0.1.2", 2), real("10.0.1.3", 3)};
    return {vs};
}

// What the kernel would hold after a reconcile of `servers`, with the HASHED flag the kernel adds.
IpvsTable kernel_after(const std::vector<VirtualServerState>& servers) {
    IpvsTable t = desired_table(servers);
    for (auto& [key, entry] : t.services) entry.service.flags |= kSvcFlagHashed;
    return t;
}

std::vector<OpKind> kinds(const std::vector<IpvsOp>& ops) {
    std::vector<OpKind> k;
    for (const auto& op : ops) k.push_back(op.kind);
    return k;
}

}  // namespace

TEST_CASE("from an empty kernel, every service then its destinations are added", "[ipvs][table]") {
    auto servers = config();
    auto ops = reconcile(desired_table(servers), IpvsTable{}, ownership_of(servers));
    REQUIRE(kinds(ops) ==
            std::vector<OpKind>{OpKind::kNewService, OpKind::kNewDest, OpKind::kNewDest, OpKind::kNewDest});
    IpvsTable applied;
    apply_ops(applied, ops);
    CHECK(to_ipvsadm_text(applied) == to_ipvsadm_text(desired_table(servers)));
}

TEST_CASE("a restarted checker whose kernel table is right issues no operation", "[ipvs][table]") {
    auto servers = config();
    CHECK(reconcile(desired_table(servers), kernel_after(servers), ownership_of(servers)).empty());
}

TEST_CASE("one weight change gives exactly one SET_DEST", "[ipvs][table]") {
    auto servers = config();
    IpvsTable kernel = kernel_after(servers);
    servers[0].reals[1].dest.weight = 7;
    auto ops = reconcile(desired_table(servers), kernel, ownership_of(servers));
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].kind == OpKind::kSetDest);
    CHECK(to_string(ops[0].dest.key) == "10.0.1.2:80");
    CHECK(ops[0].dest.weight == 7);
}

TEST_CASE("a failed real server is deleted, or set to weight 0 under inhibit_on_failure", "[ipvs][table]") {
    auto servers = config();
    IpvsTable kernel = kernel_after(servers);
    servers[0].reals[0].up = false;
    auto ops = reconcile(desired_table(servers), kernel, ownership_of(servers));
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].kind == OpKind::kDelDest);
    CHECK(to_string(ops[0].dest.key) == "10.0.1.1:80");

    servers[0].reals[0].inhibit_on_failure = true;
    ops = reconcile(desired_table(servers), kernel, ownership_of(servers));
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].kind == OpKind::kSetDest);
    CHECK(ops[0].dest.weight == 0);
}

TEST_CASE("a real server coming back is added again", "[ipvs][table]") {
    auto servers = config();
    servers[0].reals[2].up = false;
    IpvsTable kernel = kernel_after(servers);
    servers[0].reals[2].up = true;
    auto ops = reconcile(desired_table(servers), kernel, ownership_of(servers));
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].kind == OpKind::kNewDest);
    CHECK(ops[0].dest.weight == 3);
}

TEST_CASE("services and destinations vigil does not own are never touched", "[ipvs][table]") {
    auto servers = config();
    IpvsTable kernel = kernel_after(servers);
    kernel.put_service(service("192.0.2.1", 443));  // someone else's service
    kernel.put_dest(service("192.0.2.1", 443).key, dest("192.0.2.10", 443));
    kernel.put_dest(servers[0].service.key, dest("10.0.1.99", 80));  // a destination added by hand to ours
    CHECK(reconcile(desired_table(servers), kernel, ownership_of(servers)).empty());
}

TEST_CASE("a virtual server removed from the config is deleted with one DEL_SERVICE", "[ipvs][table]") {
    auto old_servers = config();
    VirtualServerState second;
    second.service = service("10.0.0.2", 443, "wlc");
    second.reals = {real("10.0.2.1"), real("10.0.2.2")};
    old_servers.push_back(second);
    IpvsTable kernel = kernel_after(old_servers);
    auto new_servers = config();
    // Ownership spans the old and the new config during a reload.
    Ownership owned = ownership_of(old_servers);
    owned.add(desired_table(new_servers));
    auto ops = reconcile(desired_table(new_servers), kernel, owned);
    REQUIRE(ops.size() == 1);  // its destinations go with it
    CHECK(ops[0].kind == OpKind::kDelService);
    CHECK(to_string(ops[0].service.key) == "TCP 10.0.0.2:443");
}

TEST_CASE("changed service attributes give one SET_SERVICE", "[ipvs][table]") {
    auto servers = config();
    IpvsTable kernel = kernel_after(servers);
    servers[0].service.scheduler = "wrr";
    servers[0].service.flags = kSvcFlagPersistent;
    servers[0].service.timeout = 300;
    auto ops = reconcile(desired_table(servers), kernel, ownership_of(servers));
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].kind == OpKind::kSetService);
    CHECK(ops[0].service.scheduler == "wrr");
}

TEST_CASE("a changed forwarding method or threshold is corrected in place", "[ipvs][table]") {
    auto servers = config();
    IpvsTable kernel = kernel_after(servers);
    servers[0].reals[0].dest.forward = Forward::kDirect;
    servers[0].reals[1].dest.upper_threshold = 50;
    auto ops = reconcile(desired_table(servers), kernel, ownership_of(servers));
    CHECK(kinds(ops) == std::vector<OpKind>{OpKind::kSetDest, OpKind::kSetDest});
}

TEST_CASE("lvs_flush flushes first and adds everything; without it, nothing is flushed", "[ipvs][table]") {
    auto servers = config();
    IpvsTable kernel = kernel_after(servers);
    auto ops = reconcile(desired_table(servers), kernel, ownership_of(servers), ReconcileOptions{true});
    REQUIRE(ops.size() == 5);
    CHECK(ops[0].kind == OpKind::kFlush);
    CHECK(ops[1].kind == OpKind::kNewService);
    for (const auto& op : ops) CHECK(op.kind != OpKind::kDelService);
}

TEST_CASE("losing quorum brings the sorry server in; sorry_server_inhibit keeps it at weight 0",
          "[ipvs][table]") {
    auto servers = config();
    servers[0].sorry_server = dest("10.0.9.9", 80, 1);
    IpvsTable kernel = kernel_after(servers);
    for (auto& rs : servers[0].reals) rs.up = false;
    servers[0].quorum_lost = true;
    auto ops = reconcile(desired_table(servers), kernel, ownership_of(servers));
    CHECK(kinds(ops) ==
          std::vector<OpKind>{OpKind::kDelDest, OpKind::kDelDest, OpKind::kDelDest, OpKind::kNewDest});
    CHECK(to_string(ops.back().dest.key) == "10.0.9.9:80");

    servers[0].sorry_server_inhibit = true;
    servers[0].quorum_lost = false;
    for (auto& rs : servers[0].reals) rs.up = true;
    IpvsTable table = desired_table(servers);
    REQUIRE(table.services.begin()->second.dests.count(servers[0].sorry_server->key) == 1);
    CHECK(table.services.begin()->second.dests.at(servers[0].sorry_server->key).weight == 0);
}

TEST_CASE("fwmark and IPv6 services are distinct keys", "[ipvs][table]") {
    VirtualServerState fwm;
    fwm.service.key.family = AF_INET;
    fwm.service.key.fwmark = 5;
    fwm.reals = {real("10.0.3.1")};
    VirtualServerState v6;
    v6.service = service("10.0.0.1", 80);
    v6.service.key.family = AF_INET6;
    v6.service.key.address = *parse_ip("fd00::1");
    v6.reals = {RealServerState{dest("fd00::10", 80), true, false}};
    std::vector<VirtualServerState> servers{fwm, v6};
    IpvsTable kernel = kernel_after(servers);
    CHECK(kernel.services.size() == 2);
    CHECK(reconcile(desired_table(servers), kernel, ownership_of(servers)).empty());
    CHECK(to_ipvsadm_text(kernel) ==
          "FWM 5 wlc\n  -> 10.0.3.1:80 Masq 1\nTCP [fd00::1]:80 rr\n  -> [fd00::10]:80 Masq 1\n");
}

TEST_CASE("addresses order as their bytes do, IPv4 before IPv6", "[ipvs][table]") {
    auto ip = [](const char* text) { return *parse_ip(text); };
    CHECK(ip("10.0.0.2") < ip("10.0.1.1"));  // a later byte decides only when the earlier ones are equal
    CHECK(ip("9.255.255.255") < ip("10.0.0.0"));
    CHECK(ip("10.0.0.255") < ip("10.0.1.0"));
    CHECK(ip("255.0.0.0") < ip("::"));       // the family first
    CHECK(ip("fd00::2") < ip("fd00::1:1"));  // in the second half of the 16 bytes
    CHECK(ip("fd00::ff") < ip("fd00::100"));
    CHECK(ip("fd00::1") == ip("fd00::1"));
    CHECK(ip("fd00::1") != ip("fd00::2"));
    CHECK((ip("10.0.0.1") <=> ip("10.0.0.1")) == std::strong_ordering::equal);
}

TEST_CASE("a second table's ownership adds to the first's, in any order", "[ipvs][table]") {
    VirtualServerState a;
    a.service = service("10.0.0.9", 80);
    a.reals = {real("10.0.1.9"), real("10.0.1.1")};
    VirtualServerState b;
    b.service = service("10.0.0.1", 80);
    b.reals = {real("10.0.1.5")};
    Ownership owned;
    owned.add(desired_table({a}));
    owned.add(desired_table({b, a}));
    CHECK(owned.services.size() == 2);
    CHECK(owned.dests.size() == 3);
    CHECK(owned.owns(b.service.key, dest("10.0.1.5", 80).key));
    CHECK(owned.owns(a.service.key, dest("10.0.1.1", 80).key));
    CHECK_FALSE(owned.owns(b.service.key, dest("10.0.1.1", 80).key));
}
