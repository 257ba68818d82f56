#!/usr/bin/env python3
"""Health-checker scale benchmark on the host (issue 5, item 6): N real servers with a TCP_CHECK every second.

    sudo python3 test/bench/checker_bench.py                          # N = 1,000, 10,000, 50,000; accepted
    sudo python3 test/bench/checker_bench.py --n 50000 --variants accepted,refused --seconds 30
    sudo python3 test/bench/checker_bench.py --n 1000 --seconds 5 --no-write    # a quick trial

Method. Two network namespaces from test/integration/lab.py joined by a veth pair: "chk" (10.77.0.1) runs vigild
-C (vigil's parent and its health checker, vigil-checker; no VRRP child), "srv" (10.77.0.2) runs the listeners.
The config has N/100 virtual servers (NAT, VIPs 10.78.x.y:80) of 100 real servers each, all on 10.77.0.2, ports
10000 .. 10000+N-1, each with `TCP_CHECK { connect_timeout 3 retry 1 delay_before_retry 1 }` and delay_loop 1.
This kernel has no IPVS: vigil-checker reports the backend unavailable and keeps checking, which is what is
measured (programming IPVS is benchmark (a), in the VM).
  - accepted: test/bench/accept_listener.c (compiled here with cc -O2) listens on all N ports and accepts and
    closes every connection from one epoll loop; its own CPU is reported so that a listener starving the checker
    would show. vigil's TCP_CHECK is half-open (SYN, SYN-ACK, RST): the listener's kernel answers every SYN
    and its accept count stays at 0, except for the checks whose RST came more than the 200 ms of the
    delayed-ACK timer after their SYN-ACK (a checker that falls behind: the ACK then goes out first).
  - refused: no listener; every check gets a RST (connection refused), so every real server is down and is
    checked every delay_loop like a live one.
In both variants test/bench/syn_counter.c (compiled here too) runs in srv and counts the checks (below).
The listeners sit in their own namespace, so their N ports cannot collide with the checker's ephemeral ports
(ip_local_port_range is left at its default, 32768-60999, in both namespaces); RLIMIT_NOFILE is raised to
N + 4096 for vigild (its children inherit it; capped at the hard limit, which a container without
CAP_SYS_RESOURCE cannot raise: 20,000 here) and by each listener process for itself (10,000 ports each).

After the last real server's first check (vigilctl status shows every one checked with the expected result) and
a further warm-up, over a window of --seconds:
  - checks per second actually performed: the TCP SYNs (SYN set, ACK clear) srv received, one per check
    however the checker sends it (connect(), or a SYN on a raw socket, which Tcp ActiveOpens of the checker's
    namespace would not count); a retransmitted SYN counts again (rare here). syn_counter's AF_PACKET socket on
    srv's eth0 keeps only those SYNs with a classic BPF filter and never reads them: the kernel counts each
    one and, the socket's minimal buffer being full, drops it, so the filter is about all the counting adds
    to srv's side of a check (which veth bills to the checker). The progress log also gives connect()s per
    second (ActiveOpens). For "accepted" also the connections the listener accepted (none, but for half-open
    checks whose RST came more than 200 ms after their SYN-ACK);
  - vigil-checker's CPU share: utime+stime from /proc/PID/stat (10 ms ticks) and the run time in
    /proc/PID/schedstat, over the wall time, with the same for vigild (which does nothing per check) and the
    listener;
  - vigil-checker's private memory: Private_Clean + Private_Dirty from /proc/PID/smaps_rollup, and VmRSS.
--max-refused limits the refused variant (where every real server goes down within the first two seconds) to
smaller N; by default it runs at every N (until 02b83d2 vigild killed the checker as hung at 50,000: its Pongs
waited behind 50,000 Health messages).
The host's load average (uptime) is recorded before and after: CPU share is only meaningful on a quiet machine.
Prints a table and writes it into docs/benchmarks.md, section "Health checker", subsection "On the host"
(the rest of the section is left as it is). This is a benchmark, not a test.
"""

import argparse
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from procstat import cpu_seconds, memory_kib  # noqa: E402
from lab import Lab, binary, wait_until  # noqa: E402

DOC = os.path.join(HERE, "..", "..", "docs", "benchmarks.md")
SECTION = "## Health checker"
SUBSECTION = "### On the host"
LISTENER_SOURCE = os.path.join(HERE, "accept_listener.c")
SYN_COUNTER_SOURCE = os.path.join(HERE, "syn_counter.c")
CHECKER_ADDR, SERVER_ADDR = "10.77.0.1", "10.77.0.2"
FIRST_PORT = 10000
PER_VS = 100
PERF_OUT = None  # --perf PREFIX: `perf record` of vigil-checker during each window


def log(text):
    print(text, file=sys.stderr, flush=True)


# --- the pieces shared with test/vm/bench_checker_cpu.py ------------------------------------------------------

def compile_listener(out_dir, static=False, source=LISTENER_SOURCE):
    """Compiles accept_listener.c (or another helper's source) into out_dir; returns the executable's path."""
    exe = os.path.join(out_dir, os.path.splitext(os.path.basename(source))[0])
    cmd = ["cc", "-O2", "-Wall", "-o", exe, source] + (["-static"] if static else [])
    subprocess.run(cmd, check=True)
    return exe


def compile_syn_counter(out_dir, static=False):
    """Compiles syn_counter.c into out_dir; returns the executable's path."""
    return compile_listener(out_dir, static, SYN_COUNTER_SOURCE)


def checker_config(n, server_addr=SERVER_ADDR, first_port=FIRST_PORT, per_vs=PER_VS, vip_prefix="10.78"):
    """keepalived.conf text: n real servers (server_addr, consecutive ports) in virtual servers of per_vs,
    VIPS.X.Y:80 (X.Y counting from 0.1)."""
    out = ["global_defs {\n    router_id bench\n}\n"]
    for v in range((n + per_vs - 1) // per_vs):
        out.append(f"virtual_server {vip_prefix}.{v // 250}.{v % 250 + 1} 80 {{\n")
        out.append("    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n")
        for r in range(v * per_vs, min(n, (v + 1) * per_vs)):
            out.append(f"    real_server {server_addr} {first_port + r} {{\n        weight 1\n"
                       "        TCP_CHECK {\n            connect_timeout 3\n            retry 1\n"
                       "            delay_before_retry 1\n        }\n    }\n")
        out.append("}\n")
    return "".join(out)




def tcp_active_opens(pid):
    """Tcp ActiveOpens of the network namespace PID lives in (every connect() there; not a raw SYN). Logged
    beside the SYN count: it tells a checker that connects from one that sends raw SYNs."""
    with open(f"/proc/{pid}/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index("ActiveOpens")])


def write_subsection(section, subsection, text, intro):
    """Replaces `subsection` (a "### " heading) of `section` (a "## " heading) in docs/benchmarks.md with
    `text`, keeping every other subsection; creates the section (with `intro`) when it is missing."""
    doc = open(DOC).read() if os.path.exists(DOC) else "# Benchmarks\n"
    if section in doc:
        head, rest = doc.split(section, 1)
        m = re.search(r"^## ", rest, re.M)
        body, tail = (rest[:m.start()], rest[m.start():]) if m else (rest, "")
    else:
        head, body, tail = doc.rstrip("\n") + "\n\n", "\n\n" + intro.rstrip("\n") + "\n\n", ""
    parts = re.split(r"^(?=### )", body, flags=re.M)
    preface, subs = parts[0], [p for p in parts[1:]]
    new = text.rstrip("\n") + "\n\n"
    for i, p in enumerate(subs):
        if p.split("\n", 1)[0].strip() == subsection:
            subs[i] = new
            break
    else:
        # A new subsection goes before the hand-written "Against the targets", else at the end.
        at = next((i for i, p in enumerate(subs) if p.startswith("### Against the targets")), len(subs))
        subs.insert(at, new)
    body = preface + "".join(s.rstrip("\n") + "\n\n" for s in subs)
    with open(DOC, "w") as f:
        f.write(head + section + body.rstrip("\n") + "\n" + ("\n" + tail if tail else ""))


# --- the host run --------------------------------------------------------------------------------------------

class Listener:
    """accept_listener processes in a namespace, PER_LISTENER ports each (a process may hold only as many
    descriptors as the hard RLIMIT_NOFILE, 20,000 here); threads keep their latest reports."""

    PER_LISTENER = 10000

    def __init__(self, ns, exe, n):
        self.procs = []
        self.accepted = {}
        self.ready = {}
        for first in range(0, n, self.PER_LISTENER):
            count = min(self.PER_LISTENER, n - first)
            p = ns.spawn([exe, SERVER_ADDR, str(FIRST_PORT + first), str(count), "0.5"], stdout=subprocess.PIPE,
                         text=True)
            self.procs.append(p)
            self.accepted[p.pid] = 0
            self.ready[p.pid] = threading.Event()
            threading.Thread(target=self._read, args=(p,), daemon=True).start()

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        return all(e.wait(max(0.0, deadline - time.monotonic())) for e in self.ready.values())

    def total(self):
        return sum(self.accepted.values())

    def _read(self, proc):
        for line in proc.stdout:
            w = line.split()
            if w and w[0] == "ready":
                self.ready[proc.pid].set()
            elif len(w) >= 2 and w[0] == "accepted":
                self.accepted[proc.pid] = int(w[1])


class SynCounter:
    """syn_counter in a namespace, on one interface: total() asks it for the SYNs received so far (SIGUSR1; it
    answers with one line)."""

    def __init__(self, ns, exe, ifname):
        self.proc = ns.spawn([exe, ifname], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "ready":
            raise AssertionError(f"syn_counter did not start on {ns.name} {ifname}")

    def total(self):
        self.proc.send_signal(signal.SIGUSR1)
        w = self.proc.stdout.readline().split()
        if len(w) < 2 or w[0] != "syn":
            raise AssertionError(f"syn_counter answered {w}")
        return int(w[1])


def raise_nofile(limit):
    """A preexec_fn: the soft and hard RLIMIT_NOFILE to `limit`, or as high as the hard limit allows (without
    CAP_SYS_RESOURCE, as in a container, the hard limit cannot be raised)."""
    def apply():
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, max(limit, hard)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(limit, hard), hard))
    return apply


def status(ctl, sock):
    import json
    r = subprocess.run([ctl, "-s", sock, "status", "--json"], capture_output=True, text=True, timeout=120)
    return json.loads(r.stdout) if r.returncode == 0 else None


def real_server_summary(st):
    """(real servers, checked, healthy, a sample reason of an unhealthy one)."""
    total = checked = healthy = 0
    sample = ""
    for vs in (st or {}).get("virtualServers", []):
        for rs in vs.get("realServers", []):
            total += 1
            if rs.get("lastResult", "CHECK_RESULT_UNKNOWN") != "CHECK_RESULT_UNKNOWN":
                checked += 1
            if rs.get("healthy"):
                healthy += 1
            elif not sample:
                sample = rs.get("reason", "")
    return total, checked, healthy, sample


def run_one(n, variant, steer, seconds, warmup, listener_exe, counter_exe, work):
    """One measurement; returns a dict of results."""
    with Lab("cb") as lab:
        chk, srv = lab.netns("chk"), lab.netns("srv")
        lab.veth(chk, "eth0", srv, "eth0")
        chk.ip(f"addr add {CHECKER_ADDR}/24 dev eth0")
        srv.ip(f"addr add {SERVER_ADDR}/24 dev eth0")
        if steer:
            # The real servers' side of every handshake on CPU 1 (RPS on srv's eth0), the checker pinned to
            # CPU 0: what a remote real server's kernel does is then not billed to the checker, as on a real
            # network. Without it, veth delivers each packet in the sender's context and the checker's CPU
            # also holds the listener's kernel TCP work.
            srv.run(["sh", "-c", "echo 2 > /sys/class/net/eth0/queues/rx-0/rps_cpus"])
        syns = SynCounter(srv, counter_exe, "eth0")
        listener = None
        if variant == "accepted":
            listener = Listener(srv, listener_exe, n)
            if not listener.wait_ready(60):
                raise AssertionError("the listener did not start")
        conf = os.path.join(work, f"bench-{n}.conf")
        with open(conf, "w") as f:
            f.write(checker_config(n))
        os.chmod(conf, 0o644)
        sock = os.path.join(work, f"vigil-{n}-{variant}.sock")
        vlog = open(os.path.join(work, f"vigild-{n}-{variant}.log"), "w")
        chk.spawn([binary("vigild"), "-C", "-f", conf, "-l", "-p", os.path.join(work, f"vigild-{n}.pid"),
                   "--control-socket", sock], stdout=vlog, stderr=subprocess.STDOUT,
                  preexec_fn=raise_nofile(n + 4096))
        vlog.close()
        ctl = binary("vigilctl")
        expect_healthy = variant == "accepted"

        def settled():
            st = status(ctl, sock)
            total, checked, healthy, _ = real_server_summary(st)
            done = total == n and checked == n and healthy == (n if expect_healthy else 0)
            return st if done else None
        t_start = time.monotonic()
        st = wait_until(settled, 120 + n / 500, interval=2, what=f"all {n} real servers checked")
        log(f"  {n} {variant}: every real server checked {time.monotonic() - t_start:.1f} s after start")
        checker = next(c for c in st["children"] if c.get("role") == "checker")["pid"]
        parent = int(open(os.path.join(work, f"vigild-{n}.pid")).read().split()[0])
        if steer:
            os.sched_setaffinity(checker, {0})
            for p in listener.procs if listener else []:
                os.sched_setaffinity(p.pid, {1})
        time.sleep(warmup)
        pids = {"vigil-checker": checker, "vigild": parent}
        for i, p in enumerate(listener.procs if listener else []):
            pids[f"listener{i}"] = p.pid
        load0 = os.getloadavg()
        t0 = time.monotonic()
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        opens0 = tcp_active_opens(checker)
        syn0 = syns.total()
        acc0 = listener.total() if listener else 0
        if PERF_OUT:
            # A profile of vigil-checker over the window (perf's own sampling adds to the CPU measured).
            subprocess.run(["perf", "record", "-q", "-g", "-F", "2000", "-o", f"{PERF_OUT}-{n}-{variant}-{steer}.data",
                            "-p", str(checker), "--", "sleep", str(seconds)], check=False)
        else:
            time.sleep(seconds)
        t1 = time.monotonic()
        cpu1 = {k: cpu_seconds(p) for k, p in pids.items()}
        syn1 = syns.total()
        opens1 = tcp_active_opens(checker)
        acc1 = listener.total() if listener else 0
        load1 = os.getloadavg()
        mem = {k: memory_kib(p) for k, p in pids.items() if not k.startswith("listener")}
        wall = t1 - t0
        st = status(ctl, sock)
        total, checked, healthy, sample = real_server_summary(st)
        restarts = next(c for c in st["children"] if c.get("role") == "checker").get("restarts", 0)
        checks = (syn1 - syn0) / wall
        # The listener reports every 0.5 s: its count lags by up to that, at both ends alike.
        out = {"n": n, "variant": variant, "steer": steer, "wall": wall, "checks_per_s": checks,
               "connects_per_s": (opens1 - opens0) / wall,
               "accepted_per_s": (acc1 - acc0) / wall if listener else None,
               "healthy": healthy, "sample_reason": sample, "restarts": restarts,
               "load": (load0[0], load1[0]), "mem": mem}
        for k in pids:
            out[k] = {"stat": (cpu1[k][0] - cpu0[k][0]) / wall, "sched": (cpu1[k][1] - cpu0[k][1]) / wall}
        listeners = [k for k in pids if k.startswith("listener")]
        if listeners:
            out["listener"] = {m: sum(out[k][m] for k in listeners) for m in ("stat", "sched")}
        out["us_per_check"] = 1e6 * out["vigil-checker"]["sched"] / max(checks, 1e-9)
        return out


def fmt_pct(x):
    return f"{100 * x:.1f}%"


def table(results):
    lines = ["| N | variant | server side | checks/s (SYNs received) | accepted/s | vigil-checker CPU (stat / sched) | "
             "CPU per check | vigil-checker private / RSS | vigild CPU | listener CPU | load 1-min |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        acc = f"{r['accepted_per_s']:,.0f}" if r["accepted_per_s"] is not None else "-"
        lis = fmt_pct(r["listener"]["sched"]) if "listener" in r else "-"
        rss, _, private = r["mem"]["vigil-checker"]
        side = "other CPU" if r["steer"] else "same context"
        lines.append(f"| {r['n']:,} | {r['variant']} | {side} | {r['checks_per_s']:,.0f} | {acc} | "
                     f"{fmt_pct(r['vigil-checker']['stat'])} / {fmt_pct(r['vigil-checker']['sched'])} | "
                     f"{r['us_per_check']:.1f} us | {private / 1024:.1f} / {rss / 1024:.1f} MiB | "
                     f"{fmt_pct(r['vigild']['sched'])} | {lis} | {r['load'][0]:.2f} -> {r['load'][1]:.2f} |")
    return "\n".join(lines)


def report(results, seconds, warmup):
    version = subprocess.run([binary("vigild"), "--version"], capture_output=True, text=True).stdout.strip()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = [SUBSECTION, "",
            f"Produced by `sudo python3 test/bench/checker_bench.py` (method in its docstring); {version or 'vigild'}"
            f" built RelWithDebInfo; measured {when} on {platform.node()} ({os.cpu_count()} CPUs shared with "
            f"other sessions, Linux {platform.release()}). Window {seconds:g} s after a {warmup:g} s warm-up; "
            "CPU share is of one core; per-check CPU is the scheduler's run time over the SYNs srv received.", "",
            table(results), ""]
    for r in results:
        notes = []
        if r["restarts"]:
            notes.append(f"checker restarts: {r['restarts']}")
        want = r["n"] if r["variant"] == "accepted" else 0
        if r["healthy"] != want:
            notes.append(f"{r['healthy']} healthy at the end, expected {want} ({r['sample_reason']})")
        if notes:
            text.append(f"- N = {r['n']:,} {r['variant']}: " + "; ".join(notes))
    return "\n".join(text).rstrip("\n") + "\n"


INTRO = """TCP_CHECK at scale (issue 5, item 6). Targets: 50,000 real servers checked every second within one core on the
host; in the VM, at most half of keepalived's CPU per check.

Both benchmarks point the checks at listeners behind a veth pair on the same machine. veth delivers a packet in
the sender's context, so the CPU figures of the checker process also hold the listener's side of each handshake
(its SYN processing, and for a completed connection the accept queue), which on a real network would be spent
on the real servers. vigil's TCP_CHECK is half-open since 2026-12-03 (SYN, SYN-ACK, RST, as HAProxy's TCP
checks): the listeners accept nothing from it ("accepted/s" counts only checks whose RST came more than 200 ms
after their SYN-ACK, when the ACK had gone out first). On the host,
`--steer` moves that side to the other CPU (RPS on the listener's interface, the checker pinned to CPU 0); the
inter-processor interrupt each packet then costs (an MSR write trapped by this machine's hypervisor) is billed to
the sender instead, so neither row is the cost on a real network: they bracket it.
"""


def main():
    ap = argparse.ArgumentParser(description="vigil-checker CPU and memory for N TCP_CHECKs per second")
    ap.add_argument("--n", default="1000,10000,50000", help="comma-separated real server counts")
    ap.add_argument("--variants", default="accepted", help="comma-separated: accepted, refused")
    ap.add_argument("--steer", default="both", choices=("both", "yes", "no"),
                    help="server side of the handshakes on the other CPU (RPS) and the checker pinned (default both)")
    ap.add_argument("--max-refused", type=int, default=1 << 30,
                    help="the refused variant only up to this N (default: every N)")
    ap.add_argument("--seconds", type=float, default=30, help="measurement window (default 30 s)")
    ap.add_argument("--warmup", type=float, default=10, help="after every server was checked (default 10 s)")
    ap.add_argument("--work", help="keep configs and vigild's logs in this folder (default: a temporary one)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    ap.add_argument("--perf", metavar="PREFIX",
                    help="record a perf profile of vigil-checker over each window into PREFIX-N-VARIANT-STEER.data")
    args = ap.parse_args()
    global PERF_OUT
    PERF_OUT = args.perf
    if os.geteuid() != 0:
        sys.exit("checker_bench.py needs root (network namespaces)")
    for exe in ("vigild", "vigil-checker", "vigilctl"):
        if not os.access(binary(exe), os.X_OK):
            sys.exit(f"{binary(exe)} is not built (set VIGIL_BIN)")
    results = []
    with tempfile.TemporaryDirectory(prefix="vigil-checker-bench-") as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        os.chmod(work, 0o755)  # vigild leaves root: its config must stay readable
        listener = compile_listener(work)
        counter = compile_syn_counter(work)
        for n in [int(x) for x in args.n.split(",") if x]:
            for variant, steer in [(v.strip(), s) for v in args.variants.split(",") if v.strip()
                                   for s in {"both": (False, True), "yes": (True,), "no": (False,)}[args.steer]]:
                if variant == "refused" and n > args.max_refused:
                    log(f"N = {n}, refused: skipped (--max-refused {args.max_refused})")
                    continue
                log(f"N = {n}, {variant}, steered {steer}: load average {os.getloadavg()[0]:.2f}")
                r = run_one(n, variant, steer, args.seconds, args.warmup, listener, counter, work)
                log(f"  {r['checks_per_s']:,.0f} checks/s (SYNs; {r['connects_per_s']:,.0f} connect()s/s by "
                    f"ActiveOpens), vigil-checker {fmt_pct(r['vigil-checker']['sched'])} "
                    f"of a core, {r['us_per_check']:.1f} us per check, private "
                    f"{r['mem']['vigil-checker'][2]} KiB")
                results.append(r)
    print(table(results))
    if results and not args.no_write:
        write_subsection(SECTION, SUBSECTION, report(results, args.seconds, args.warmup), INTRO)
        log(f"written to {os.path.normpath(DOC)}")


if __name__ == "__main__":
    main()
