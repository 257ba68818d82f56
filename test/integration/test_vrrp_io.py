"""The VRRP child's I/O layer on a real kernel, before the engine drives it.

Two routers r1 and r2 on one bridged segment. vigil-io-probe (test/integration/tools) uses the classes of
vrrp_child/ and common/netlink/ directly: VIPs are added and removed through rtnetlink and checked with
`ip -j addr`; adverts go out on the protocol-112 socket and are checked by tshark in the peer namespace and
received by a second probe there; gratuitous ARP and unsolicited NA frames are decoded by tshark; link changes
made by the test are reported by the link monitor. Needs root (namespaces, raw sockets) and tshark.
"""

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import unittest

from lab import Lab, binary, wait_until

PROBE = binary("vigil-io-probe")
R1_V4, R2_V4 = "10.9.0.1", "10.9.0.2"


class Proc:
    """A process started in a namespace whose stdout and stderr are read line by line in the background."""

    def __init__(self, ns, argv):
        self.popen = ns.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.out, self.err = queue.Queue(), queue.Queue()
        self.out_lines, self.err_lines = [], []
        self._threads = [self._reader(self.popen.stdout, self.out, self.out_lines),
                         self._reader(self.popen.stderr, self.err, self.err_lines)]

    @staticmethod
    def _reader(stream, q, keep):
        def run():
            for line in stream:
                keep.append(line.rstrip("\n"))
                q.put(line.rstrip("\n"))
            q.put(None)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def expect(self, pattern, timeout=15, stderr=False):
        """Waits for a line matching `pattern` (a regex) and returns its match."""
        q = self.err if stderr else self.out
        rx = re.compile(pattern)
        seen = []
        try:
            while True:
                line = q.get(timeout=timeout)
                if line is None:
                    raise AssertionError(f"process ended before a line matching {pattern!r}; saw {seen}; "
                                         f"stderr {self.err_lines}")
                seen.append(line)
                m = rx.search(line)
                if m:
                    return m
        except queue.Empty:
            raise AssertionError(f"no line matching {pattern!r} within {timeout} s; saw {seen}") from None

    def finish(self, timeout=30):
        """Waits for the process to exit; returns (exit status, stdout lines)."""
        code = self.popen.wait(timeout)
        for t in self._threads:
            t.join(5)
        self.popen.stdout.close()
        self.popen.stderr.close()
        return code, list(self.out_lines)


def fields(line):
    """key=value pairs of one probe line."""
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


@unittest.skipUnless(os.geteuid() == 0, "needs root (network namespaces, raw sockets)")
@unittest.skipUnless(shutil.which("tshark"), "needs tshark")
class VrrpIoTest(unittest.TestCase):
    def setUp(self):
        self.assertTrue(os.access(PROBE, os.X_OK), f"{PROBE} is not built")
        self.lab = Lab("vio")
        self.addCleanup(self.lab.close)
        self.r1 = self.lab.netns("r1")
        self.r2 = self.lab.netns("r2")
        self.sw = self.lab.bridge_segment([self.r1, self.r2])
        self.r1.ip(f"addr add {R1_V4}/24 dev eth0")
        self.r2.ip(f"addr add {R2_V4}/24 dev eth0")

    # helpers

    def probe(self, ns, *args, check=True):
        r = ns.run([PROBE] + [str(a) for a in args], check=False)
        if check:
            self.assertEqual(r.returncode, 0, f"probe {args} failed: {r.stderr}")
        return r

    def addresses(self, ns):
        """(address, prefixlen) -> addr_info entry, from `ip -j addr show dev eth0`."""
        info = json.loads(ns.run(["ip", "-j", "addr", "show", "dev", "eth0"]).stdout)[0]["addr_info"]
        return {(a["local"], a["prefixlen"]): a for a in info}

    def link_local(self, ns):
        """The usable (not tentative) IPv6 link-local address of eth0, waiting for DAD to finish."""

        def ready():
            for (addr, _), a in self.addresses(ns).items():
                if addr.startswith("fe80:") and not a.get("tentative"):
                    return addr
            return None

        return wait_until(ready, 15, what=f"a link-local address on {ns.name}")

    def mac(self, ns):
        return json.loads(ns.run(["ip", "-j", "link", "show", "dev", "eth0"]).stdout)[0]["address"]

    def tshark(self, ns, capture_filter, count, field_names):
        """tshark on ns's eth0, started and capturing; finish() gives one tab-separated line per packet."""
        argv = ["tshark", "-i", "eth0", "-n", "-l", "-f", capture_filter, "-c", str(count),
                "-a", "duration:30", "-o", "ip.check_checksum:TRUE", "-T", "fields"]
        for f in field_names:
            argv += ["-e", f]
        p = Proc(ns, argv)
        p.expect(r"Capturing on", timeout=30, stderr=True)
        return p

    def captured(self, p, field_names, send):
        """Calls send() every half second until tshark has its packets (tshark says it is capturing a moment
        before it is), then returns them as one dict per packet."""
        deadline = time.monotonic() + 25
        while p.popen.poll() is None and time.monotonic() < deadline:
            send()
            time.sleep(0.5)
        code, lines = p.finish(40)
        self.assertEqual(code, 0, f"tshark: {p.err_lines}")
        return [dict(zip(field_names, line.split("\t"))) for line in lines]

    def receiver(self, ns, family, count=1, timeout=15):
        p = Proc(ns, [PROBE, "recv", "eth0", str(family), "--count", str(count), "--timeout", str(timeout)])
        p.expect(r"^ready$")
        return p

    # tests

    def test_vips_are_added_and_removed_with_rtnetlink_idempotently(self):
        out = lambda *a: self.probe(self.r1, "addr", *a).stdout.strip()
        self.assertEqual(out("add", "eth0", "10.9.0.100/24", "--label", "eth0:vip"), "added")
        a = self.addresses(self.r1)[("10.9.0.100", 24)]
        self.assertEqual(a["label"], "eth0:vip")
        self.assertEqual(a["scope"], "global")
        self.assertEqual(out("add", "eth0", "10.9.0.100/24", "--label", "eth0:vip"), "already present")

        self.assertEqual(out("add", "eth0", "fd00:9::100/64"), "added")
        a6 = self.addresses(self.r1)[("fd00:9::100", 64)]
        self.assertTrue(a6.get("nodad"), f"an IPv6 VIP is added with IFA_F_NODAD: {a6}")
        self.assertFalse(a6.get("tentative"), a6)

        self.assertEqual(out("del", "eth0", "10.9.0.100/24"), "removed")
        self.assertEqual(out("del", "eth0", "fd00:9::100/64"), "removed")
        self.assertNotIn(("10.9.0.100", 24), self.addresses(self.r1))
        self.assertNotIn(("fd00:9::100", 64), self.addresses(self.r1))
        self.assertEqual(out("del", "eth0", "10.9.0.100/24"), "not present")
        self.assertIn((R1_V4, 24), self.addresses(self.r1), "the interface's own address is untouched")

        bad = self.probe(self.r1, "addr", "add", "nosuch0", "10.9.0.101/24", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("nosuch0", bad.stderr)

    def test_ipv4_advert_goes_to_224_0_0_18_with_ttl_255_and_a_good_checksum(self):
        names = ["ip.src", "ip.dst", "ip.ttl", "ip.proto", "vrrp.version", "vrrp.virt_rtr_id",
                 "vrrp.checksum.status", "ip.checksum.status", "ip.len", "ip.dsfield"]
        cap = self.tshark(self.r2, "ip proto 112", 1, names)
        peer = self.receiver(self.r2, 4)
        own = self.receiver(self.r1, 4, timeout=3)  # multicast loop is off: the sender's host hears nothing

        [pkt] = self.captured(cap, names, lambda: self.probe(self.r1, "send", "eth0", 4, "224.0.0.18"))
        self.assertEqual((pkt["ip.src"], pkt["ip.dst"], pkt["ip.ttl"], pkt["ip.proto"]),
                         (R1_V4, "224.0.0.18", "255", "112"))
        self.assertEqual((pkt["vrrp.version"], pkt["vrrp.virt_rtr_id"]), ("3", "51"))
        self.assertEqual(pkt["vrrp.checksum.status"], "1", "tshark: checksum good")
        # vigil writes the IPv4 header (IP_HDRINCL); the kernel fills in its length and checksum.
        self.assertEqual((pkt["ip.checksum.status"], pkt["ip.len"]), ("1", str(20 + 8 + 4)))
        # TOS 0xc0, precedence "internetwork control" (DSCP CS6), as keepalived's adverts carry.
        self.assertEqual(pkt["ip.dsfield"], "0xc0")

        got = fields(peer.expect(r"^recv ").string)
        self.assertEqual((got["src"], got["dst"], got["ttl"]), (R1_V4, "224.0.0.18", "255"))
        self.assertEqual(got["ifindex"], self.probe(self.r2, "link", "eth0").stdout.split()[0].split("=")[1])
        self.assertTrue(got["payload"].startswith("3133"), got)  # version 3, type 1, VRID 51
        # The kernel's receive timestamp (SO_TIMESTAMPNS): read after it arrived, well within a second.
        self.assertTrue(0 < int(got["age_us"]) < 1_000_000, got)
        self.assertEqual(peer.finish()[0], 0)

        code, lines = own.finish()
        self.assertEqual(code, 2, f"the sender's own host received its advert: {lines}")

    def test_ipv4_unicast_advert_leaves_from_the_chosen_source(self):
        self.r1.ip("addr add 10.9.0.50/24 dev eth0")  # unicast_src_ip, a secondary of the interface
        names = ["ip.src", "ip.dst", "ip.ttl", "vrrp.checksum.status", "ip.checksum.status", "ip.dsfield"]
        cap = self.tshark(self.r2, "ip proto 112", 1, names)
        peer = self.receiver(self.r2, 4)

        [pkt] = self.captured(cap, names,
                              lambda: self.probe(self.r1, "send", "eth0", 4, R2_V4, "--src", "10.9.0.50"))
        self.assertEqual((pkt["ip.src"], pkt["ip.dst"], pkt["ip.ttl"]), ("10.9.0.50", R2_V4, "255"))
        self.assertEqual((pkt["vrrp.checksum.status"], pkt["ip.checksum.status"], pkt["ip.dsfield"]),
                         ("1", "1", "0xc0"))
        got = fields(peer.expect(r"^recv ").string)
        self.assertEqual((got["src"], got["dst"], got["ttl"]), ("10.9.0.50", R2_V4, "255"))

    def test_ipv6_advert_goes_to_ff02_12_from_the_link_local_with_hop_limit_255(self):
        r1_ll = self.link_local(self.r1)
        self.link_local(self.r2)
        names = ["ipv6.src", "ipv6.dst", "ipv6.hlim", "ipv6.nxt", "vrrp.version", "vrrp.checksum.status",
                 "ipv6.tclass"]
        cap = self.tshark(self.r2, "ip6 proto 112", 1, names)
        peer = self.receiver(self.r2, 6)

        [pkt] = self.captured(cap, names, lambda: self.probe(self.r1, "send", "eth0", 6, "ff02::12"))
        self.assertEqual((pkt["ipv6.src"], pkt["ipv6.dst"], pkt["ipv6.hlim"], pkt["ipv6.nxt"]),
                         (r1_ll, "ff02::12", "255", "112"))
        self.assertEqual(pkt["vrrp.version"], "3")
        self.assertEqual(pkt["vrrp.checksum.status"], "1")
        self.assertEqual(int(pkt["ipv6.tclass"], 16), 0xc0, "traffic class CS6, as keepalived's")
        got = fields(peer.expect(r"^recv ").string)
        self.assertEqual((got["src"], got["dst"], got["ttl"]), (r1_ll, "ff02::12", "255"))
        self.assertTrue(0 < int(got["age_us"]) < 1_000_000, got)

    def test_gratuitous_arp_and_unsolicited_na_announce_the_vip_with_the_interface_mac(self):
        r1_ll = self.link_local(self.r1)
        self.link_local(self.r2)
        mac = self.mac(self.r1)

        arp_names = ["eth.src", "eth.dst", "arp.opcode", "arp.isgratuitous", "arp.src.hw_mac",
                     "arp.src.proto_ipv4", "arp.dst.proto_ipv4"]
        cap = self.tshark(self.r2, "arp and arp[14:4] == arp[24:4]", 1, arp_names)
        [pkt] = self.captured(cap, arp_names, lambda: self.probe(self.r1, "garp", "eth0", "10.9.0.100"))
        self.assertEqual((pkt["eth.src"], pkt["eth.dst"]), (mac, "ff:ff:ff:ff:ff:ff"))
        self.assertEqual((pkt["arp.opcode"], pkt["arp.isgratuitous"]), ("1", "1"))
        self.assertEqual(pkt["arp.src.hw_mac"], mac)
        self.assertEqual((pkt["arp.src.proto_ipv4"], pkt["arp.dst.proto_ipv4"]), ("10.9.0.100", "10.9.0.100"))

        na_names = ["eth.dst", "ipv6.src", "ipv6.dst", "ipv6.hlim", "icmpv6.type", "icmpv6.checksum.status",
                    "icmpv6.nd.na.flag.o", "icmpv6.nd.na.flag.s", "icmpv6.nd.na.target_address",
                    "icmpv6.opt.linkaddr"]
        cap = self.tshark(self.r2, "icmp6 and ip6[40] == 136", 1, na_names)
        [pkt] = self.captured(cap, na_names, lambda: self.probe(self.r1, "na", "eth0", "fd00:9::100"))
        self.assertEqual((pkt["eth.dst"], pkt["ipv6.src"], pkt["ipv6.dst"], pkt["ipv6.hlim"]),
                         ("33:33:00:00:00:01", r1_ll, "ff02::1", "255"))
        self.assertEqual((pkt["icmpv6.type"], pkt["icmpv6.checksum.status"]), ("136", "1"))
        self.assertEqual((pkt["icmpv6.nd.na.flag.o"], pkt["icmpv6.nd.na.flag.s"]), ("1", "0"))
        self.assertEqual(pkt["icmpv6.nd.na.target_address"], "fd00:9::100")
        self.assertEqual(pkt["icmpv6.opt.linkaddr"], mac)

    def test_link_and_address_events_are_reported_from_rtnetlink(self):
        ifindex = fields(self.probe(self.r1, "link", "eth0").stdout)["ifindex"]
        mon = Proc(self.r1, [PROBE, "monitor"])
        mon.expect(r"^ready$")

        self.r1.ip("link set eth0 down")
        mon.expect(rf"^link {ifindex} eth0 down$")
        self.r1.ip("link set eth0 up")
        mon.expect(rf"^link {ifindex} eth0 up$")

        # The switch port goes away under us: the carrier drops, the interface stays administratively up.
        self.sw.ip("link set p0 down")
        mon.expect(rf"^link {ifindex} eth0 down$")
        self.sw.ip("link set p0 up")
        mon.expect(rf"^link {ifindex} eth0 up$")

        self.r1.ip("link add vio-x type bridge")
        created = mon.expect(r"^link (\d+) vio-x (up|down)$")
        self.r1.ip("link del vio-x")
        mon.expect(rf"^link {created.group(1)} vio-x removed$")

        # Address events (RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR) arrive on the same loop.
        self.probe(self.r1, "addr", "add", "eth0", "10.9.0.100/24")
        mon.expect(rf"^addr new {ifindex} 10\.9\.0\.100/24$")
        self.probe(self.r1, "addr", "add", "eth0", "fd00:9::100/64")
        mon.expect(rf"^addr new {ifindex} fd00:9::100/64$")
        self.probe(self.r1, "addr", "del", "eth0", "10.9.0.100/24")
        mon.expect(rf"^addr del {ifindex} 10\.9\.0\.100/24$")

        self.lab.stop(mon.popen)
        self.assertEqual(mon.finish()[0], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
