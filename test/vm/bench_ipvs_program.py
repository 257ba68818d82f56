#!/usr/bin/env python3
"""Benchmark (a) of issue 5: the time to program 1,000 services x 10 destinations into IPVS, vigil beside
keepalived 2.2.7 in the same guest. Not a test: it prints numbers for docs/benchmarks.md.

    python3 test/vm/bench_ipvs_program.py [--runs N] [--services 1000] [--dests 10] [--syscalls]

Each run boots a fresh guest (IPVS keeps deleted destinations for minutes, and a second load of the same entries
walks that trash list) and programs two disjoint tables in it, one per tool, in alternating order from run to
run: the two measurements of a pair meet the same load from whatever else shares the host's CPUs, which under
TCG moves the numbers by a factor of 3 or more. vigil is vigil-ipvs-probe (the IPVS backend alone, as
vigil-checker uses it); keepalived runs with -C -G (checker only, no syslog) on an equivalent config with no
health checks, so every real server is added at start.

The clock is the guest's /proc/uptime (10 ms steps), read before the program starts and when /proc/net/ip_vs
(polled; ipvsadm -Ln would cost 0.76 s per look at 10,000 entries) shows all its destinations.

--syscalls: one more guest, running each tool once under strace -f -c on a table of 100 x 10: the number of
system calls per entry, which does not depend on the host's load.
"""

import argparse
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlab  # noqa: E402

HELPERS = """
count() { grep -c '^  -> [0-9A-F]' /proc/net/ip_vs; }
now() { cut -d' ' -f1 /proc/uptime; }
# measure TOOL TOTAL COMMAND...: starts COMMAND in the background, waits until TOTAL more destinations are there.
measure() {
    tool=$1; total=$2; shift 2
    base=$(count)
    t0=$(now)
    "$@" >/tmp/out.$tool 2>&1 &
    n=0
    while [ "$n" -lt "$total" ]; do
        n=$(( $(count) - base ))
        t1=$(now)
        if [ "${t1%.*}" -gt $(( ${t0%.*} + 180 )) ]; then break; fi
    done
    echo "RESULT tool=$tool start=$t0 end=$t1 dests=$n"
    sleep 0.3
    grep '^bench ' /tmp/out.$tool
}
"""

KEEPALIVED_CMD = "keepalived -n -C -G -f /etc/keepalived/bench.conf -p /run/keepalived.pid -c /run/checkers.pid"


def keepalived_conf(services, dests, first):
    """The table of `vigil-ipvs-probe bench`: 10.S.S.S:80 wrr NAT, 172.16.0.D:80 weight 1 + D % 5."""
    out = ["global_defs {\n    router_id bench\n}\n"]
    for i in range(first, first + services):
        vip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        out.append(f"virtual_server {vip} 80 {{\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n")
        for j in range(dests):
            out.append(f"    real_server 172.16.{(j >> 8) & 255}.{(j + 1) & 255} 80 {{\n"
                       f"        weight {1 + j % 5}\n    }}\n")
        out.append("}\n")
    return "".join(out)


def paired_run(order, services, dests):
    """One fresh guest, both tools, in `order`; returns {tool: seconds} and the guest's output."""
    total = services * dests
    lines = [HELPERS]
    for index, tool in enumerate(order):
        first = index * services  # disjoint tables
        if tool == "vigil":
            lines.append(f"measure vigil {total} vigil-ipvs-probe bench {services} {dests} {first}")
        else:
            lines.append(f"measure keepalived {total} {KEEPALIVED_CMD}")
        if tool == "keepalived":
            keepalived_first = first
    lines.append("kill $(cat /run/keepalived.pid) 2>/dev/null; sleep 0.2")
    files = {"/etc/keepalived/bench.conf": keepalived_conf(services, dests, keepalived_first)}
    result = vmlab.boot("\n".join(lines) + "\n", programs=[vmlab.vigil_binary("vigil-ipvs-probe"),
                                                           "/usr/sbin/keepalived"], files=files, timeout=900)
    times = {}
    for m in re.finditer(r"RESULT tool=(\S+) start=(\S+) end=(\S+) dests=(\d+)", result.output):
        if int(m.group(4)) != total:
            raise RuntimeError(f"{m.group(1)}: {m.group(4)} of {total} destinations\n{result.output[-2000:]}")
        times[m.group(1)] = float(m.group(3)) - float(m.group(2))
    if len(times) != 2:
        raise RuntimeError(f"no result\n{result.console[-3000:]}")
    # vigil-ipvs-probe's own clock around IpvsBackend::sync: the kernel's work and vigil's, without the
    # process's start (exec, dynamic linking) and the poll's 10 ms steps.
    m = re.search(r"^bench .* ms=(\S+) ok=1", result.output, re.M)
    if m:
        times["vigil sync"] = float(m.group(1)) / 1000
    return times


SYSCALLS = HELPERS + """
echo "== vigil"
strace -f -c -o /tmp/vigil.strace vigil-ipvs-probe bench @S@ @D@ 0 >/dev/null 2>&1
cat /tmp/vigil.strace
echo "== keepalived"
strace -f -c -o /tmp/keepalived.strace @KEEPALIVED@ >/dev/null 2>&1 &
while [ "$(count)" -lt @TOTAL2@ ]; do sleep 0.5; done
kill $(cat /run/keepalived.pid); wait
cat /tmp/keepalived.strace
echo "== end"
"""


def syscalls(services=100, dests=10):
    """System calls per programmed entry (service or destination), by tool, from strace -c."""
    script = (SYSCALLS.replace("@S@", str(services)).replace("@D@", str(dests))
              .replace("@KEEPALIVED@", KEEPALIVED_CMD).replace("@TOTAL2@", str(2 * services * dests)))
    files = {"/etc/keepalived/bench.conf": keepalived_conf(services, dests, services)}
    result = vmlab.boot(script, programs=[vmlab.vigil_binary("vigil-ipvs-probe"), "/usr/sbin/keepalived",
                                          "/usr/bin/strace"], files=files, timeout=900)
    parts = re.split(r"^== (\S+)$", result.output, flags=re.M)
    out = {}
    for i in range(1, len(parts) - 1, 2):
        calls = {}
        for line in parts[i + 1].splitlines():
            w = line.split()
            if len(w) >= 5 and w[0].replace(".", "").isdigit() and w[-1] != "total":
                calls[w[-1]] = int(w[3])
        if calls:
            out[parts[i]] = (sum(calls.values()), calls)
    entries = services + services * dests
    for tool, (total, calls) in out.items():
        top = ", ".join(f"{k} {v}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1])[:6])
        print(f"{tool}: {total} system calls for {entries} entries = {total / entries:.2f} per entry ({top})")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--dests", type=int, default=10)
    ap.add_argument("--syscalls", action="store_true")
    args = ap.parse_args()
    if args.syscalls:
        syscalls()
    results = {"vigil": [], "keepalived": []}
    syncs = []
    for run in range(args.runs):
        order = ["vigil", "keepalived"] if run % 2 == 0 else ["keepalived", "vigil"]
        load = os.getloadavg()[0]
        times = paired_run(order, args.services, args.dests)
        ratio = times["keepalived"] / times["vigil"]
        print(f"run {run + 1} ({' then '.join(order)}, host load {load:.1f}): vigil {times['vigil']:.2f} s, "
              f"keepalived {times['keepalived']:.2f} s, keepalived/vigil {ratio:.2f}, "
              f"vigil's sync alone {times.get('vigil sync', float('nan')):.2f} s", flush=True)
        for tool in results:
            results[tool].append(times[tool])
        if "vigil sync" in times:
            syncs.append(times["vigil sync"])
    if args.runs:
        ratios = [k / v for k, v in zip(results["keepalived"], results["vigil"])]
        for tool, t in results.items():
            print(f"{tool}: median {statistics.median(t):.2f} s (min {min(t):.2f}, max {max(t):.2f})")
        print(f"keepalived/vigil per pair: median {statistics.median(ratios):.2f} "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
        if syncs:
            print(f"vigil's sync alone (its own clock): median {statistics.median(syncs):.2f} s "
                  f"(min {min(syncs):.2f}, max {max(syncs):.2f})")


if __name__ == "__main__":
    main()
