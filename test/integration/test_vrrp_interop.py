"""vigil and keepalived as VRRP peers on one segment (issue 4, item 5).

The "mixed" variant runs each case both ways, vigil MASTER with keepalived BACKUP and the reverse; "keepalived"
and "vigil" run it with one daemon on both sides (the reference, and vigil with itself). Each case: election,
failover when the master's node crashes, preemption back when it returns; tshark decodes every advert of both
sides with a good checksum (and, for v2, the PASS authentication as configured).
"""

import time
import unittest

from vrrp_lab import VrrpCase, config, instance, master_down_interval, variants

VIP = "192.0.2.100"
MARGIN = 1.0
START = 3.0
PAIRS = {
    "keepalived": [("keepalived", "keepalived")],
    "vigil": [("vigil", "vigil")],
    "mixed": [("vigil", "keepalived"), ("keepalived", "vigil")],
}


class VrrpInterop(VrrpCase):
    def run_case(self, version, advert_int, extra, check_advert):
        for master_kind, backup_kind in PAIRS[self.VARIANT]:
            with self.subTest(master=master_kind, backup=backup_kind):
                self.one_pair(master_kind, backup_kind, version, advert_int, extra, check_advert)

    def one_pair(self, master_kind, backup_kind, version, advert_int, extra, check_advert):
        vl = self.lab(routers=2)
        self.kinds = {"r1": master_kind, "r2": backup_kind}
        mdi1, mdi2 = master_down_interval(200, advert_int), master_down_interval(100, advert_int)
        cap = vl.capture(f"interop-v{version}-{master_kind}-{backup_kind}")
        self.start(vl, "r1", config(instance(priority=200, version=version, advert_int=advert_int, extra=extra)))
        self.start(vl, "r2", config(instance(priority=100, version=version, advert_int=advert_int, extra=extra)))
        # Election.
        vl.wait_holder(VIP, "r1", START + mdi1 + MARGIN)
        vl.wait_state("r2", "VI_1", "BACKUP", MARGIN)
        self.assert_reaches(vl, VIP, "r1")
        # The master's node crashes: the other kind takes over.
        crashed_at = time.time()
        vl.crash("r1")
        vl.wait_holder(VIP, "r2", mdi2 + MARGIN)
        vl.wait_state("r2", "VI_1", "MASTER", MARGIN)
        self.assert_reaches(vl, VIP, "r2")
        time.sleep(2 * advert_int)  # a few adverts of the new master on the wire
        # It comes back and preempts.
        vl.restart_node("r1")
        vl.wait_holder(VIP, "r1", START + mdi1 + MARGIN)
        vl.wait_state("r2", "VI_1", "BACKUP", MARGIN)
        self.assert_reaches(vl, VIP, "r1")
        time.sleep(2 * advert_int)
        cap.stop()
        fields = ("frame.time_epoch", "ip.src", "ip.dst", "ip.ttl", "vrrp.version", "vrrp.prio",
                  "vrrp.checksum.status", "vrrp.ip_addr")
        adverts = [dict(zip(fields, f)) for f in cap.fields("vrrp", *fields)]
        by = {"r1": [a for a in adverts if a["ip.src"] == "192.0.2.1"],
              "r2": [a for a in adverts if a["ip.src"] == "192.0.2.2"]}
        self.assertTrue(by["r1"], f"{master_kind} advertised")
        self.assertTrue([a for a in by["r2"] if float(a["frame.time_epoch"]) > crashed_at],
                        f"{backup_kind} advertised after the takeover")
        for router, prio in (("r1", "200"), ("r2", "100")):
            for a in by[router]:
                self.assertEqual(a["vrrp.checksum.status"], "1", f"{self.kinds[router]} advert checksum: {a}")
                self.assertEqual((a["ip.dst"], a["ip.ttl"], a["vrrp.version"], a["vrrp.ip_addr"]),
                                 ("224.0.0.18", "255", str(version), VIP), f"{self.kinds[router]} advert: {a}")
                self.assertIn(a["vrrp.prio"], (prio, "0"))
        check_advert(cap)

    def test_vrrpv2_with_pass_authentication(self):
        def pass_auth(cap):
            auth = set(cap.fields("vrrp", "vrrp.auth_type", "vrrp.auth_string"))
            self.assertEqual(auth, {("1", "secret1")}, "every advert carries the simple-text password")

        self.run_case(2, 1, ["authentication {", "    auth_type PASS", "    auth_pass secret1", "}"], pass_auth)

    def test_vrrpv3(self):
        self.run_case(3, 0.5, [], lambda cap: None)


variants(globals(), VrrpInterop)

if __name__ == "__main__":
    unittest.main(verbosity=2)
