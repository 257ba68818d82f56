"""VRRP behaviour on one segment (issue 4, item 6), for keepalived, vigil, and the two mixed on one segment.

Every test builds its own lab (routers r1..rN, a client, a bridge) and asserts time only against the protocol's
bounds plus a margin: a takeover within Master_Down_Interval + 1 s, a handover on priority 0 within Skew_Time
plus a margin. VIGIL_VRRP_KINDS=keepalived runs the reference alone.
"""

import os
import signal
import time
import unittest

from lab import wait_until
from vrrp_lab import (VrrpCase, config, instance, master_down_interval, skew_time, variants)

VIP = "192.0.2.100"
VIP2 = "192.0.2.101"
VIP6 = "2001:db8::100"
ADV = 0.2  # VRRPv3 advert_int for the cases where the interval itself is not under test
MARGIN = 1.0  # on top of a protocol bound: scheduling, netlink, the polling of this test
START = 3.0  # a daemon reading its config and opening its sockets


def mdi(priority, advert_int=ADV):
    return master_down_interval(priority, advert_int)


def split_timeline(cap, garp, mac1, mac2, zero):
    """The adverts and GARPs of a split-brain capture, one line each, so that a failure shows what was on the wire."""
    names = {mac1: "r1", mac2: "r2"}
    lines = [(float(t), f"{names.get(src, src)} advert priority {prio}")
             for t, src, prio in cap.fields("vrrp", "frame.time_epoch", "eth.src", "vrrp.prio")]
    lines += [(float(t), f"{names.get(src, src)} GARP") for t, src in cap.fields(garp, "frame.time_epoch", "eth.src")]
    return "\n".join(f"{t - zero:+8.3f} {what}" for t, what in sorted(lines))


class VrrpFailover(VrrpCase):
    def test_election_by_priority_makes_the_highest_master(self):
        vl = self.lab(routers=3)
        for router, prio in (("r1", 100), ("r2", 150), ("r3", 50)):
            self.start(vl, router, config(instance(priority=prio, advert_int=ADV)))
        vl.wait_holder(VIP, "r2", START + mdi(150) + MARGIN)
        vl.wait_state("r2", "VI_1", "MASTER", MARGIN)
        for backup in ("r1", "r3"):
            vl.wait_state(backup, "VI_1", "BACKUP", MARGIN)
        cap = vl.capture("steady")
        time.sleep(10 * ADV)
        cap.stop()
        senders = {f[0] for f in cap.fields("vrrp", "ip.src")}
        self.assertEqual(senders, {"192.0.2.2"}, "only the master advertises")
        self.assertEqual(vl.holders(VIP), ["r2"])
        self.assert_reaches(vl, VIP, "r2")

    def test_master_node_crash_moves_the_vip_to_the_best_backup(self):
        vl = self.lab(routers=3)
        for router, prio in (("r1", 200), ("r2", 100), ("r3", 50)):
            self.start(vl, router, config(instance(priority=prio, advert_int=ADV)))
        vl.wait_holder(VIP, "r1", START + mdi(200) + MARGIN)
        self.assert_reaches(vl, VIP, "r1")
        cap = vl.capture("crash")
        crashed_at = time.time()
        vl.crash("r1")
        took = vl.wait_holder(VIP, "r2", mdi(100) + MARGIN)
        vl.wait_state("r2", "VI_1", "MASTER", MARGIN)
        self.assert_reaches(vl, VIP, "r2")
        cap.stop()
        garps = cap.times(f"arp.src.proto_ipv4 == {VIP} && arp.dst.proto_ipv4 == {VIP} "
                          f"&& eth.src == {vl.mac('r2')}")
        self.assertTrue(garps and garps[0] > crashed_at, "the new master announces the VIP by gratuitous ARP")
        self.assertFalse(cap.fields("vrrp && vrrp.prio == 0", "ip.src"), "a crashed node says nothing")
        self.assertEqual(vl.state("r3", "VI_1"), "BACKUP")
        self.assertLess(took, mdi(100) + MARGIN)

    def test_sigterm_hands_over_within_skew_time(self):
        adv = 0.5  # Skew_Time (0.3 s) + margin stays well under Master_Down_Interval (1.8 s)
        vl = self.lab(routers=2)
        self.start(vl, "r1", config(instance(priority=200, advert_int=adv)))
        self.start(vl, "r2", config(instance(priority=100, advert_int=adv)))
        vl.wait_holder(VIP, "r1", START + mdi(200, adv) + MARGIN)
        cap = vl.capture("sigterm")
        vl.daemon_proc("r1").send_signal(signal.SIGTERM)
        took = vl.wait_holder(VIP, "r2", mdi(100, adv) + MARGIN)
        self.assert_reaches(vl, VIP, "r2")
        cap.stop()
        zero = cap.times("vrrp && ip.src == 192.0.2.1 && vrrp.prio == 0")
        self.assertTrue(zero, "the stopping master sends a priority-0 advert")
        first = [t for t in cap.times("vrrp && ip.src == 192.0.2.2 && vrrp.prio == 100") if t >= zero[0]]
        self.assertTrue(first, "the backup advertises as master")
        handover = first[0] - zero[0]
        self.assertLess(handover, skew_time(100, adv) + 0.25, "takeover after Skew_Time, not Master_Down_Interval")
        self.assertLess(took, skew_time(100, adv) + MARGIN)

    def test_preempt_returns_mastership_to_the_higher_priority(self):
        vl = self.lab(routers=2)
        self.start(vl, "r1", config(instance(priority=200, advert_int=ADV)))
        self.start(vl, "r2", config(instance(priority=100, advert_int=ADV)))
        vl.wait_holder(VIP, "r1", START + mdi(200) + MARGIN)
        vl.crash("r1")
        vl.wait_holder(VIP, "r2", mdi(100) + MARGIN)
        self.assert_reaches(vl, VIP, "r2")
        vl.restart_node("r1")
        vl.wait_holder(VIP, "r1", START + mdi(200) + MARGIN)
        vl.wait_state("r2", "VI_1", "BACKUP", MARGIN)
        self.assert_reaches(vl, VIP, "r1")

    def test_nopreempt_leaves_the_current_master_in_place(self):
        vl = self.lab(routers=2)
        self.start(vl, "r1", config(instance(priority=200, advert_int=ADV, extra=["nopreempt"])))
        vl.wait_holder(VIP, "r1", START + mdi(200) + MARGIN)
        self.start(vl, "r2", config(instance(priority=100, advert_int=ADV, extra=["nopreempt"])))
        vl.wait_state("r2", "VI_1", "BACKUP", START)
        vl.crash("r1")
        vl.wait_holder(VIP, "r2", mdi(100) + MARGIN)
        vl.restart_node("r1")
        vl.wait_state("r1", "VI_1", "BACKUP", START)
        vl.stays(lambda: vl.holders(VIP) == ["r2"], 5 * mdi(200), "r2 keeps the VIP though r1 has priority 200")
        self.assertEqual(vl.state("r1", "VI_1"), "BACKUP")
        self.assert_reaches(vl, VIP, "r2")

    def test_preempt_delay_postpones_the_takeover(self):
        delay = 2.0
        vl = self.lab(routers=2)
        self.start(vl, "r2", config(instance(priority=100, advert_int=ADV)))
        vl.wait_holder(VIP, "r2", START + mdi(100) + MARGIN)
        started = time.monotonic()
        self.start(vl, "r1", config(instance(priority=200, advert_int=ADV, extra=[f"preempt_delay {delay}"])))
        vl.wait_state("r1", "VI_1", "BACKUP", START)
        # Not before the delay (minus a margin for our polling), then within delay + Master_Down_Interval.
        vl.stays(lambda: vl.holders(VIP) == ["r2"], started + delay - 0.3 - time.monotonic(),
                 "r2 keeps the VIP during r1's preempt_delay")
        vl.wait_holder(VIP, "r1", started + START + delay + mdi(200) + MARGIN - time.monotonic())
        self.assert_reaches(vl, VIP, "r1")

    def test_track_script_weight_moves_mastership(self):
        vl = self.lab(routers=2)
        flag = vl.path("r1-healthy")
        open(flag, "w").close()
        script = ("chk_flag", [f'script "/usr/bin/test -f {flag}"', "interval 1", "weight 60", "fall 1", "rise 1"])
        # r1: 100, or 160 while the flag exists; r2: 120.
        self.start(vl, "r1", config(instance(priority=100, advert_int=ADV, extra=["track_script {", "    chk_flag",
                                                                                  "}"]), scripts=[script]))
        self.start(vl, "r2", config(instance(priority=120, advert_int=ADV)))
        bound = 2 * 1 + mdi(100) + MARGIN  # two script runs, then the takeover
        vl.wait_holder(VIP, "r1", START + bound)
        self.assert_reaches(vl, VIP, "r1")
        vl.stays(lambda: vl.holders(VIP) == ["r1"], 1.0, "r1 stays master with its weight")
        os.unlink(flag)
        vl.wait_holder(VIP, "r2", bound)
        self.assert_reaches(vl, VIP, "r2")
        open(flag, "w").close()
        vl.wait_holder(VIP, "r1", bound)
        self.assert_reaches(vl, VIP, "r1")

    def test_link_down_on_the_master_gives_fault_and_a_takeover(self):
        vl = self.lab(routers=2)
        self.start(vl, "r1", config(instance(priority=200, advert_int=ADV)))
        self.start(vl, "r2", config(instance(priority=100, advert_int=ADV)))
        vl.wait_holder(VIP, "r1", START + mdi(200) + MARGIN)
        vl.routers["r1"].ip("link set eth0 down")
        vl.wait_holder(VIP, "r2", mdi(100) + MARGIN)
        vl.wait_state("r1", "VI_1", "FAULT", MARGIN)
        self.assertFalse(vl.has_address("r1", VIP), "an instance in FAULT releases its VIPs")
        self.assert_reaches(vl, VIP, "r2")
        vl.revive_link("r1")
        vl.wait_holder(VIP, "r1", mdi(200) + 2 * MARGIN)
        vl.wait_state("r2", "VI_1", "BACKUP", MARGIN)
        self.assert_reaches(vl, VIP, "r1")

    def test_split_brain_heals_to_one_master_that_sends_garp(self):
        vl = self.lab(routers=2)
        self.start(vl, "r1", config(instance(priority=200, advert_int=ADV)))
        self.start(vl, "r2", config(instance(priority=100, advert_int=ADV)))
        vl.wait_holder(VIP, "r1", START + mdi(200) + MARGIN)
        cap = vl.capture("split")
        # r2 hears no advert: it becomes MASTER beside r1, and its gratuitous ARPs pull the client to it.
        vl.drop_vrrp("r2")
        vl.wait_state("r2", "VI_1", "MASTER", mdi(100) + MARGIN)
        wait_until(lambda: vl.holders(VIP) == ["r1", "r2"], MARGIN, what="both routers holding the VIP")
        # A few of r2's adverts reach r1: keepalived's master answers each lower-priority one with its GARPs.
        vl.stays(lambda: vl.holders(VIP) == ["r1", "r2"], 5 * ADV, "both routers hold the VIP during the split")
        self.assertEqual(vl.state("r1", "VI_1"), "MASTER")
        healed_at = time.time()
        vl.allow_vrrp("r2")
        vl.wait_holder(VIP, "r1", 3 * ADV + MARGIN)
        vl.wait_state("r2", "VI_1", "BACKUP", MARGIN)
        self.assertEqual(vl.state("r1", "VI_1"), "MASTER")
        vl.stays(lambda: vl.holders(VIP) == ["r1"], 5 * ADV, "one master after the heal")
        cap.stop()
        garp = f"arp.src.proto_ipv4 == {VIP} && arp.dst.proto_ipv4 == {VIP}"
        from_r2 = cap.times(f"{garp} && eth.src == {vl.mac('r2')}")
        from_r1 = cap.times(f"{garp} && eth.src == {vl.mac('r1')}")
        self.assertTrue(from_r2, "r2 announced the VIP during the split")
        # The master answers a lower-priority advert with its own GARPs, so the segment's last word is r1's.
        if not (from_r1 and from_r1[-1] > from_r2[-1]):
            self.fail("r1 re-announces the VIP after r2's GARPs; the capture, in seconds from the heal:\n"
                      + split_timeline(cap, garp, vl.mac("r1"), vl.mac("r2"), healed_at))
        self.assertFalse([t for t in from_r2 if t > healed_at + 3 * ADV], "r2 stops announcing once healed")
        self.assert_reaches(vl, VIP, "r1")

    def test_sync_group_members_change_state_together(self):
        vl = self.lab(routers=2)
        flag = vl.path("r1-vi2-ok")
        open(flag, "w").close()
        script = ("chk_vi2", [f'script "/usr/bin/test -f {flag}"', "interval 1", "fall 1", "rise 1"])
        group = [("SG", ["VI_1", "VI_2"])]

        def conf(prio, track):
            extra = ["track_script {", "    chk_vi2", "}"] if track else []
            return config(instance("VI_1", 51, prio, [f"{VIP}/24"], advert_int=ADV),
                          instance("VI_2", 52, prio, [f"{VIP2}/24"], advert_int=ADV, extra=extra),
                          scripts=[script] if track else [], sync_groups=group)

        self.start(vl, "r1", conf(200, True))
        self.start(vl, "r2", conf(100, False))
        bound = 2 * 1 + mdi(100) + MARGIN
        vl.wait_holder(VIP, "r1", START + bound)
        vl.wait_holder(VIP2, "r1", MARGIN)
        os.unlink(flag)  # only VI_2 on r1 fails; its sync group takes VI_1 along
        vl.wait_holder(VIP2, "r2", bound)
        vl.wait_holder(VIP, "r2", MARGIN)
        for name in ("VI_1", "VI_2"):
            vl.wait_state("r1", name, "FAULT", MARGIN)
            vl.wait_state("r2", name, "MASTER", MARGIN)
        self.assert_reaches(vl, VIP, "r2")
        self.assert_reaches(vl, VIP2, "r2")
        open(flag, "w").close()
        vl.wait_holder(VIP2, "r1", bound)
        vl.wait_holder(VIP, "r1", MARGIN)
        self.assert_reaches(vl, VIP, "r1")

    def test_vrrpv3_over_ipv6_fails_over_with_neighbour_advertisements(self):
        vl = self.lab(routers=2)
        for router in ("r1", "r2"):
            wait_until(lambda: vl.link_local(router), 5, what=f"{router}'s link-local address")
        self.start(vl, "r1", config(instance(priority=200, advert_int=ADV, vips=[f"{VIP6}/64"])))
        self.start(vl, "r2", config(instance(priority=100, advert_int=ADV, vips=[f"{VIP6}/64"])))
        vl.wait_holder(VIP6, "r1", START + mdi(200) + MARGIN)
        self.assert_reaches(vl, VIP6, "r1")
        cap = vl.capture("ipv6")
        lladdr = {vl.link_local("r1"): "r1", vl.link_local("r2"): "r2"}
        crashed_at = time.time()
        vl.crash("r1")
        vl.wait_holder(VIP6, "r2", mdi(100) + MARGIN)
        self.assert_reaches(vl, VIP6, "r2")
        cap.stop()
        adverts = cap.fields("vrrp", "frame.time_epoch", "ipv6.src", "ipv6.dst", "ipv6.hlim", "vrrp.version",
                             "vrrp.checksum.status")
        senders = [(lladdr.get(src), float(t) > crashed_at) for t, src, *_ in adverts]
        self.assertIn(("r1", False), senders)
        self.assertIn(("r2", True), senders)
        for _, src, dst, hlim, version, checksum in adverts:
            self.assertEqual((dst, hlim, version, checksum), ("ff02::12", "255", "3", "1"), "from a link-local "
                             "source to ff02::12, hop limit 255, VRRPv3, good checksum")
        nas = cap.times(f"icmpv6.type == 136 && icmpv6.nd.na.target_address == {VIP6} && eth.src == {vl.mac('r2')}")
        self.assertTrue(nas and nas[0] > crashed_at, "the new master sends an unsolicited neighbour advertisement")

    def test_unicast_peers_advertise_to_each_other_only(self):
        vl = self.lab(routers=2)

        def conf(me, peer, prio):
            return config(instance(priority=prio, advert_int=ADV,
                                   extra=[f"unicast_src_ip 192.0.2.{me}", "unicast_peer {", f"    192.0.2.{peer}",
                                          "}"]))

        cap = vl.capture("unicast")
        self.start(vl, "r1", conf(1, 2, 200))
        self.start(vl, "r2", conf(2, 1, 100))
        vl.wait_holder(VIP, "r1", START + mdi(200) + MARGIN)
        vl.crash("r1")
        vl.wait_holder(VIP, "r2", mdi(100) + MARGIN)
        self.assert_reaches(vl, VIP, "r2")
        time.sleep(5 * ADV)
        cap.stop()
        adverts = set(cap.fields("vrrp", "ip.src", "ip.dst", "ip.ttl", "vrrp.checksum.status"))
        self.assertEqual(adverts, {("192.0.2.1", "192.0.2.2", "255", "1"), ("192.0.2.2", "192.0.2.1", "255", "1")})


variants(globals(), VrrpFailover)

if __name__ == "__main__":
    unittest.main(verbosity=2)
