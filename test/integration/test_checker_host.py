"""vigil-checker on this host (issue 5 items 1, 3 and 5): health reaches `vigilctl status`, the IPVS backend is
reported unavailable with the kernel's reason (this kernel has no IPVS) without the checker exiting, and a
crashed checker never moves VRRP: an instance that tracks a virtual server stays MASTER while the checker is
killed again and again. TCP_CHECK's raw SYNs give the reasons a connect() gives (RawSynChecks).

One router namespace r1 on a bridge with a client; real servers are TCP listeners on r1's own addresses
(192.0.2.1:8080 answers, 192.0.2.1:8081 refuses, and an nftables rule drops the SYNs to 192.0.2.1:8082, whose
checks time out).
"""

import os
import signal
import time
import unittest

from lab import raw_tcp_sockets, wait_until
from vrrp_lab import VrrpLab

CONF = """
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 61
    priority 150
    advert_int 0.5
    version 3
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_virtual_server {
        192.0.2.100 80 TCP weight -100
    }
}

virtual_server 192.0.2.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 1
    real_server 192.0.2.1 8080 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 192.0.2.1 8081 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 192.0.2.1 8082 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
"""

STATUS_WAIT = 1.0  # Supervisor::kStatusWait: how long `vigilctl status` waits for the checker's Status
MARGIN = 1.0  # scheduling, process start of vigilctl


def real_servers(status):
    out = {}
    for vs in status.get("virtualServers", []):
        for rs in vs.get("realServers", []):
            out[f"{rs['address']}:{rs['port']}"] = rs
    return out


def child(status, role):
    for c in status.get("children", []):
        if c.get("role") == role:
            return c
    return {}


def instance(status, name):
    for i in status.get("vrrpInstances", []):
        if i.get("name") == name:
            return i
    return {}


class CheckerOnHost(unittest.TestCase):
    def setUp(self):
        self.vl = VrrpLab(routers=1)
        self.addCleanup(self.vl.close)
        # 8082 is a server that never answers: its SYNs are dropped (the table goes with the namespace).
        self.vl.routers["r1"].run(["nft", "-f", "-"], input="table inet vigiltest {\n"
                                  "  chain in { type filter hook input priority 0; policy accept;"
                                  " tcp dport 8082 drop; }\n}\n")
        self.vl.start_vigild("r1", CONF)
        self.addCleanup(lambda: print(self.vl.log("r1")[-4000:]) if self._outcome.result.failures else None)

    def status(self):
        return self.vl.status("r1") or {}

    def test_health_and_reasons_reach_status_and_ipvs_is_reported_unavailable(self):
        def settled():
            rs = real_servers(self.status())
            up, down, silent = (rs.get(f"192.0.2.1:{port}", {}) for port in (8080, 8081, 8082))
            # A real server starts up before its first check (no alpha); lastResult says a check has run.
            return up.get("healthy") is True and up.get("lastResult") == "CHECK_RESULT_SUCCESS" and \
                down.get("healthy") is not True and "refused" in down.get("reason", "") and \
                silent.get("healthy") is not True and "timeout" in silent.get("reason", "") and (up, down, silent)
        up, down, silent = wait_until(settled, 15, interval=0.2,
                                      what="one healthy, one refused and one silent real server")
        self.assertEqual(up.get("lastResult"), "CHECK_RESULT_SUCCESS")
        self.assertEqual(down.get("lastResult"), "CHECK_RESULT_FAILURE")
        self.assertEqual(silent.get("lastResult"), "CHECK_RESULT_TIMEOUT")
        self.assertEqual(silent.get("reason"), "timeout after 1 s")
        s = self.status()
        ipvs = s.get("ipvs") or {}
        self.assertFalse(ipvs.get("available", False), s)
        self.assertTrue(ipvs.get("reason"), "the kernel's reason is shown")
        checker = child(s, "checker")
        self.assertEqual(checker.get("state"), "RUNNING", checker)
        self.assertEqual(checker.get("restarts", 0), 0, "no IPVS is not a reason to exit")

    def test_status_asks_the_checker_and_answers_from_what_vigild_knows_when_it_is_silent(self):
        settled = lambda: real_servers(self.status()).get("192.0.2.1:8080", {}).get("lastResult")  # noqa: E731
        wait_until(lambda: settled() == "CHECK_RESULT_SUCCESS", 15, what="192.0.2.1:8080 checked")
        pid = child(self.status(), "checker")["pid"]
        # A stopped checker cannot answer: vigild waits for its Status for STATUS_WAIT, then answers with its
        # last record (vigild replaces a checker only after 3 missed Pongs, 3 s or more: it is resumed first).
        os.kill(pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            s = self.vl.status("r1")
            took = time.monotonic() - t0
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertIsNotNone(s, "vigilctl status answers while the checker is stopped")
        self.assertGreaterEqual(took, STATUS_WAIT - 0.1, "vigild asked the checker and waited for it")
        self.assertLess(took, STATUS_WAIT + MARGIN, "and then answered without it")
        self.assertEqual(real_servers(s).get("192.0.2.1:8080", {}).get("lastResult"), "CHECK_RESULT_SUCCESS",
                         "the last record, kept")
        # Resumed, it answers the next request at once.
        t0 = time.monotonic()
        self.assertEqual(settled(), "CHECK_RESULT_SUCCESS")
        self.assertLess(time.monotonic() - t0, STATUS_WAIT)
        self.assertEqual(child(self.status(), "checker")["pid"], pid, "not replaced")

    def test_a_restarted_vrrp_child_keeps_a_quorum_lost_before_it(self):
        wait_until(lambda: instance(self.status(), "VI_1").get("effectivePriority") == 150, 15,
                   what="VI_1 at priority 150, quorum met")
        # The one server that answers stops answering (its SYNs dropped): quorum 1 is lost, VI_1 drops by 100.
        self.vl.routers["r1"].run(["nft", "add", "rule", "inet", "vigiltest", "in", "tcp", "dport", "8080", "drop"])
        wait_until(lambda: instance(self.status(), "VI_1").get("effectivePriority") == 50, 15,
                   what="VI_1 at priority 50, quorum lost")
        pid = child(self.status(), "vrrp")["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: child(self.status(), "vrrp").get("pid") not in (None, 0, pid) and
                   child(self.status(), "vrrp").get("state") == "RUNNING", 15, what="vigil-vrrp restarted")
        # The checker reports a quorum only when it changes: the new vigil-vrrp has it from vigild's Restore.
        self.vl.stays(lambda: instance(self.status(), "VI_1").get("effectivePriority") == 50, 3,
                      "the restarted vigil-vrrp keeps the lost quorum's weight")

    def test_killing_the_checker_again_and_again_never_moves_the_tracking_instance(self):
        wait_until(lambda: instance(self.status(), "VI_1").get("state") == "MASTER", 15,
                   what="VI_1 MASTER")
        wait_until(lambda: real_servers(self.status()).get("192.0.2.1:8080", {}).get("healthy"), 15,
                   what="quorum met")
        # The instance's own view, which reaches status through vigil-vrrp's (throttled) status: if the first
        # check ran before the listener was up, quorum was lost once and the priority is back only now.
        wait_until(lambda: instance(self.status(), "VI_1").get("effectivePriority") == 150, 15,
                   what="VI_1 at priority 150, quorum met")
        before = instance(self.status(), "VI_1")
        vrrp_pid = child(self.status(), "vrrp")["pid"]
        for round_ in range(4):
            pid = child(self.status(), "checker")["pid"]
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: child(self.status(), "checker").get("pid") not in (None, 0, pid) and
                       child(self.status(), "checker").get("state") == "RUNNING", 35,
                       what=f"checker restarted (round {round_ + 1})")
            i = instance(self.status(), "VI_1")
            self.assertEqual(i.get("state"), "MASTER")
            self.assertEqual(i.get("effectivePriority"), 150, "a dead checker never lowers the priority")
        after = instance(self.status(), "VI_1")
        self.assertEqual(after.get("transitions"), before.get("transitions"), "no transition at all")
        self.assertEqual(child(self.status(), "vrrp")["pid"], vrrp_pid)
        self.assertEqual(self.vl.holders("192.0.2.100"), ["r1"])


RAW_CONF = """
virtual_server 192.0.2.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.1 8080 {
        TCP_CHECK {
            connect_timeout 2
            retry 0
        }
    }
    real_server 192.0.2.1 8081 {
        TCP_CHECK {
            connect_timeout 2
            retry 0
        }
    }
    real_server 192.0.2.1 8083 {
        TCP_CHECK {
            connect_timeout 2
            retry 0
        }
    }
    real_server 203.0.113.1 80 {
        TCP_CHECK {
            connect_timeout 2
            retry 0
        }
    }
}
"""

CAP_NET_ADMIN = 1 << 12
CAP_NET_RAW = 1 << 13


def tcp_active_opens(pid):
    """Tcp ActiveOpens of PID's network namespace: every connect() there."""
    with open(f"/proc/{pid}/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index("ActiveOpens")])


def proc_caps(pid, which):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(which + ":"):
                return int(line.split()[1], 16)
    raise KeyError(which)


class RawSynChecks(unittest.TestCase):
    """TCP_CHECK sends raw SYNs (checker_child/syn_prober.hpp): the same reasons as a connect() gives, ICMP
    errors included, from a checker that holds raw TCP sockets but not CAP_NET_RAW, and that connects no
    socket. 192.0.2.1:8083 is rejected with ICMP host-unreachable by an nftables rule; 203.0.113.0/24 has an
    unreachable route, so its SYN is never sent; and every other SYN to 192.0.2.1:8080 is dropped, so each
    of its checks (connect_timeout 2) succeeds only when the SYN is sent again after 1 s, as TCP does."""

    def setUp(self):
        self.vl = VrrpLab(routers=1)
        self.addCleanup(self.vl.close)
        r1 = self.vl.routers["r1"]
        r1.run(["nft", "-f", "-"], input="table inet vigiltest {\n"
               "  chain in { type filter hook input priority 0; policy accept;"
               " tcp dport 8083 reject with icmp type host-unreachable;"
               " tcp dport 8080 tcp flags & (syn | ack) == syn numgen inc mod 2 == 0 drop; }\n}\n")
        r1.run(["ip", "route", "add", "unreachable", "203.0.113.0/24"])
        self.vl.start_vigild("r1", RAW_CONF)
        self.addCleanup(lambda: print(self.vl.log("r1")[-4000:]) if self._outcome.result.failures else None)

    def test_raw_syns_give_connect_s_reasons_without_connecting_or_keeping_cap_net_raw(self):
        def settled():
            rs = real_servers(self.vl.status("r1") or {})
            got = [rs.get(k, {}) for k in ("192.0.2.1:8080", "192.0.2.1:8081", "192.0.2.1:8083", "203.0.113.1:80")]
            return all(r.get("lastResult") for r in got) and \
                got[0].get("lastResult") == "CHECK_RESULT_SUCCESS" and got
        up, refused, rejected, unroutable = wait_until(settled, 15, interval=0.2, what="every real server checked")
        self.assertEqual(refused.get("reason"), "connection refused")
        self.assertEqual(rejected.get("reason"), "no route to host", "the ICMP error ends the check")
        self.assertEqual(unroutable.get("reason"), "no route to host")
        for r in (refused, rejected, unroutable):
            self.assertEqual(r.get("lastResult"), "CHECK_RESULT_FAILURE", r)
            self.assertFalse(r.get("healthy"), r)

        pid = child(self.vl.status("r1"), "checker")["pid"]
        self.assertTrue(raw_tcp_sockets(pid), "vigil-checker holds a raw TCP socket")
        self.assertEqual(proc_caps(pid, "CapEff"), CAP_NET_ADMIN, "and no CAP_NET_RAW (no PING_CHECK)")
        self.assertEqual(proc_caps(pid, "CapPrm") & CAP_NET_RAW, 0)
        # Four checks a second for 6 s, and not one connect() in the namespace; 8080 stays up, though every
        # other SYN it is sent is dropped (without the resend it would be down for 1 s in every 4: a 2 s timeout
        # then a success, 1 s apart).
        opens0 = tcp_active_opens(pid)
        self.vl.stays(lambda: real_servers(self.vl.status("r1")).get("192.0.2.1:8080", {}).get("healthy"), 6,
                      "192.0.2.1:8080 up while half its SYNs are dropped", interval=0.3)
        self.assertEqual(tcp_active_opens(pid) - opens0, 0)
        self.assertEqual(child(self.vl.status("r1"), "checker").get("restarts", 0), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
