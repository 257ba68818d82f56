"""vigil-only VRRP behaviour: vigilctl status, and a restart of vigil-vrrp that must not fail over (issue 4, item 4).

A SIGKILL of vigil-vrrp alone (not of the node) while MASTER at advert_int 1: vigild restarts it, it resumes
from Restore, keeps the VIP in place and advertises again before the backup's Master_Down_Timer expires, so the
peer (vigil in the "vigil" variant, keepalived in "mixed") never becomes MASTER and never sends a GARP.
"""

import os
import signal
import subprocess
import time
import unittest

from lab import wait_until
from vrrp_lab import VrrpCase, config, instance, master_down_interval, variants

VIP = "192.0.2.100"
MARGIN = 1.0
START = 3.0


def pids_named(vl, router, comm):
    """The PIDs of the processes called `comm` in `router`'s namespace."""
    found = []
    out = subprocess.run(["ip", "netns", "pids", vl.routers[router].name], capture_output=True, text=True).stdout
    for pid in out.split():
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == comm:
                    found.append(int(pid))
        except OSError:
            pass
    return found


class VrrpRestart(VrrpCase):
    def start_pair(self, advert_int=1):
        vl = self.lab(routers=2)
        self.start(vl, "r1", config(instance(priority=200, advert_int=advert_int)))
        self.start(vl, "r2", config(instance(priority=100, advert_int=advert_int)))
        vl.wait_holder(VIP, "r1", START + master_down_interval(200, advert_int) + MARGIN)
        vl.wait_state("r2", "VI_1", "BACKUP", MARGIN)
        return vl

    def vrrp_child(self, vl):
        st = vl.status("r1")
        self.assertIsNotNone(st, "vigilctl status --json on r1")
        vrrp = [c for c in st.get("children", []) if c.get("role") == "vrrp"]
        self.assertEqual(len(vrrp), 1, f"one vrrp child in {st.get('children')}")
        return vrrp[0]

    def test_vigilctl_status_names_instances_states_and_children(self):
        vl = self.start_pair(advert_int=0.2)
        st = vl.status("r1")
        self.assertIsNotNone(st, f"vigilctl status --json on r1: {vl.vigilctl('r1', 'status', '--json')}")
        self.assertEqual([vi["name"] for vi in st["vrrpInstances"]], ["VI_1"])
        self.assertEqual(vl.state("r1", "VI_1"), "MASTER")
        vrrp = [c for c in st.get("children", []) if c.get("role") == "vrrp"]
        self.assertEqual([int(c.get("pid", 0)) for c in vrrp], pids_named(vl, "r1", "vigil-vrrp"),
                         "status names the running vigil-vrrp")
        self.assertEqual(vrrp[0].get("state"), "RUNNING")
        if self.kinds["r2"] == "vigil":
            self.assertEqual(vl.state("r2", "VI_1"), "BACKUP")
        text = vl.vigilctl("r1", "status")
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("VI_1", text.stdout)
        self.assertIn("master", text.stdout.lower())

    def test_sigkill_of_vigil_vrrp_on_the_master_does_not_fail_over(self):
        advert_int = 1
        vl = self.start_pair(advert_int)
        mdi = master_down_interval(100, advert_int)  # the backup's Master_Down_Interval
        old = pids_named(vl, "r1", "vigil-vrrp")
        self.assertEqual(len(old), 1, "one vigil-vrrp in r1")
        restarts = self.vrrp_child(vl).get("restarts", 0)
        cap = vl.capture("restart")
        killed_at = time.time()
        os.kill(old[0], signal.SIGKILL)
        wait_until(lambda: [p for p in pids_named(vl, "r1", "vigil-vrrp") if p != old[0]], mdi,
                   what="vigild restarting vigil-vrrp")
        # Two of the backup's Master_Down_Intervals: it would have fired at least once by now.
        vl.stays(lambda: vl.holders(VIP) == ["r1"], 2 * mdi, "the VIP stays on r1 alone")
        self.assertEqual(vl.state("r1", "VI_1"), "MASTER")
        child = self.vrrp_child(vl)
        self.assertEqual((child.get("restarts", 0), child.get("state")), (restarts + 1, "RUNNING"))
        if self.kinds["r2"] == "keepalived":
            self.assertNotIn("Entering MASTER", vl.daemon_log("r2"))
        else:
            self.assertEqual(vl.state("r2", "VI_1"), "BACKUP")
        cap.stop()
        self.assertEqual(cap.fields("vrrp && ip.src == 192.0.2.2", "ip.src"), [], "the backup never advertised")
        self.assertEqual(cap.fields(f"arp.src.proto_ipv4 == {VIP} && eth.src == {vl.mac('r2')}", "eth.src"), [],
                         "the backup never announced the VIP")
        adverts = cap.times("vrrp && ip.src == 192.0.2.1 && vrrp.prio == 200")
        self.assertTrue([t for t in adverts if t > killed_at + MARGIN], "r1 advertises again")
        gaps = [b - a for a, b in zip(adverts, adverts[1:])]
        self.assertLess(max(gaps), mdi, "the restarted child advertised before the backup's Master_Down_Timer")
        self.assertFalse(cap.fields("vrrp && vrrp.prio == 0", "ip.src"), "no priority-0 advert: not a stop")
        self.assert_reaches(vl, VIP, "r1")

    def test_a_unicast_src_ip_this_host_lacks_is_warned_about(self):
        # r1 runs vigil in both variants; the check needs one daemon only.
        if self.VARIANT != "vigil":
            self.skipTest("the vigil variant covers it")
        vl = self.lab(routers=2)

        def unicast(name, vrid, src, vip):
            return instance(name=name, vrid=vrid, priority=200, advert_int=0.2, vips=(vip,),
                            extra=[f"unicast_src_ip {src}", "unicast_peer {", "    192.0.2.2", "}"])

        self.start(vl, "r1", config(unicast("VI_FOREIGN", 51, "198.51.100.7", "192.0.2.100/24") +
                                    unicast("VI_OWN", 52, "192.0.2.1", "192.0.2.101/24")))
        vl.wait_holder(VIP, "r1", START + master_down_interval(200, 0.2) + MARGIN)
        log = vl.daemon_log("r1")
        self.assertIn("[VI_FOREIGN] unicast_src_ip 198.51.100.7 is not an address of this host", log)
        self.assertNotIn("[VI_OWN] unicast_src_ip", log)


variants(globals(), VrrpRestart, only=("vigil", "mixed"))

if __name__ == "__main__":
    unittest.main(verbosity=2)
