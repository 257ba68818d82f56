"""vm: vigil's IPVS backend against real IPVS in Debian's kernel (qemu, TCG).

One guest runs the whole sequence (a boot costs ~20 s under emulation): vigil-ipvs-probe programs a table of
every kind of service and destination, `ipvsadm -Ln` (an independent decoder) must show exactly that; a second
run with the same table issues zero operations; one weight change issues exactly one SET_DEST; a reload that
drops a service and a destination deletes only those and leaves a foreign service alone; commands that meet
EEXIST are counted as races, not failures; IpvsKeeper on an Asio loop applies only the difference.
"""

import os
import re
import unittest

import vmlab

SPEC1 = """\
service tcp 10.0.0.1 80 rr
dest 10.0.1.1 80 masq 1
dest 10.0.1.2 80 masq 2
dest 10.0.1.3 80 masq 3
service udp 10.0.0.2 53 wrr persistent 300 granularity 255.255.255.0 ops pe sip
dest 10.0.2.1 53 route 5
dest 10.0.2.2 53 tunnel 1 uthreshold 100 lthreshold 10
service tcp fd00::1 443 wlc
dest fd00::10 443 masq 1
dest fd00::11 443 masq 4
service fwmark 7 sh
dest 10.0.3.1 0 route 1
service sctp 10.0.0.3 3868 lc
dest 10.0.4.1 3868 masq 1
"""
# SPEC1 with one weight changed (10.0.1.2: 2 -> 9).
SPEC2 = SPEC1.replace("dest 10.0.1.2 80 masq 2", "dest 10.0.1.2 80 masq 9")
# SPEC2 without the SCTP service and without 10.0.1.3.
SPEC3 = SPEC2.replace("service sctp 10.0.0.3 3868 lc\ndest 10.0.4.1 3868 masq 1\n", "").replace(
    "dest 10.0.1.3 80 masq 3\n", "")
# SPEC3 with a service whose scheduler does not exist: the kernel refuses it, and only it.
SPEC_BAD = SPEC3 + "service tcp 10.0.0.9 80 nosuch\ndest 10.0.9.1 80 masq 1\n"

SCRIPT = """
step() { echo "== $1"; }
exec 2>>/tmp/stderr.log
step status; vigil-ipvs-probe status
step sync1; vigil-ipvs-probe sync /etc/spec1
step table1; ipvsadm -Ln
step sync1again; vigil-ipvs-probe sync /etc/spec1
step race; vigil-ipvs-probe race /etc/spec1
step sync2; vigil-ipvs-probe sync /etc/spec2
step table2; ipvsadm -Ln
ipvsadm -A -t 192.0.2.1:443 -s rr && ipvsadm -a -t 192.0.2.1:443 -r 192.0.2.10:443 -m -w 1
step sync3; vigil-ipvs-probe sync /etc/spec3 --previous /etc/spec2
step table3; ipvsadm -Ln
ipvsadm -d -t 10.0.0.1:80 -r 10.0.1.1:80 && ipvsadm -e -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 4
step repair; vigil-ipvs-probe sync /etc/spec3
step table4; ipvsadm -Ln
step keep; vigil-ipvs-probe keep /etc/spec3 /etc/spec1
step table5; ipvsadm -Ln
step bad; vigil-ipvs-probe sync /etc/spec_bad --previous /etc/spec1
step table6; ipvsadm -Ln
step stderr; cat /tmp/stderr.log
step end
"""

FORWARD = {"masq": "Masq", "route": "Route", "tunnel": "Tunnel"}


def expected_table(spec):
    """The spec as {service: (scheduler words, {dest: (forward, weight)})} in ipvsadm's notation."""
    table = {}
    current = None
    for line in spec.splitlines():
        w = line.split()
        if not w:
            continue
        if w[0] == "service":
            if w[1] == "fwmark":
                key, rest = f"FWM {w[2]}", w[3:]
            else:
                addr = f"[{w[2]}]" if ":" in w[2] else w[2]
                key, rest = f"{w[1].upper()} {addr}:{w[3]}", w[4:]
            sched, words = rest[0], set()
            i = 1
            while i < len(rest):
                if rest[i] == "persistent":
                    words.add(f"persistent {rest[i + 1]}")
                    i += 2
                elif rest[i] == "granularity":
                    words.add(f"mask {rest[i + 1]}")
                    i += 2
                elif rest[i] == "pe":
                    words.add(f"pe {rest[i + 1]}")
                    i += 2
                else:
                    words.add(rest[i])
                    i += 1
            current = key
            table[key] = (sched, words, {})
        elif w[0] == "dest":
            addr = f"[{w[1]}]" if ":" in w[1] else w[1]
            table[current][2][f"{addr}:{w[2]}"] = (FORWARD[w[3]], int(w[4]))
    return table


def parse_ipvsadm(text):
    """`ipvsadm -Ln` as the same structure."""
    table = {}
    current = None
    for line in text.splitlines():
        w = line.split()
        if not w or w[0] in ("IP", "Prot") or (w[0] == "->" and w[1] == "RemoteAddress:Port"):
            continue
        if w[0] in ("TCP", "UDP", "SCTP", "FWM"):
            key = f"{w[0]} {w[1]}"
            rest = w[2:]
            sched, words = rest[0], set()
            i = 1
            while i < len(rest):
                if rest[i] in ("persistent", "mask", "pe"):
                    words.add(f"{rest[i]} {rest[i + 1]}")
                    i += 2
                else:
                    words.add(rest[i])
                    i += 1
            current = key
            table[key] = (sched, words, {})
        elif w[0] == "->":
            table[current][2][w[1]] = (w[2], int(w[3]))
    return table


def steps(output):
    """The script's output cut at its `== NAME` lines."""
    parts = re.split(r"^== (\S+)$", output, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def counts(line):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


@unittest.skipIf(vmlab.missing_tools(), f"vm tools missing: {vmlab.missing_tools()}")
class IpvsProbeInVm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # ip_vs_pe_sip (and the nf_conntrack_sip it needs) for the UDP service's persistence engine.
        cls.result = vmlab.boot(SCRIPT, programs=[vmlab.vigil_binary("vigil-ipvs-probe")],
                                files={"/etc/spec1": SPEC1, "/etc/spec2": SPEC2, "/etc/spec3": SPEC3,
                                       "/etc/spec_bad": SPEC_BAD},
                                modules=vmlab.DEFAULT_MODULES + ["ip_vs_pe_sip"], timeout=300)
        cls.steps = steps(cls.result.output)

    def step(self, name):
        self.assertEqual(self.result.rc, 0, self.result.console[-3000:])
        self.assertIn(name, self.steps, self.result.output)
        return self.steps[name]

    def first_line(self, name):
        out = self.step(name)
        return counts(out.strip().splitlines()[0]) if out.strip() else {}

    def test_backend_is_available(self):
        self.assertEqual(self.step("status").strip(), "available")

    def test_first_sync_programs_exactly_the_spec(self):
        c = self.first_line("sync1")
        self.assertEqual(c["ok"], "1", self.step("sync1"))
        self.assertEqual(int(c["NEW_SERVICE"]), 5)
        self.assertEqual(int(c["NEW_DEST"]), 9)
        self.assertEqual(int(c["ops"]), 14)
        # 14 commands in one sendmsg: the batching the performance target relies on.
        self.assertEqual(int(c["sendmsg"]), 1)
        self.assertEqual(parse_ipvsadm(self.step("table1")), expected_table(SPEC1))

    def test_second_sync_with_the_same_table_issues_nothing(self):
        c = self.first_line("sync1again")
        self.assertEqual((c["ok"], c["ops"]), ("1", "0"), self.step("sync1again"))

    def test_existing_entries_count_as_races_not_failures(self):
        c = self.first_line("race")
        self.assertEqual(c["sent"], "14", self.step("race"))
        self.assertEqual(c["raced"], "14")
        self.assertEqual(c["succeeded"], "14")
        self.assertEqual(c["failed"], "0")

    def test_one_weight_change_issues_one_set_dest(self):
        out = self.step("sync2")
        c = self.first_line("sync2")
        self.assertEqual((c["ok"], c["ops"], c.get("SET_DEST")), ("1", "1", "1"), out)
        self.assertIn("op SET_DEST TCP 10.0.0.1:80 -> 10.0.1.2:80 weight 9", out)
        self.assertEqual(parse_ipvsadm(self.step("table2")), expected_table(SPEC2))

    def test_reload_deletes_only_what_left_the_config(self):
        out = self.step("sync3")
        c = self.first_line("sync3")
        self.assertEqual((c["ok"], c["ops"], c.get("DEL_SERVICE"), c.get("DEL_DEST")), ("1", "2", "1", "1"), out)
        table = parse_ipvsadm(self.step("table3"))
        foreign = table.pop("TCP 192.0.2.1:443", None)
        self.assertEqual(foreign, ("rr", set(), {"192.0.2.10:443": ("Masq", 1)}))
        self.assertEqual(table, expected_table(SPEC3))

    def test_changes_made_behind_our_back_are_repaired_with_two_commands(self):
        out = self.step("repair")
        c = self.first_line("repair")
        self.assertEqual((c["ok"], c["ops"], c.get("NEW_DEST"), c.get("SET_DEST")), ("1", "2", "1", "1"), out)
        table = parse_ipvsadm(self.step("table4"))
        table.pop("TCP 192.0.2.1:443", None)
        self.assertEqual(table, expected_table(SPEC3))

    def test_keeper_applies_only_the_difference_on_its_loop(self):
        out = self.step("keep")
        syncs = [counts(line) for line in out.splitlines() if line.startswith("keep ")]
        self.assertEqual([(c["ok"], c["ops"]) for c in syncs], [("1", "0"), ("1", "4")], out)
        for op in ("NEW_SERVICE SCTP 10.0.0.3:3868 lc", "NEW_DEST SCTP 10.0.0.3:3868 -> 10.0.4.1:3868 weight 1",
                   "NEW_DEST TCP 10.0.0.1:80 -> 10.0.1.3:80 weight 3",
                   "SET_DEST TCP 10.0.0.1:80 -> 10.0.1.2:80 weight 2"):
            self.assertIn("op " + op, out)
        table = parse_ipvsadm(self.step("table5"))
        table.pop("TCP 192.0.2.1:443", None)
        self.assertEqual(table, expected_table(SPEC1))

    def test_a_refused_command_is_reported_and_the_rest_of_the_batch_applies(self):
        out = self.step("bad")
        c = self.first_line("bad")
        # From SPEC1's table: SPEC3's three changes, plus the bad service and its destination.
        self.assertEqual((c["ok"], c["ops"], c["rounds"], c["failed"]), ("0", "5", "1", "1"), out)
        self.assertIn("error 1 IPVS command(s) failed, first NEW_SERVICE TCP 10.0.0.9:80 nosuch: ", out)
        log = self.step("stderr")
        self.assertIn("NEW_SERVICE TCP 10.0.0.9:80 nosuch failed", log)
        self.assertNotIn("10.0.0.1:80 nosuch", log)
        table = parse_ipvsadm(self.step("table6"))
        table.pop("TCP 192.0.2.1:443", None)
        self.assertEqual(table, expected_table(SPEC3))


if __name__ == "__main__":
    unittest.main(verbosity=2)
