"""vm: vigild itself, with its checker, programming real IPVS (issue 5 item 4).

One guest runs the whole story (a boot costs ~20 s under emulation). The guest's root namespace is the director
(IPVS, NAT): the VIP 10.0.0.100 sits on its client-facing veth (10.0.2.1/24), the real servers on a bridge
(10.0.1.1/24). Namespaces rs1..rs3 (10.0.1.11-13) and sorry (10.0.1.20) run busybox httpd on port 80, serving a
page that names the server and a /health page; their default route is the director, as NAT needs. The client
namespace (10.0.2.2) reaches the VIP through the director. vigild runs as root and drops to `nobody` (the guest
has no user vigil); its children program IPVS.

The script, in order: a calibration of the netlink witness; vigild with VS_RR (rr, quorum 2, sorry server) and
VS_WRR (wrr, weights 1/2/3, inhibit_on_failure); the table against the config; rr and wrr spreads; SIGKILL of
vigil-checker; one httpd stopped and started; quorum lost and regained; a reload that changes one weight.

"No delete or re-add" is proven from the kernel: an nlmon device taps every netlink message, dumpcap records
them, and the host decodes the requests sent to the IPVS generic netlink family. Counters alone would not do:
IPVS keeps a deleted destination in its trash and a re-added one gets its old counters back (the calibration
step shows it), so unchanged counters are necessary but not sufficient.
"""

import base64
import json
import os
import re
import shutil
import struct
import unittest

import vmlab
from test_ipvs_probe import parse_ipvsadm, steps

VIP = "10.0.0.100"
SERVERS = {"rs1": "10.0.1.11", "rs2": "10.0.1.12", "rs3": "10.0.1.13"}
SORRY = ("sorry", "10.0.1.20")
# Check timing (seconds): a stopped server must go within DELAY_LOOP + RETRY * DELAY_BEFORE_RETRY (+ MARGIN),
# and not before RETRY * DELAY_BEFORE_RETRY (the retries must be honoured).
DELAY_LOOP, RETRY, DELAY_BEFORE_RETRY, CONNECT_TIMEOUT = 1, 1, 1, 1
MARGIN = 3.0
VS_RR = f"{VIP}:80"
VS_WRR = f"{VIP}:8080"
RR_WEIGHTS = {"rs1": 1, "rs2": 1, "rs3": 1}
WRR_WEIGHTS = {"rs1": 1, "rs2": 2, "rs3": 3}
RELOAD_WEIGHT = 5  # VS_WRR's rs2 after the reload
REQUESTS = 30  # a multiple of 3 (rr) and of the wrr weight sum 6: both spreads are exact

# genl commands of the IPVS family (linux/ip_vs.h)
IPVS_CMDS = {1: "NEW_SERVICE", 2: "SET_SERVICE", 3: "DEL_SERVICE", 4: "GET_SERVICE", 5: "NEW_DEST",
             6: "SET_DEST", 7: "DEL_DEST", 8: "GET_DEST", 9: "NEW_DAEMON", 10: "DEL_DAEMON", 11: "GET_DAEMON",
             12: "SET_CONFIG", 13: "GET_CONFIG", 14: "SET_INFO", 15: "GET_INFO", 16: "ZERO", 17: "FLUSH"}
WRITES = {"NEW_SERVICE", "SET_SERVICE", "DEL_SERVICE", "NEW_DEST", "SET_DEST", "DEL_DEST", "ZERO", "FLUSH"}


def http_check():
    return f"""        HTTP_GET {{
            url {{
                path /health
                status_code 200
            }}
            connect_timeout {CONNECT_TIMEOUT}
            retry {RETRY}
            delay_before_retry {DELAY_BEFORE_RETRY}
        }}"""


def config(wrr_weights):
    rr = "\n".join(f"""    real_server {SERVERS[n]} 80 {{
        weight {w}
{http_check()}
    }}""" for n, w in RR_WEIGHTS.items())
    wrr = "\n".join(f"""    real_server {SERVERS[n]} 80 {{
        weight {w}
        inhibit_on_failure
{http_check()}
    }}""" for n, w in wrr_weights.items())
    return f"""global_defs {{
    router_id director
}}

virtual_server {VIP} 80 {{
    delay_loop {DELAY_LOOP}
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server {SORRY[1]} 80
{rr}
}}

virtual_server {VIP} 8080 {{
    delay_loop {DELAY_LOOP}
    lb_algo wrr
    lb_kind NAT
    protocol TCP
{wrr}
}}
"""


CONF = config(WRR_WEIGHTS)
CONF_RELOAD = config({**WRR_WEIGHTS, "rs2": RELOAD_WEIGHT})


def expected(rr, wrr, sorry=False):
    """A table in parse_ipvsadm's form: {service: (scheduler, flags, {dest: (forward, weight)})}."""
    rr_dests = {f"{SORRY[1]}:80": ("Masq", 1)} if sorry else {f"{SERVERS[n]}:80": ("Masq", w) for n, w in rr.items()}
    return {f"TCP {VS_RR}": ("rr", set(), rr_dests),
            f"TCP {VS_WRR}": ("wrr", set(), {f"{SERVERS[n]}:80": ("Masq", w) for n, w in wrr.items()})}


SCRIPT = vmlab.SHELL_HELPERS + r"""
# busybox-static's sh runs its own applets before PATH: a bare `ip` would be busybox's, which has no netns.
ip() { /usr/bin/ip "$@"; }
# abort WHY: the rest would only pile up timeouts; show what vigild said and stop.
abort() {
    echo "== abort"; echo "ABORT $1"
    echo "== stderr"; cat /tmp/stderr.log
    echo "== vigild_log"; cat /tmp/vigild.log
    exit 1
}
now() { cut -d' ' -f1 /proc/uptime; }
VC() { vigilctl -s /run/vigil/vigil.sock "$@"; }
exec 2>>/tmp/stderr.log
has_dest() { ipvsadm -Ln -t "$1" | awk -v r="$2" '$1 == "->" && $2 == r { f = 1 } END { exit !f }'; }
no_dest() { ! has_dest "$@"; }
dest_weight() {
    ipvsadm -Ln -t "$1" | awk -v r="$2" -v w="$3" '$1 == "->" && $2 == r && $4 == w { f = 1 } END { exit !f }'
}
masq_count() { [ "$(ipvsadm -Ln | grep -c Masq)" -eq "$1" ]; }
# /usr/bin/ip, not the function: $! must be the process that becomes httpd, not a subshell.
start_httpd() { /usr/bin/ip netns exec "$1" busybox httpd -f -p 80 -h "/www/$1" & echo $! > "/run/httpd-$1.pid"; }
stop_httpd() { kill "$(cat /run/httpd-$1.pid)"; }
# get HOST PORT PATH: the response's last line (the pages are one line); busybox-static's wget crashes, so nc.
get() { printf 'GET %s HTTP/1.0\r\n\r\n' "$3" | nc -w 3 "$1" "$2" | tail -n 1; }
http_ok() { [ "$(get "$1" 80 /health)" = ok ]; }
# hits LABEL PORT N: N requests from the client to the VIP, one line "R LABEL BODY" each
hits() {
    /usr/bin/ip netns exec client sh -c '
        i=0
        while [ $i -lt "$3" ]; do
            b=$(printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 "$4" "$2" | tail -n 1)
            echo "R $1 ${b:-FAIL}"
            i=$((i + 1))
        done' sh "$1" "$2" "$3" @VIP@
}
# the PIDs of live (not zombie) vigil-checker processes
running_checkers() {
    for d in /proc/[0-9]*; do
        [ "$(cat "$d/comm" 2>/dev/null)" = vigil-checker ] && ! is_zombie "${d#/proc/}" && echo "${d#/proc/}"
    done
}
is_zombie() { [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]; }
restarted() { p=$(running_checkers); [ -n "$p" ] && [ "$p" != "$1" ]; }
log_count() { grep -c "IPVS: table in step" /tmp/vigild.log; }
synced_since() { [ "$(log_count)" -gt "$1" ]; }
cap_start() {
    dumpcap -i nlmon0 -P -w "/tmp/$1.pcap" >"/tmp/$1.cap.log" 2>&1 & CAP=$!
    waitfor 60 grep -q "Capturing on" "/tmp/$1.cap.log" || cat "/tmp/$1.cap.log"
    # dumpcap can say "Capturing on" before its tap sees anything (a slow guest once lost the first command
    # after it). Give it time, then mark the start: requests() counts only what follows this GET_CONFIG.
    sleep 1; ipvsadm -L --timeout >/dev/null
}
cap_stop() { sleep 0.5; kill -INT $CAP; wait $CAP; echo "== pcap_$1"; base64 "/tmp/$1.pcap"; }

step setup
echo 1 > /proc/sys/net/ipv4/ip_forward
ip link add nlmon0 type nlmon && ip link set nlmon0 up
ip link add br0 type bridge && ip addr add 10.0.1.1/24 dev br0 && ip link set br0 up
for pair in @SERVERS@; do
    n=${pair%=*}; a=${pair#*=}
    mkdir -p "/www/$n" && echo "$n" > "/www/$n/index.html" && echo ok > "/www/$n/health"
    ip netns add "$n"
    ip link add "v-$n" type veth peer name eth0 netns "$n"
    ip link set "v-$n" master br0 up
    ip -n "$n" link set lo up
    ip -n "$n" addr add "$a/24" dev eth0
    ip -n "$n" link set eth0 up
    ip -n "$n" route add default via 10.0.1.1
    start_httpd "$n"
done
ip netns add client
ip link add v-client type veth peer name eth0 netns client
ip addr add 10.0.2.1/24 dev v-client
ip addr add @VIP@/24 dev v-client
ip link set v-client up
ip -n client link set lo up
ip -n client addr add 10.0.2.2/24 dev eth0
ip -n client link set eth0 up
ip -n client route add default via 10.0.2.1
for pair in @SERVERS@; do
    waitfor 20 http_ok "${pair#*=}" || abort "httpd ${pair%=*} does not answer"
done
echo "family $(genl ctrl get name IPVS | grep -o 'ID: 0x[0-9a-f]*')"

step calibration
ipvsadm -A -t @VIP@:9000 -s rr
ipvsadm -a -t @VIP@:9000 -r 10.0.1.11:80 -m && ipvsadm -a -t @VIP@:9000 -r 10.0.1.12:80 -m
hits calib 9000 4
# IPVS publishes its counters from an estimator that runs every 2 s: let it catch up before reading them.
sleep 3
step calib_before; ipvsadm -Ln --stats --exact --nosort -t @VIP@:9000
cap_start calib
ipvsadm -d -t @VIP@:9000 -r 10.0.1.11:80 && ipvsadm -a -t @VIP@:9000 -r 10.0.1.11:80 -m
cap_stop calib
step calib_after; ipvsadm -Ln --stats --exact --nosort -t @VIP@:9000
ipvsadm -D -t @VIP@:9000

step start
vigild -f /etc/vigil/vigil.conf -l -D -p /run/vigil/vigild.pid --control-socket /run/vigil/vigil.sock \
    >/tmp/vigild.log 2>&1 &
waitfor 60 masq_count 6 || abort "vigild did not program the table"
# A few rounds of checks: every real server must stay in.
sleep 3
step table1; ipvsadm -Ln
step status1; VC status --json

step rr; hits rr 80 @N@
step wrr; hits wrr 8080 @N@
sleep 3

step stats_before; ipvsadm -Ln --stats --exact --nosort
step proc_before; cat /proc/net/ip_vs
step table_before; ipvsadm -Ln
step kill
cap_start kill
vigild_pid=$(cat /run/vigil/vigild.pid)
old=$(running_checkers); before=$(log_count)
echo "old_pid=$old"
# vigild is held (SIGSTOP) while the checker dies, so that the table can be looked at while no checker runs;
# SIGCONT lets it see the death and restart the checker as it would have at once.
kill -STOP "$vigild_pid"
kill -KILL "$old"
waitfor 10 is_zombie "$old" || abort "vigil-checker $old did not die"
step proc_down; cat /proc/net/ip_vs; echo "running_checkers=[$(running_checkers)]"
sleep 2
step proc_down_later; cat /proc/net/ip_vs
kill -CONT "$vigild_pid"
step restart
waitfor 60 restarted "$old" || abort "vigil-checker not restarted"
waitfor 60 synced_since "$before" || abort "no sync after the restart"
echo "new_pid=$(running_checkers)"
# Let the restarted checker run a few rounds of checks before the capture ends.
sleep 3
cap_stop kill
step status_after_kill; VC status --json
step stats_after; ipvsadm -Ln --stats --exact --nosort
step proc_after; cat /proc/net/ip_vs
step table_after; ipvsadm -Ln

step fail
t0=$(now); stop_httpd rs1
waitfor 30 no_dest @VIP@:80 10.0.1.11:80; t1=$(now)
waitfor 30 dest_weight @VIP@:8080 10.0.1.11:80 0; t2=$(now)
echo "T stopped=$t0 removed=$t1 inhibited=$t2"
step fail_table; ipvsadm -Ln
step fail_hits; hits fail 80 6
step recover
t0=$(now); start_httpd rs1
waitfor 30 dest_weight @VIP@:80 10.0.1.11:80 1; t1=$(now)
waitfor 30 dest_weight @VIP@:8080 10.0.1.11:80 1; t2=$(now)
echo "T started=$t0 added=$t1 restored=$t2"
step recover_table; ipvsadm -Ln

step quorum_lost
stop_httpd rs1; stop_httpd rs2
# Each virtual server checks its real servers on its own: wait for every change, in both.
waitfor 30 has_dest @VIP@:80 @SORRY@:80
waitfor 30 dest_weight @VIP@:8080 10.0.1.11:80 0
waitfor 30 dest_weight @VIP@:8080 10.0.1.12:80 0
step quorum_lost_table; ipvsadm -Ln
step quorum_lost_hits; hits sorry 80 6
step quorum_back
start_httpd rs1; start_httpd rs2
waitfor 30 no_dest @VIP@:80 @SORRY@:80
waitfor 30 dest_weight @VIP@:80 10.0.1.11:80 1
waitfor 30 dest_weight @VIP@:80 10.0.1.12:80 1
waitfor 30 dest_weight @VIP@:8080 10.0.1.11:80 1
waitfor 30 dest_weight @VIP@:8080 10.0.1.12:80 2
step quorum_back_table; ipvsadm -Ln
step quorum_back_hits; hits back 80 6

step reload
sleep 3
step reload_stats_before; ipvsadm -Ln --stats --exact --nosort
step reload_proc_before; cat /proc/net/ip_vs
cap_start reload
before=$(log_count)
cp /etc/vigil/vigil-reload.conf /etc/vigil/vigil.conf
VC reload
waitfor 30 synced_since "$before"
sleep 2
cap_stop reload
step reload_stats_after; ipvsadm -Ln --stats --exact --nosort
step reload_proc_after; cat /proc/net/ip_vs
step reload_table; ipvsadm -Ln

step stop
kill -TERM "$(cat /run/vigil/vigild.pid)"
waitfor 30 sh -c "! pidof vigild"
step stderr; cat /tmp/stderr.log
step vigild_log; cat /tmp/vigild.log
step end
""".replace("@VIP@", VIP).replace("@N@", str(REQUESTS)).replace("@SORRY@", SORRY[1]).replace(
    "@SERVERS@", " ".join(f"{n}={a}" for n, a in [*SERVERS.items(), SORRY]))


def parse_stats(text):
    """`ipvsadm -Ln --stats --exact --nosort` as [(service, [(dest, counters)])], in the kernel's order."""
    out = []
    for line in text.splitlines():
        w = line.split()
        if len(w) == 7 and w[0] in ("TCP", "UDP", "SCTP", "FWM"):
            out.append((f"{w[0]} {w[1]}", tuple(int(x) for x in w[2:]), []))
        elif len(w) == 7 and w[0] == "->" and out:
            out[-1][2].append((w[1], tuple(int(x) for x in w[2:])))
    return out


def parse_proc(text):
    """/proc/net/ip_vs without the connection gauges (they move as connections expire), in the kernel's order."""
    out = []
    for line in text.splitlines():
        w = line.split()
        if w and w[0] in ("TCP", "UDP", "SCTP", "FWM"):
            out.append(tuple(w))
        elif len(w) == 6 and w[0] == "->" and w[1] != "RemoteAddress:Port":
            out.append(tuple(w[:4]))
    return out


def ipvs_requests(pcap, family):
    """The requests (NLM_F_REQUEST) sent to the IPVS family in a pcap of an nlmon device: [command name]."""
    magic = struct.unpack("<I", pcap[:4])[0]
    if magic != 0xA1B2C3D4:
        raise AssertionError(f"not a little-endian pcap (magic {magic:#x})")
    linktype = struct.unpack("<I", pcap[20:24])[0]
    cmds = []
    off = 24
    while off + 16 <= len(pcap):
        incl = struct.unpack("<I", pcap[off + 8:off + 12])[0]
        pkt = pcap[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 253:  # LINKTYPE_NETLINK: a 16-byte cooked header, then the netlink messages
            pkt = pkt[16:]
        while len(pkt) >= 20:
            length, mtype, flags = struct.unpack("<IHH", pkt[:8])
            if length < 16:
                break
            if mtype == family and flags & 0x1:
                cmds.append(IPVS_CMDS.get(pkt[16], f"cmd{pkt[16]}"))
            pkt = pkt[(length + 3) & ~3:]
    return cmds


def hits(output, label):
    counts = {}
    for m in re.finditer(rf"^R {label} (\S*)$", output, flags=re.M):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


@unittest.skipIf(vmlab.missing_tools() or not shutil.which("dumpcap") or not shutil.which("genl"),
                 f"vm tools missing: {vmlab.missing_tools()} (and dumpcap, genl)")
class VigildOnRealIpvs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        programs = [vmlab.vigil_binary(b) for b in ("vigild", "vigil-checker", "vigil-vrrp", "vigilctl")]
        programs += [shutil.which("dumpcap"), shutil.which("genl")]
        cls.result = vmlab.boot(SCRIPT, programs=programs,
                                files={"/etc/vigil/vigil.conf": CONF, "/etc/vigil/vigil-reload.conf": CONF_RELOAD,
                                       "/etc/nsswitch.conf": "passwd: files\ngroup: files\n"},
                                modules=vmlab.DEFAULT_MODULES + ["nlmon"], timeout=400)
        cls.steps = steps(cls.result.output)
        if os.environ.get("VIGIL_VM_CONSOLE"):  # keep the whole console, to read after a failure
            with open(os.environ["VIGIL_VM_CONSOLE"], "w") as f:
                f.write(cls.result.console)

    # --- helpers ------------------------------------------------------------------------------------------
    def context(self, *names):
        """What a failure message shows: the named steps, the script's stderr and vigild's log."""
        parts = [f"--- {n}:\n{self.steps.get(n, '(missing)')}" for n in names]
        parts.append(f"--- stderr:\n{self.steps.get('stderr', '')[-2000:]}")
        parts.append(f"--- vigild log (tail):\n{self.steps.get('vigild_log', self.result.console)[-6000:]}")
        return "\n".join(parts)

    def step(self, name):
        if self.result.rc != 0:
            self.fail(f"the guest script failed (rc {self.result.rc}, timed out {self.result.timed_out})\n" +
                      self.context("abort") + "\n--- console (tail):\n" + self.result.console[-3000:])
        self.assertIn(name, self.steps, self.result.output[-6000:])
        self.assertNotIn("TIMEOUT", self.steps[name], self.context(name))
        return self.steps[name]

    def table(self, name):
        return parse_ipvsadm(self.step(name))

    def family(self):
        m = re.search(r"family ID: (0x[0-9a-f]+)", self.step("setup"))
        self.assertTrue(m, self.context("setup"))
        return int(m.group(1), 16)

    def requests(self, name):
        """The IPVS requests a capture saw after its start marker (cap_start's GET_CONFIG)."""
        pcap = base64.b64decode("".join(self.step("pcap_" + name).split()))
        reqs = ipvs_requests(pcap, self.family())
        self.assertIn("GET_CONFIG", reqs, f"capture {name} missed its own start marker, so it cannot vouch "
                      f"for what came after: {reqs}")
        return reqs[reqs.index("GET_CONFIG") + 1:]

    def times(self, name):
        m = re.search(r"^T (.*)$", self.step(name), flags=re.M)
        self.assertTrue(m, self.context(name))
        return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", m.group(1))}

    def log(self):
        return self.step("vigild_log")

    # --- the witness --------------------------------------------------------------------------------------
    def test_the_netlink_witness_sees_a_delete_and_a_re_add(self):
        # ipvsadm deletes and re-adds one destination of a scratch service: the capture must show both, or
        # "no write" further down would prove nothing.
        reqs = self.requests("calib")
        self.assertEqual(sorted(r for r in reqs if r in WRITES), ["DEL_DEST", "NEW_DEST"], reqs)
        before = dict(parse_stats(self.step("calib_before"))[0][2])
        after = dict(parse_stats(self.step("calib_after"))[0][2])
        # Why counters are not the proof: a re-added destination comes back from IPVS's trash with its counters.
        print(f"\ncalibration: 10.0.1.11:80 counters before delete {before.get('10.0.1.11:80')}, "
              f"after re-add {after.get('10.0.1.11:80')}")

    # --- 1. the table -------------------------------------------------------------------------------------
    def test_ipvsadm_shows_exactly_the_config(self):
        self.assertEqual(self.table("table1"), expected(RR_WEIGHTS, WRR_WEIGHTS), self.context("table1"))
        status = json.loads(self.step("status1"))
        self.assertTrue(status.get("ipvs", {}).get("available"), status.get("ipvs"))
        healthy = [rs.get("healthy") for vs in status["virtualServers"] for rs in vs["realServers"]]
        self.assertEqual(healthy, [True] * 6, self.context("status1"))

    # --- 2. spreads ---------------------------------------------------------------------------------------
    def test_rr_spreads_client_requests_equally(self):
        n = REQUESTS // 3
        self.assertEqual(hits(self.step("rr"), "rr"), {"rs1": n, "rs2": n, "rs3": n}, self.context("rr"))
        # The kernel counted the same connections on each destination.
        per_dest = {s: dict(d) for s, _, d in parse_stats(self.step("stats_before"))}
        self.assertIn(f"TCP {VS_RR}", per_dest, self.context("stats_before"))
        self.assertEqual(sorted(c[0] for c in per_dest[f"TCP {VS_RR}"].values()), [n, n, n],
                         self.context("stats_before"))

    def test_wrr_spreads_client_requests_by_weight(self):
        total = sum(WRR_WEIGHTS.values())
        want = {n: REQUESTS * w // total for n, w in WRR_WEIGHTS.items()}
        self.assertEqual(hits(self.step("wrr"), "wrr"), want, self.context("wrr"))

    # --- 3. a real server fails and comes back ------------------------------------------------------------
    def test_a_stopped_server_leaves_within_the_retry_bound_and_comes_back(self):
        t = self.times("fail")
        removed, inhibited = t["removed"] - t["stopped"], t["inhibited"] - t["stopped"]
        bound = DELAY_LOOP + RETRY * DELAY_BEFORE_RETRY + MARGIN
        floor = RETRY * DELAY_BEFORE_RETRY - 0.1
        for what, took in (("removed from rr", removed), ("weight 0 in wrr", inhibited)):
            self.assertLessEqual(took, bound, f"{what} after {took:.2f} s\n" + self.context("fail"))
            self.assertGreaterEqual(took, floor, f"{what} after {took:.2f} s: retry not honoured\n" +
                                    self.context("fail"))
        print(f"\nstopped httpd: removed after {removed:.2f} s, inhibited after {inhibited:.2f} s "
              f"(bound {bound:.1f} s)")
        self.assertEqual(self.table("fail_table"),
                         expected({"rs2": 1, "rs3": 1}, {**WRR_WEIGHTS, "rs1": 0}), self.context("fail_table"))
        self.assertEqual(hits(self.step("fail_hits"), "fail"), {"rs2": 3, "rs3": 3}, self.context("fail_hits"))
        t = self.times("recover")
        for what, took in (("back in rr", t["added"] - t["started"]), ("weight back in wrr",
                                                                     t["restored"] - t["started"])):
            self.assertLessEqual(took, DELAY_LOOP + MARGIN, f"{what} after {took:.2f} s\n" +
                                 self.context("recover"))
        self.assertEqual(self.table("recover_table"), expected(RR_WEIGHTS, WRR_WEIGHTS),
                         self.context("recover_table"))
        self.assertIn("[10.0.0.100:80 TCP -> 10.0.1.11:80] real server DOWN", self.log())

    # --- 4. SIGKILL of the checker ------------------------------------------------------------------------
    def test_a_killed_checker_is_restarted_and_the_kernel_table_is_left_alone(self):
        old = int(re.search(r"old_pid=(\d+)", self.step("kill")).group(1))
        new = int(re.search(r"new_pid=(\d+)", self.step("restart")).group(1))
        self.assertNotEqual(old, new)
        status = json.loads(self.step("status_after_kill"))
        checker = [c for c in status["children"] if c["role"] == "checker"][0]
        self.assertEqual((checker["pid"], checker["state"], checker["restarts"]), (new, "RUNNING", 1), checker)
        # The same table, in the same kernel order, at every point: before, while down, after.
        before = parse_proc(self.step("proc_before"))
        self.assertEqual(len(before), 8, self.context("proc_before"))
        self.assertIn("running_checkers=[]", self.step("proc_down"), "no checker ran while the table was read")
        for name in ("proc_down", "proc_down_later", "proc_after"):
            self.assertEqual(parse_proc(self.step(name)), before, self.context("proc_before", name))
        self.assertEqual(self.table("table_after"), self.table("table_before"), self.context("table_after"))
        # Necessary (not sufficient, see the calibration): every service's and destination's counters.
        self.assertEqual(parse_stats(self.step("stats_after")), parse_stats(self.step("stats_before")),
                         self.context("stats_before", "stats_after"))
        # Sufficient: the restarted checker read the table and sent not one write.
        reqs = self.requests("kill")
        self.assertEqual([r for r in reqs if r in WRITES], [], reqs)
        self.assertIn("GET_SERVICE", reqs, "the capture saw the restarted checker read the table")
        # And the checker says so: its first sync after the restart changed nothing.
        after_restart = self.log().split(f"(pid {new})", 1)
        self.assertEqual(len(after_restart), 2, self.context())
        self.assertIn("IPVS: table in step (0 change(s))", after_restart[1], self.context())

    # --- 5. quorum and the sorry server -------------------------------------------------------------------
    def test_losing_quorum_switches_to_the_sorry_server_and_back(self):
        self.assertEqual(self.table("quorum_lost_table"),
                         expected({}, {**WRR_WEIGHTS, "rs1": 0, "rs2": 0}, sorry=True),
                         self.context("quorum_lost_table"))
        self.assertEqual(hits(self.step("quorum_lost_hits"), "sorry"), {"sorry": 6},
                         self.context("quorum_lost_hits"))
        self.assertEqual(self.table("quorum_back_table"), expected(RR_WEIGHTS, WRR_WEIGHTS),
                         self.context("quorum_back_table"))
        self.assertEqual(hits(self.step("quorum_back_hits"), "back"), {"rs1": 2, "rs2": 2, "rs3": 2},
                         self.context("quorum_back_hits"))
        self.assertIn("[10.0.0.100:80 TCP] lost quorum", self.log())
        self.assertIn("[10.0.0.100:80 TCP] gained quorum", self.log())

    # --- 6. a reload that changes one weight --------------------------------------------------------------
    def test_a_reload_changing_one_weight_touches_only_that_entry(self):
        self.assertEqual(self.table("reload_table"),
                         expected(RR_WEIGHTS, {**WRR_WEIGHTS, "rs2": RELOAD_WEIGHT}), self.context("reload_table"))
        reqs = self.requests("reload")
        self.assertEqual([r for r in reqs if r in WRITES], ["SET_DEST"], reqs)
        # Every other entry: same kernel order, same weight, same counters.
        changed = f"{VS_WRR} -> {SERVERS['rs2']}:80"
        before = parse_stats(self.step("reload_stats_before"))
        after = parse_stats(self.step("reload_stats_after"))
        self.assertEqual(after, before, self.context("reload_stats_before", "reload_stats_after"))
        pb, pa = parse_proc(self.step("reload_proc_before")), parse_proc(self.step("reload_proc_after"))
        diff = [(b, a) for b, a in zip(pb, pa) if b != a]
        self.assertEqual(len(pb), len(pa))
        self.assertEqual(len(diff), 1, f"{changed} only: {diff}")
        self.assertEqual((diff[0][0][3], diff[0][1][3]), (str(WRR_WEIGHTS["rs2"]), str(RELOAD_WEIGHT)), diff)
        after_reload = self.log().split("reload requested over the control socket", 1)
        self.assertEqual(len(after_reload), 2, self.context())
        self.assertIn("IPVS: table in step (1 change(s))", after_reload[1], self.context())


if __name__ == "__main__":
    unittest.main(verbosity=2)
