#!/usr/bin/env python3
"""Benchmark (b) of issue 5: the health checker's CPU time per TCP check at 1,000 checks per second, vigil
beside keepalived 2.2.7 in the same guest. Not a test (no test_ prefix): it prints numbers for docs/benchmarks.md.

    sudo python3 test/vm/bench_checker_cpu.py [--runs N] [--servers 1000] [--warmup 15] [--window 20] [--no-write]

One guest per run (vmlab.boot: Debian's kernel under qemu TCG, 2 vCPUs, 1 GiB, real IPVS). In it, a namespace
"srv" (10.77.0.2, a veth to the guest's root namespace at 10.77.0.1) holds test/bench/accept_listener.c (compiled
on the host, copied in) listening on ports 10000..10000+servers-1, which accepts and closes every connection,
and test/bench/syn_counter.c (likewise), which counts the SYNs arriving on srv's eth0 throughout the run.
Both daemons get the same real servers (those ports, 100 per virtual server, delay_loop 1, TCP_CHECK with
connect_timeout 3, retry 1, delay_before_retry 1; their own VIPs, so their IPVS services never meet) and run one
after the other, never together, in the guest's root namespace:
  - vigil: `vigild -C` (the parent and vigil-checker, which programs IPVS as it would in production);
  - keepalived: `keepalived -n -l -G -C` (checker only, logging to a file; -G: the guest has no syslog). Its
    checker child's pid comes from its -c pid file.
Variants: "accepted" (the listener runs: every SYN is answered. keepalived's checks complete the handshake and
the listener accepts them; vigil's stop at the SYN-ACK, half-open, so the listener accepts none of them) and
"refused" (it is stopped: every SYN meets a RST, every real
server goes down and is then checked every delay_loop like a live one). The order of the two daemons alternates
between variants and between runs.

For each daemon and variant, after --warmup seconds, over --window seconds of the guest's clock (/proc/uptime):
  - checks done: the TCP SYNs (SYN set, ACK clear) srv received, which only the measured daemon sends at that
    time: one per check, whether the daemon connect()s (keepalived) or sends its SYN on a raw socket, which Tcp
    ActiveOpens of the guest's root namespace would not count (it is still printed, as opens=, in the RESULT
    lines: VERBOSE=1); a retransmitted SYN counts again (rare). syn_counter's AF_PACKET socket keeps only
    those SYNs with a classic BPF filter and never reads them: the kernel counts each one and, the socket's
    minimal buffer being full, drops it, so the filter is about all the counting adds to srv's side of a
    check. For "accepted" also the listener's accept count (keepalived's completed connections; vigil's
    half-open checks are not accepted, unless one reads its SYN-ACK more than 200 ms late);
  - CPU of the checker process (vigil-checker; keepalived's checker child): utime+stime from /proc/PID/stat
    (10 ms ticks) and run time from /proc/PID/schedstat; per check = CPU / checks done. The listener's kernel
    side of each handshake runs in the checker's context (veth delivers in the sender's context). That side
    is what the two daemons ask of a real server: a connection built, queued and torn down by keepalived's
    checks, a SYN answered and a RST by vigil's half-open ones;
  - private memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) and VmRSS of that process, and of
    the daemon's parent (vigild; keepalived's parent).
Emulation speed follows the host's load, which moves absolute numbers; the two daemons of one variant run
back to back in one guest, so their ratio is the stable result. Writes docs/benchmarks.md, section "Health
checker", subsection "In the VM" (other subsections are kept).
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import vmlab  # noqa: E402
from checker_bench import (FIRST_PORT, INTRO, SECTION, checker_config, compile_listener,  # noqa: E402
                           compile_syn_counter, write_subsection)

SUBSECTION = "### In the VM"

SCRIPT = r"""
exec 2>>/tmp/stderr.log
ip() { /usr/bin/ip "$@"; }  # busybox's sh would run its own ip applet, which has no netns
now() { cut -d' ' -f1 /proc/uptime; }
cpu() { s=$(sed 's/^.*) //' /proc/$1/stat); set -- $s; echo "$(( ${12} + ${13} ))"; }
sched() { cut -d' ' -f1 /proc/$1/schedstat; }
private() { awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' /proc/$1/smaps_rollup; }
rss() { awk '/^VmRSS:/ {print $2}' /proc/$1/status; }
opens() { awk '/^Tcp:/ {n++; if (n == 1) for (i = 1; i <= NF; i++) if ($i == "ActiveOpens") c = i; if (n == 2) print $c}' /proc/net/snmp; }
accepted() { tail -n 1 /tmp/listener.log 2>/dev/null | awk '/^accepted/ {print $2}'; }
# syn_ask, later syn_total: the SYNs srv had received at syn_ask (syn_counter answers a SIGUSR1 with a line
# "syn TOTAL"; the answer is waited for, up to 10 s, only after the readings that syn_ask sits beside).
syn_ask() { syn_lines=$(wc -l </tmp/syn.log); kill -USR1 "$syn_pid"; }
syn_total() {
    i=0; while [ "$(wc -l </tmp/syn.log)" -le "$syn_lines" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    tail -n 1 /tmp/syn.log | awk '/^syn/ {print $2}'
}
# waitfor CONDITION: up to 120 s (a while loop's status is its last body command's: return 0 explicitly).
waitfor() { i=0; while ! eval "$1" >/dev/null 2>&1; do sleep 1; i=$((i + 1)); [ $i -gt 120 ] && return 1; done; return 0; }

ip netns add srv
ip link add veth0 type veth peer name eth0 netns srv
ip addr add 10.77.0.1/24 dev veth0; ip link set veth0 up
ip netns exec srv ip addr add 10.77.0.2/24 dev eth0
ip netns exec srv ip link set eth0 up
ip netns exec srv ip link set lo up
mkdir -p /run/vigil
/usr/bin/ip netns exec srv syn_counter eth0 >/tmp/syn.log &
syn_pid=$!
waitfor "grep -q ready /tmp/syn.log"

start_listener() {
    /usr/bin/ip netns exec srv accept_listener 10.77.0.2 @FIRST_PORT@ @SERVERS@ 0.25 >/tmp/listener.log &
    echo $! >/run/listener.pid
    waitfor "grep -q ready /tmp/listener.log"
}
stop_listener() { kill "$(cat /run/listener.pid)"; sleep 1; }

measure() {  # measure TOOL VARIANT CHECKER_PID PARENT_PID
    sleep @WARMUP@
    a0=$(accepted); o0=$(opens); syn_ask; c0=$(cpu $3); s0=$(sched $3); t0=$(now); y0=$(syn_total)
    sleep @WINDOW@
    t1=$(now); c1=$(cpu $3); s1=$(sched $3); syn_ask; o1=$(opens); a1=$(accepted); y1=$(syn_total)
    echo "RESULT tool=$1 variant=$2 t0=$t0 t1=$t1 ticks=$((c1 - c0)) sched_ns=$((s1 - s0)) syns=$((y1 - y0)) opens=$((o1 - o0)) accepted=$(( ${a1:-0} - ${a0:-0} )) private=$(private $3) rss=$(rss $3) parent_private=$(private $4) parent_rss=$(rss $4)"
}

run_vigil() {
    vigild -C -f /etc/vigil/bench.conf -l -p /run/vigil/vigild.pid --control-socket /run/vigil/vigil.sock \
        >/tmp/vigild-$1.log 2>&1 &
    echo "$(now) vigil $1: starting"
    waitfor "pidof vigil-checker" || { echo "$(now) vigil-checker did not start"; ps; tail -20 /tmp/vigild-$1.log; killall vigild; return; }
    measure vigil $1 "$(pidof vigil-checker)" "$(cat /run/vigil/vigild.pid)"
    grep -c "TCP_CHECK" /tmp/vigild-$1.log | sed 's/^/log lines with TCP_CHECK: /'
    kill "$(cat /run/vigil/vigild.pid)"; waitfor "! pidof vigild"
}

run_keepalived() {
    rm -f /run/checkers.pid
    keepalived -n -l -G -C -f /etc/keepalived/bench.conf -p /run/keepalived.pid -c /run/checkers.pid \
        >/tmp/keepalived-$1.log 2>&1 &
    echo "$(now) keepalived $1: starting"
    waitfor "test -s /run/checkers.pid" || { echo "$(now) keepalived's checker did not start"; ps; tail -20 /tmp/keepalived-$1.log; killall keepalived; return; }
    measure keepalived $1 "$(cat /run/checkers.pid)" "$(cat /run/keepalived.pid)"
    kill "$(cat /run/keepalived.pid)"; waitfor "! pidof keepalived"
}

start_listener
for tool in @ORDER_ACCEPTED@; do run_$tool accepted; done
stop_listener
for tool in @ORDER_REFUSED@; do run_$tool refused; done
kill "$syn_pid"
echo "== stderr"; cat /tmp/stderr.log
"""


def one_run(run, servers, warmup, window, listener, counter):
    first, second = ("vigil", "keepalived") if run % 2 == 0 else ("keepalived", "vigil")
    script = (SCRIPT.replace("@SERVERS@", str(servers)).replace("@FIRST_PORT@", str(FIRST_PORT))
              .replace("@WARMUP@", str(int(warmup)))
              .replace("@WINDOW@", str(int(window))).replace("@ORDER_ACCEPTED@", f"{first} {second}")
              .replace("@ORDER_REFUSED@", f"{second} {first}"))
    files = {"/etc/vigil/bench.conf": checker_config(servers, vip_prefix="10.78"),
             "/etc/keepalived/bench.conf": checker_config(servers, vip_prefix="10.79")}
    programs = [vmlab.vigil_binary(p) for p in ("vigild", "vigil-checker", "vigilctl")]
    programs += ["/usr/sbin/keepalived", listener, counter]
    load0 = os.getloadavg()[0]
    result = vmlab.boot(script, programs=programs, files=files, timeout=1200)
    with open(os.path.join(tempfile.gettempdir(), f"bench_checker_cpu-run{run + 1}.log"), "w") as f:
        f.write(result.console)
    load1 = os.getloadavg()[0]
    rows = []
    for m in re.finditer(r"^RESULT (.*)$", result.output, re.M):
        kv = dict(item.split("=", 1) for item in m.group(1).split())
        seconds = float(kv["t1"]) - float(kv["t0"])
        checks = int(kv["syns"])
        rows.append({"run": run + 1, "tool": kv["tool"], "variant": kv["variant"], "seconds": seconds,
                     "checks_per_s": checks / seconds, "connects_per_s": int(kv["opens"]) / seconds,
                     "accepted_per_s": int(kv["accepted"]) / seconds,
                     "us_stat": 1e6 * int(kv["ticks"]) / 100 / max(checks, 1),
                     "us_sched": int(kv["sched_ns"]) / 1e3 / max(checks, 1),
                     "private": int(kv["private"]), "rss": int(kv["rss"]),
                     "parent_private": int(kv["parent_private"]), "parent_rss": int(kv["parent_rss"]),
                     "load": (load0, load1)})
    if len(rows) != 4:
        raise RuntimeError(f"run {run + 1}: {len(rows)} results of 4 (whole console in "
                           f"{tempfile.gettempdir()}/bench_checker_cpu-run{run + 1}.log)\n{result.output[-4000:]}")
    return rows, result.output


def table(rows):
    lines = ["| run | variant | daemon | checks/s (SYNs received) | CPU per check (stat / sched) | "
             "checker private / RSS | parent private / RSS | host load |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['variant']} | {r['tool']} | {r['checks_per_s']:,.0f} | "
                     f"{r['us_stat']:.0f} / {r['us_sched']:.0f} us | {r['private'] / 1024:.1f} / "
                     f"{r['rss'] / 1024:.1f} MiB | {r['parent_private'] / 1024:.1f} / "
                     f"{r['parent_rss'] / 1024:.1f} MiB | {r['load'][0]:.1f} -> {r['load'][1]:.1f} |")
    return "\n".join(lines)


def summary(rows):
    """Median per-check CPU by daemon and variant, and vigil / keepalived."""
    lines = ["| variant | vigil (sched) | keepalived (sched) | vigil / keepalived, per run pair (median) |",
             "|---|---|---|---|"]
    for variant in ("accepted", "refused"):
        v = [r for r in rows if r["variant"] == variant and r["tool"] == "vigil"]
        k = [r for r in rows if r["variant"] == variant and r["tool"] == "keepalived"]
        if not v or not k:
            continue
        pairs = [a["us_sched"] / b["us_sched"] for a in v for b in k if a["run"] == b["run"] and b["us_sched"]]
        lines.append(f"| {variant} | {statistics.median(r['us_sched'] for r in v):.0f} us | "
                     f"{statistics.median(r['us_sched'] for r in k):.0f} us | "
                     f"{statistics.median(pairs):.2f} ({min(pairs):.2f} - {max(pairs):.2f}) |")
    return "\n".join(lines)


def report(rows, servers, warmup, window):
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return "\n".join([
        SUBSECTION, "",
        f"Produced by `sudo python3 test/vm/bench_checker_cpu.py` (method in its docstring): {servers:,} real "
        f"servers, TCP_CHECK every second, in a guest under qemu TCG (Debian's 6.1 kernel, 2 vCPUs); the two "
        f"daemons one after the other in each guest; {warmup:g} s warm-up, {window:g} s window; measured {when}.",
        "", summary(rows), "", table(rows), ""])


def main():
    ap = argparse.ArgumentParser(description="checker CPU per TCP check, vigil beside keepalived, in a guest")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--servers", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=15, help="seconds (whole: the guest sleeps in seconds)")
    ap.add_argument("--window", type=int, default=20, help="seconds")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    missing = vmlab.missing_tools()
    if missing:
        sys.exit(f"cannot boot a guest: {missing}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="vigil-bench-cpu-") as work:
        listener = compile_listener(work)
        counter = compile_syn_counter(work)
        for run in range(args.runs):
            r, output = one_run(run, args.servers, args.warmup, args.window, listener, counter)
            print(output if os.environ.get("VERBOSE") else "", end="")
            rows += r
            print(table(r), flush=True)
    print(summary(rows))
    if not args.no_write:
        write_subsection(SECTION, SUBSECTION, report(rows, args.servers, args.warmup, args.window), INTRO)
        print(f"written to {os.path.normpath(os.path.join(HERE, '..', '..', 'docs', 'benchmarks.md'))}")


if __name__ == "__main__":
    main()
