#!/usr/bin/env python3
"""The failover demo: two routers and a client on one segment, the master killed, the backup taking over.

    sudo python3 test/integration/demo_failover.py                 # vigild on both routers (build/bin)
    sudo python3 test/integration/demo_failover.py --kind keepalived

Prints a timeline a person can follow, with `vigilctl status` before and after, and removes every namespace and
process it made, even when interrupted. Needs root (network namespaces), tshark is not needed.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vrrp_lab import VrrpLab, config, instance, master_down_interval  # noqa: E402

VIP = "192.0.2.100"
ADVERT_INT = 1
PRIORITY = {"r1": 200, "r2": 100}


class Timeline:
    def __init__(self):
        self.t0 = time.monotonic()

    def now(self):
        return time.monotonic() - self.t0

    def say(self, text):
        print(f"t={self.now():5.1f}  {text}", flush=True)

    def detail(self, text):
        for line in text.rstrip().splitlines():
            print(f"         {line}", flush=True)


def wait(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def show_status(vl, tl, router, kind):
    if kind == "vigil":
        r = vl.vigilctl(router, "status")
        tl.say(f"vigilctl -s {router}'s socket status  (exit {r.returncode})")
        tl.detail(r.stdout or r.stderr or "(no output)")
    else:
        tl.say(f"{router} keepalived: VI_1 {vl.state(router, 'VI_1')} (from its log; keepalived has no vigilctl)")


def client_says(vl, tl, expect):
    who = None
    wait(lambda: vl.client_reaches(VIP) == expect, 5)
    who = vl.client_reaches(VIP)
    if who:
        tl.say(f"client -> {VIP}: ping ok, TCP :8080 answered \"{who}\"")
    else:
        tl.say(f"client -> {VIP}: no answer")
    return who == expect


def run(kind):
    tl = Timeline()
    with VrrpLab(routers=2) as vl:
        tl.say("lab: r1 192.0.2.1, r2 192.0.2.2, client 192.0.2.200 on one bridge (network namespaces)")
        for router in ("r1", "r2"):
            vl.daemon(router, kind, config(instance(priority=PRIORITY[router], advert_int=ADVERT_INT, version=3)))
        tl.say(f"r1 and r2 started ({kind}; VRRPv3 VRID 51, advert_int {ADVERT_INT} s, "
               f"priorities {PRIORITY['r1']} / {PRIORITY['r2']}, VIP {VIP})")
        if not wait(lambda: vl.holders(VIP) == ["r1"], 10):
            tl.say(f"r1 did not take {VIP} (holders: {vl.holders(VIP)}); see the logs below")
            dump_logs(vl)
            return 1
        tl.say(f"r1 {vl.state('r1', 'VI_1')} holds {VIP}; r2 {vl.state('r2', 'VI_1')}")
        client_says(vl, tl, "r1")
        show_status(vl, tl, "r1", kind)
        time.sleep(1.0)
        vl.crash("r1")
        crashed = tl.now()
        tl.say("r1 crashed (SIGKILL of all its processes + link down)")
        mdi = master_down_interval(PRIORITY["r2"], ADVERT_INT)
        if not wait(lambda: vl.holders(VIP) == ["r2"], mdi + 5):
            tl.say(f"r2 did not take over (holders: {vl.holders(VIP)})")
            dump_logs(vl)
            return 1
        took = tl.now() - crashed
        tl.say(f"r2 {vl.state('r2', 'VI_1')} holds {VIP} (took over {took:.1f} s after the crash; "
               f"Master_Down_Interval {mdi:.1f} s from r1's last advert)")
        ok = client_says(vl, tl, "r2")
        show_status(vl, tl, "r2", kind)
        tl.say("cleaning up: daemons stopped, namespaces removed")
    return 0 if ok else 1


def dump_logs(vl):
    for router in ("r1", "r2"):
        print(f"--- {router} ({vl.kinds.get(router)}) log, last lines:")
        print("\n".join(vl.daemon_log(router).splitlines()[-20:]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kind", choices=("vigil", "keepalived"), default="vigil",
                    help="the daemon on both routers (default vigil: vigild from VIGIL_BIN or build/bin)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("demo_failover.py needs root (it creates network namespaces)", file=sys.stderr)
        return 2
    try:
        return run(args.kind)
    except AssertionError as e:  # vrrp_lab's own checks, e.g. vigild not built
        print(f"demo failed: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
