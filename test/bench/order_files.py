#!/usr/bin/env python3
"""Writes the link order files of vigild and vigil-vrrp: the functions each runs, most called first.

    sudo VIGIL_BIN=build/bin python3 test/bench/order_files.py            # rewrites parent/vigild.order and
                                                                          # vrrp_child/vigil-vrrp.order

Why: the linker otherwise lays functions out in the order of the object files, so the few hundred functions a
process runs are spread over the whole of its text, several megabytes once the C++ libraries are linked in.
Every page a process touches is a TLB entry and cache lines of its own on each wake-up, and the kernel maps
file pages 64 KiB around each page a process faults in, so scattered code is also resident (and private)
memory. lld's --symbol-ordering-file (CMakeLists.txt, vigil_order_symbols) puts the listed functions first, in
the listed order: the wake-up path of an idle master in a few pages, then the rest of what start-up runs.

How: each executable runs under valgrind's callgrind (--demangle=no, so the names are the linker's symbols) in
the VRRP lab of the integration tests (test/integration/vrrp_lab.py): an idle master at VRRPv3 advert_int
0.01 for a while, then a backup that follows a master, each stopped with SIGTERM (the graceful stop). Every
function of the executable that ran is listed once, by the number of calls it got, most first: the steady
state (thousands of adverts) ahead of start-up (once). A function missing from the list (code this scenario
does not run, or a name that has changed since) is only laid out with the rest: the order file is a layout
hint, never a correctness matter, and test/integration/test_code_layout.py says when it has gone stale.
"""

import argparse
import collections
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import lab  # noqa: E402
from vrrp_lab import VrrpLab, config, instance  # noqa: E402

VIP = "192.0.2.100"
TARGETS = {"vigild": os.path.join(TOP, "parent", "vigild.order"),
           "vigil-vrrp": os.path.join(TOP, "vrrp_child", "vigil-vrrp.order")}
EXECUTABLES = ("vigild", "vigil-vrrp", "vigil-checker", "vigilctl")


def log(text):
    print(text, file=sys.stderr, flush=True)


def wrapped_bin(real_bin, target, out_dir, work):
    """A bin folder where `target` is a script running the real one under callgrind, the rest copies (vigild
    starts the children it finds beside its own executable)."""
    d = os.path.join(work, "bin-" + target)
    os.makedirs(d)
    for name in EXECUTABLES:
        if name != target:
            shutil.copy2(os.path.join(real_bin, name), d)
    script = os.path.join(d, target)
    # vigild leaves root at once, and callgrind writes its file at exit: so vigild starts as the user it
    # becomes, with the capabilities systemd would give it (DESIGN.md, Processes).
    become = ("setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=+net_admin,+net_raw "
              "--ambient-caps=+net_admin,+net_raw " if target == "vigild" else "")
    with open(script, "w") as f:
        f.write(f"#!/bin/sh\nexec {become}valgrind -q --tool=callgrind --demangle=no --dump-instr=no "
                f"--callgrind-out-file={out_dir}/cg.%p {os.path.join(real_bin, target)} \"$@\"\n")
    os.chmod(script, 0o755)
    return d


def run_scenarios(real_bin, wrapped, seconds):
    """An idle master (r1 under callgrind), then a backup (r2 under callgrind) following a real master."""
    for role in ("master", "backup"):
        vl = VrrpLab(routers=2)
        os.chmod(vl.tmp.name, 0o777)  # a vigild that starts unprivileged writes its pid file and socket here
        try:
            if role == "master":
                lab.VIGIL_BIN = wrapped
                vl.daemon("r1", "vigil", config(instance(priority=200, version=3, advert_int=0.01)))
            else:
                lab.VIGIL_BIN = real_bin
                vl.daemon("r1", "vigil", config(instance(priority=200, version=3, advert_int=0.01)))
                vl.wait_holder(VIP, "r1", 30)
                lab.VIGIL_BIN = wrapped
                vl.daemon("r2", "vigil", config(instance(priority=100, version=3, advert_int=0.01)))
            vl.wait_holder(VIP, "r1", 60)
            log(f"  {role}: running {seconds:g} s")
            time.sleep(seconds)
            router = "r1" if role == "master" else "r2"
            vl.stop_daemon(router, timeout=60)
        finally:
            lab.VIGIL_BIN = real_bin
            vl.close()


NAMED = re.compile(r"^(c?ob|c?fn|c?fi|c?fe|fl)=\((\d+)\)(?: (.*))?$")
COST = re.compile(r"^(?:[+-]?\d+|\*) (\d+)$")


def functions_run(files, executable):
    """{symbol: calls} of the functions of `executable` that ran, from callgrind outputs (name compression
    as in callgrind's format: "fn=(id) name" once, "fn=(id)" after). A function that ran but was never called
    (an entry point) counts its instructions' presence as one call."""
    calls = collections.Counter()
    for path in files:
        obs, fns = {}, {}
        ob = cob = cfn = fn = fn_ob = None
        after_calls = False
        with open(path, errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                m = NAMED.match(line)
                if m:
                    kind, idx, name = m.groups()
                    if kind.endswith("ob"):
                        if name is not None:
                            obs[idx] = name
                        if kind == "ob":
                            ob = obs.get(idx)
                        else:
                            cob = obs.get(idx)
                    elif kind.endswith("fn"):
                        if name is not None:
                            fns[idx] = name
                        if kind == "fn":
                            fn, fn_ob, cob = fns.get(idx), ob, None
                        else:
                            cfn = fns.get(idx)
                    continue
                m = re.match(r"^calls=(\d+)", line)
                if m:
                    target = cob or ob
                    if cfn and target and os.path.basename(target) == executable:
                        calls[cfn] += int(m.group(1))
                    after_calls = True
                    continue
                if COST.match(line):
                    if after_calls:
                        after_calls, cob = False, None
                    elif fn and fn_ob and os.path.basename(fn_ob) == executable and fn not in calls:
                        calls[fn] += 0  # ran: listed even with no call recorded
    return calls


def order(calls):
    # Most called first; ties by name, so that a rerun on the same code gives the same file.
    return [name for name, _ in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0]))
            if not name.startswith("0x") and "'" not in name]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20, help="steady state per scenario (default 20 s)")
    ap.add_argument("--only", choices=sorted(TARGETS), help="one executable")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("order_files.py needs root (network namespaces)")
    if not shutil.which("valgrind"):
        sys.exit("order_files.py needs valgrind (apt-get install valgrind)")
    real_bin = os.path.abspath(os.environ.get("VIGIL_BIN", os.path.join(TOP, "build", "bin")))
    work = tempfile.mkdtemp(prefix="vigil-order-")
    os.chmod(work, 0o755)
    try:
        for target, path in TARGETS.items():
            if args.only and target != args.only:
                continue
            out_dir = os.path.join(work, "out-" + target)
            os.makedirs(out_dir)
            os.chmod(out_dir, 0o1777)  # the daemon writes it after leaving root
            log(f"{target}: under callgrind")
            run_scenarios(real_bin, wrapped_bin(real_bin, target, out_dir, work), args.seconds)
            files = [os.path.join(out_dir, f) for f in sorted(os.listdir(out_dir))]
            names = order(functions_run(files, target))
            if len(names) < 100:
                sys.exit(f"{target}: only {len(names)} functions recorded from {files}: not writing {path}")
            with open(path, "w") as f:
                f.write("\n".join(names) + "\n")
            log(f"{target}: {len(names)} functions written to {os.path.relpath(path, TOP)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
