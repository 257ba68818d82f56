#!/usr/bin/env python3
"""Benchmark (a) of issue 5: the time to program 1,000 services x 10 destinations into an empty IPVS table, vigil
beside keepalived 2.2.7, each run in a freshly booted guest (IPVS keeps deleted destinations for minutes, so a
second load in the same guest is slower). Not a test: it prints numbers for docs/benchmarks.md.

    python3 test/vm/bench_ipvs_program.py [--runs N] [--services 1000] [--dests 10]

The clock is the guest's /proc/uptime (10 ms steps), read before the program starts and after /proc/net/ip_vs
shows every destination (polled, as ipvsadm -Ln would cost 0.76 s per look at 10,000 entries). vigil's own
measurement of its sync (read the table, reconcile, apply) is printed too.
"""

import argparse
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlab  # noqa: E402

# Starts the program in the background at t0, polls /proc/net/ip_vs until every destination is there: t_first is
# the first poll that sees one, t_full the one that sees them all.
POLL = """
count() { grep -c '^  -> [0-9A-F]' /proc/net/ip_vs; }
now() { cut -d' ' -f1 /proc/uptime; }
t0=$(now)
@COMMAND@ &
n=0
first=""
while [ "$n" -lt @TOTAL@ ]; do
    n=$(count)
    t1=$(now)
    if [ -z "$first" ] && [ "$n" -gt 0 ]; then first=$t1; fi
    if [ "${t1%.*}" -gt $(( ${t0%.*} + 120 )) ]; then break; fi
done
echo "RESULT tool=@TOOL@ start=$t0 first=$first end=$t1 dests=$n"
wait
"""

VIGIL = "vigil-ipvs-probe bench @SERVICES@ @DESTS@ 2>/dev/null"


def keepalived_conf(services, dests):
    """The same table as `vigil-ipvs-probe bench`: 10.S.S.S:80 wrr NAT, 172.16.0.D:80 weight 1 + D % 5."""
    out = ["global_defs {\n    router_id bench\n}\n"]
    for i in range(services):
        vip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        out.append(f"virtual_server {vip} 80 {{\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n")
        for j in range(dests):
            out.append(f"    real_server 172.16.{(j >> 8) & 255}.{(j + 1) & 255} 80 {{\n        weight {1 + j % 5}\n    }}\n")
        out.append("}\n")
    return "".join(out)


def run(tool, services, dests):
    """One fresh guest: (seconds from start to full, from first entry to full, destinations seen, output)."""
    total = services * dests
    if tool == "vigil":
        command = VIGIL.replace("@SERVICES@", str(services)).replace("@DESTS@", str(dests))
        programs, files = [vmlab.vigil_binary("vigil-ipvs-probe")], {}
    else:
        # keepalived stays up once done; the background job ends it after the poll loop saw the full table.
        command = "keepalived -n -C -G -f /etc/keepalived/bench.conf -p /run/keepalived.pid -c /run/checkers.pid"
        programs, files = ["/usr/sbin/keepalived"], {"/etc/keepalived/bench.conf": keepalived_conf(services, dests)}
    script = POLL.replace("@COMMAND@", command).replace("@TOTAL@", str(total)).replace("@TOOL@", tool)
    script = script.replace("wait\n", "kill %1 2>/dev/null; wait\n")
    result = vmlab.boot(script, programs=programs, files=files, timeout=600)
    m = re.search(r"RESULT tool=(\S+) start=(\S+) first=(\S*) end=(\S+) dests=(\d+)", result.output)
    if not m or not m.group(3):
        raise RuntimeError(f"{tool}: no result\n{result.console[-3000:]}")
    start, first, end = float(m.group(2)), float(m.group(3)), float(m.group(4))
    return end - start, end - first, int(m.group(5)), result.output.strip().splitlines()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--dests", type=int, default=10)
    ap.add_argument("--tools", default="vigil,keepalived")
    args = ap.parse_args()
    tools = args.tools.split(",")
    summary = {tool: [] for tool in tools}
    # Interleaved, so that both tools meet the same load from whatever else shares the host's CPUs.
    for run_index in range(args.runs):
        for tool in tools:
            load = os.getloadavg()[0]
            seconds, programming, n, detail = run(tool, args.services, args.dests)
            print(f"{tool}: {seconds:.2f} s from start, {programming:.2f} s from the first entry, "
                  f"{n} destinations in /proc/net/ip_vs (host load {load:.1f})", flush=True)
            for line in detail:
                if line.startswith("bench "):
                    print(f"    {line}", flush=True)
            if n != args.services * args.dests:
                print(f"    incomplete: {n} of {args.services * args.dests}", flush=True)
            summary[tool].append((seconds, programming))
    for tool, times in summary.items():
        for i, what in ((0, "from start"), (1, "from the first entry")):
            t = [x[i] for x in times]
            print(f"{tool}: {what}: median {statistics.median(t):.2f} s over {len(t)} fresh guests "
                  f"(min {min(t):.2f}, max {max(t):.2f})")


if __name__ == "__main__":
    main()
