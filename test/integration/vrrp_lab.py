"""A VRRP test bed on top of lab.py: routers and a client on one bridged segment.

    with VrrpLab(routers=2) as vl:
        vl.start_keepalived("r1", conf_text)          # Debian's keepalived, VRRP only, as a peer
        vl.start_vigild("r2", conf_text)               # vigil
        vl.wait_holder("192.0.2.100", "r1", timeout=5)  # the VIP is on r1 and nowhere else
        vl.crash("r1")                                 # SIGKILL of every process in r1 and its link down
        assert vl.client_reaches("192.0.2.100")        # ping and TCP from the client

The segment is 192.0.2.0/24 and 2001:db8::/64 (documentation ranges), inside namespaces the lab made:
router rN has .N / ::N, the client .200 / ::200. Each router runs a TCP listener on port 8080 that answers
with its own name, so the client can tell who holds the VIP.

Every VRRP test runs against either daemon: `daemon(router, kind, conf)` starts keepalived or vigild on the same
keepalived.conf text (vigil reads that language), `state(router, instance)` reads the state from vigilctl or from
keepalived's log, and `variants()` expands one test class into one class per kind named in VIGIL_VRRP_KINDS
("keepalived,vigil,mixed" by default), so the keepalived reference can run alone.
"""

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from lab import Lab, binary, wait_until

SEGMENT4 = "192.0.2"
SEGMENT6 = "2001:db8::"
ECHO_PORT = 8080

# Answers every TCP connection on ECHO_PORT with the router's name; stdlib only.
_ECHO_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: the VIP may arrive later
s.bind(("::", int(sys.argv[2])))
s.listen(16)
while True:
    c, _ = s.accept()
    try:  # a health check resets its connection at once: that is no reason to stop answering
        c.sendall(sys.argv[1].encode() + b"\n")
    except OSError:
        pass
    c.close()
"""


class VrrpLab:
    def __init__(self, routers=2, ipv6=False):
        self.lab = Lab("vr")
        self.routers = {}
        self.procs = {}
        self.tmp = tempfile.TemporaryDirectory(prefix="vigil-vrrp-lab-")
        # vigild leaves root for its own user: its config and the files a test script looks at must be readable.
        os.chmod(self.tmp.name, 0o755)
        self.kinds = {}  # router -> "keepalived" | "vigil", set by daemon()
        self.confs = {}  # router -> the config text it was last started with
        self.daemons = {}  # router -> the Popen of its daemon
        try:
            names = [f"r{i}" for i in range(1, routers + 1)]
            for name in names:
                self.routers[name] = self.lab.netns(name)
            self.client = self.lab.netns("client")
            self.sw = self.lab.bridge_segment(list(self.routers.values()) + [self.client])
            for i, name in enumerate(names, start=1):
                ns = self.routers[name]
                ns.ip(f"addr add {SEGMENT4}.{i}/24 dev eth0")
                ns.ip(f"-6 addr add {SEGMENT6}{i}/64 dev eth0 nodad")
                ns.run(["sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1"])
                self.start_echo(name)
            self.client.ip(f"addr add {SEGMENT4}.200/24 dev eth0")
            self.client.ip(f"-6 addr add {SEGMENT6}200/64 dev eth0 nodad")
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        # Every process gets its SIGTERM at once (keepalived takes a second to stop), then the lab reaps them.
        for p in self.lab.processes:
            if p.poll() is None:
                try:
                    p.terminate()
                except ProcessLookupError:
                    pass
        self.lab.close()
        self.tmp.cleanup()

    def start_echo(self, router):
        """The TCP listener on ECHO_PORT that answers with the router's name (started with the lab)."""
        p = self.routers[router].spawn([sys.executable, "-c", _ECHO_SERVER, router, str(ECHO_PORT)])
        self.procs.setdefault(router, []).append(p)
        return p

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def write(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        return p

    # --- daemons -------------------------------------------------------------------------------------------

    def start_keepalived(self, router, conf):
        """Debian's keepalived, VRRP only, in the foreground, logging to a file in the lab's folder."""
        ns = self.routers[router]
        cfg = self.write(f"{router}-keepalived.conf", conf)
        log = open(self.path(f"{router}-keepalived.log"), "w")
        p = ns.spawn(["keepalived", "--vrrp", "-n", "-l", "-D", "-f", cfg,
                      "-p", self.path(f"{router}-keepalived.pid"),
                      "-r", self.path(f"{router}-keepalived-vrrp.pid")],
                     stdout=log, stderr=subprocess.STDOUT)
        log.close()  # the daemon has its own copy
        self.procs.setdefault(router, []).append(p)
        return p

    def start_vigild(self, router, conf, extra=()):
        """vigild with its own pid file and control socket, logging to the console into a file."""
        ns = self.routers[router]
        cfg = self.write(f"{router}-vigil.conf", conf)
        log = open(self.path(f"{router}-vigild.log"), "w")
        p = ns.spawn([binary("vigild"), "-f", cfg, "-l", "-D",
                      "-p", self.path(f"{router}-vigild.pid"),
                      "--control-socket", self.control_socket(router), *extra],
                     stdout=log, stderr=subprocess.STDOUT)
        log.close()  # the daemon has its own copy
        self.procs.setdefault(router, []).append(p)
        return p

    def control_socket(self, router):
        return self.path(f"{router}-vigil.sock")

    def vigilctl(self, router, *args):
        if not os.access(binary("vigilctl"), os.X_OK):
            raise AssertionError(f"{binary('vigilctl')} is not built (set VIGIL_BIN)")
        return subprocess.run([binary("vigilctl"), "-s", self.control_socket(router), *args],
                              capture_output=True, text=True, timeout=10)

    def status(self, router):
        r = self.vigilctl(router, "status", "--json")
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def log(self, router, daemon="vigild"):
        try:
            with open(self.path(f"{router}-{daemon}.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # --- failures ------------------------------------------------------------------------------------------

    def crash(self, router):
        """A dead host, as it looks from the wire: every process in it SIGKILLed at once, its link down."""
        ns = self.routers[router]
        pids = subprocess.run(["ip", "netns", "pids", ns.name], capture_output=True, text=True).stdout.split()
        # Frozen first, then killed: killed one by one, a child would see its parent die and stop gracefully
        # (keepalived's VRRP child sends priority 0), which a dead host never does.
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(int(pid), sig)
                except ProcessLookupError:
                    pass
            if sig == signal.SIGSTOP:
                ns.ip("link set eth0 down")

    def revive_link(self, router):
        self.routers[router].ip("link set eth0 up")

    # --- observations --------------------------------------------------------------------------------------

    def has_address(self, router, addr):
        out = self.routers[router].run(["ip", "-j", "addr", "show", "dev", "eth0"]).stdout
        for link in json.loads(out):
            for a in link.get("addr_info", []):
                if a.get("local") == addr:
                    return True
        return False

    def link_up(self, router):
        out = self.routers[router].run(["ip", "-j", "link", "show", "dev", "eth0"]).stdout
        return "UP" in json.loads(out)[0].get("flags", [])

    def holders(self, addr):
        """The routers holding `addr` on a live link (a crashed router's link is down; what it held is moot)."""
        return [name for name in self.routers if self.link_up(name) and self.has_address(name, addr)]

    def wait_holder(self, addr, router, timeout):
        """Waits until `router`, and only it, holds `addr`."""
        return wait_until(lambda: self.holders(addr) == [router], timeout,
                          what=f"{addr} held by {router} alone (held by {self.holders(addr)})")

    def client_reaches(self, addr, expect=None):
        """Ping and a TCP exchange from the client; returns the name of the router that answered on TCP."""
        ping = self.client.run(["ping", "-c", "1", "-W", "1", addr], check=False)
        if ping.returncode != 0:
            return None
        family = "AF_INET6" if ":" in addr else "AF_INET"
        code = (f"import socket; s=socket.socket(socket.{family}); s.settimeout(2); "
                f"s.connect(('{addr}', {ECHO_PORT})); print(s.recv(64).decode().strip())")
        r = self.client.run([sys.executable, "-c", code], check=False)
        if r.returncode != 0:
            return None
        who = r.stdout.strip()
        if expect is not None and who != expect:
            return None
        return who

    def capture(self, name, bpf="ip proto 112 or ip6 proto 112 or arp or icmp6"):
        """Starts dumpcap on the bridge; returns a Capture (decoded by tshark) whose stop() returns the pcap."""
        return Capture(self, name, bpf)

    # --- either daemon -------------------------------------------------------------------------------------

    def daemon(self, router, kind, conf):
        """Starts `kind` ("keepalived" or "vigil") on `router` with the keepalived.conf text `conf`."""
        self.kinds[router] = kind
        self.confs[router] = conf
        if kind == "keepalived":
            p = self.start_keepalived(router, conf)
        elif kind == "vigil":
            if not os.access(binary("vigild"), os.X_OK):
                raise AssertionError(f"{binary('vigild')} is not built (set VIGIL_BIN)")
            p = self.start_vigild(router, conf)
        else:
            raise ValueError(f"unknown daemon kind {kind!r}")
        self.daemons[router] = p
        return p

    def daemon_proc(self, router):
        """The Popen of the daemon last started on `router`."""
        return self.daemons[router]

    def stop_daemon(self, router, sig=signal.SIGTERM, timeout=10):
        """Stops the daemon of `router` with `sig` (SIGTERM: the graceful stop, priority-0 advert)."""
        return self.lab.stop(self.daemon_proc(router), sig, timeout)

    def restart_node(self, router):
        """Brings a crashed router back as after a reboot: only its own addresses, link up, its echo listener
        and its daemon with its last config."""
        ns = self.routers[router]
        for p in self.procs.get(router, []):
            p.poll()  # reap what crash() killed: a zombie's pid looks alive to keepalived's pid-file check
        for f in os.listdir(self.tmp.name):
            if f.startswith(f"{router}-") and f.endswith(".pid"):
                os.unlink(self.path(f))  # /run is empty after a reboot
        i = list(self.routers).index(router) + 1
        ns.ip("addr flush dev eth0")
        ns.ip(f"addr add {SEGMENT4}.{i}/24 dev eth0")
        ns.ip(f"-6 addr add {SEGMENT6}{i}/64 dev eth0 nodad")
        self.revive_link(router)
        self.start_echo(router)
        return self.daemon(router, self.kinds[router], self.confs[router])

    def daemon_log(self, router):
        return self.log(router, "keepalived" if self.kinds.get(router) == "keepalived" else "vigild")

    def check_daemons(self):
        """Raises AssertionError, with the log's tail, when a daemon the test started has died on its own."""
        for router in self.kinds:
            p = self.daemon_proc(router)
            if p.poll() is not None and p.returncode not in (-signal.SIGKILL, -signal.SIGTERM, 0):
                tail = "\n".join(self.daemon_log(router).splitlines()[-30:])
                raise AssertionError(f"{self.kinds[router]} on {router} exited with {p.returncode}:\n{tail}")

    def state(self, router, instance):
        """The VRRP state of `instance` on `router` (INIT/BACKUP/MASTER/FAULT), None if unknown."""
        if self.kinds.get(router) == "vigil":
            st = self.status(router)
            for vi in (st or {}).get("vrrpInstances", []):
                if vi.get("name") == instance:
                    return str(vi.get("state", "INIT"))  # proto3 JSON leaves out INIT, the enum's zero
            return None
        found = None
        for line in self.daemon_log(router).splitlines():
            m = _KA_STATE.search(line)
            if m and m.group(1) == instance:
                found = m.group(2).upper()
        return found

    def wait_state(self, router, instance, state, timeout):
        """Waits until `instance` on `router` is in `state`; returns the seconds it took."""
        t0 = time.monotonic()

        def reached():
            self.check_daemons()
            return self.state(router, instance) == state

        wait_until(reached, timeout, what=f"{router} {instance} {state} (is {self.state(router, instance)})")
        return time.monotonic() - t0

    def wait_holder(self, addr, router, timeout):
        """Waits until `router`, and only it, holds `addr`; returns the seconds it took."""
        t0 = time.monotonic()

        def alone():
            self.check_daemons()
            return self.holders(addr) == [router]

        wait_until(alone, timeout, what=f"{addr} held by {router} alone")
        return time.monotonic() - t0

    def stays(self, predicate, seconds, what, interval=0.05):
        """Asserts that predicate() holds at every poll for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check_daemons()
            if not predicate():
                raise AssertionError(f"no longer true: {what}")
            time.sleep(interval)

    # --- the wire ------------------------------------------------------------------------------------------

    def mac(self, router):
        out = self.routers[router].run(["ip", "-j", "link", "show", "dev", "eth0"]).stdout
        return json.loads(out)[0]["address"]

    def link_local(self, router):
        out = self.routers[router].run(["ip", "-j", "-6", "addr", "show", "dev", "eth0", "scope", "link"]).stdout
        for link in json.loads(out):
            for a in link.get("addr_info", []):
                if a.get("local") and not a.get("tentative"):
                    return a["local"]
        return None

    def drop_vrrp(self, router, outgoing=False):
        """Split brain: an nftables table in `router` dropping the VRRP adverts (protocol 112) it receives, and
        with outgoing=True those it sends."""
        out = ("  chain out { type filter hook output priority 0; policy accept; meta l4proto 112 drop; }\n"
               if outgoing else "")
        rules = ("table inet vigiltest {\n"
                 "  chain in { type filter hook input priority 0; policy accept; meta l4proto 112 drop; }\n"
                 f"{out}}}\n")
        self.routers[router].run(["nft", "-f", "-"], input=rules)

    def allow_vrrp(self, router):
        self.routers[router].run(["nft", "delete", "table", "inet", "vigiltest"])


# keepalived logs "(VI_1) Entering MASTER STATE", and "(VI_1) entering FAULT state (no IPv4 address ...)".
_KA_STATE = re.compile(r"\((\S+)\) Entering (\w+) STATE", re.IGNORECASE)


def config(*instances, global_defs=(), scripts=(), sync_groups=()):
    """A keepalived.conf text: global_defs lines, vrrp_script blocks, sync groups and instance blocks.

    GARPs go out once, at the transition (vrrp_garp_master_delay 0): the tests look for that first burst."""
    g = ["vrrp_garp_master_delay 0", "script_user root", *global_defs]
    text = "global_defs {\n" + "".join(f"    {line}\n" for line in g) + "}\n"
    for name, lines in scripts:
        text += f"vrrp_script {name} {{\n" + "".join(f"    {line}\n" for line in lines) + "}\n"
    for name, members in sync_groups:
        text += f"vrrp_sync_group {name} {{\n    group {{\n" + "".join(f"        {m}\n" for m in members)
        text += "    }\n}\n"
    return text + "".join(instances)


def instance(name="VI_1", vrid=51, priority=100, vips=("192.0.2.100/24",), state="BACKUP", version=3,
             advert_int=1, extra=()):
    """One vrrp_instance block on eth0; `extra` are more lines inside it (nopreempt, track_script {...}, ...)."""
    lines = [f"state {state}", "interface eth0", f"virtual_router_id {vrid}", f"priority {priority}",
             f"advert_int {advert_int}", f"version {version}", *extra, "virtual_ipaddress {",
             *[f"    {v}" for v in vips], "}"]
    return f"vrrp_instance {name} {{\n" + "".join(f"    {line}\n" for line in lines) + "}\n"


def skew_time(priority, advert_int):
    """RFC 5798 Skew_Time: ((256 - Priority) * Master_Adver_Interval) / 256, in seconds."""
    return (256 - priority) * advert_int / 256


def master_down_interval(priority, advert_int):
    """RFC 5798 Master_Down_Interval: 3 * Master_Adver_Interval + Skew_Time."""
    return 3 * advert_int + skew_time(priority, advert_int)


VARIANTS = ("keepalived", "vigil", "mixed")


def selected_variants():
    """The variants named in VIGIL_VRRP_KINDS (default: all three)."""
    names = [v.strip() for v in os.environ.get("VIGIL_VRRP_KINDS", ",".join(VARIANTS)).split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise ValueError(f"VIGIL_VRRP_KINDS: unknown variant(s) {unknown}; known: {VARIANTS}")
    return names


def node_kinds(variant, routers=3):
    """Which daemon runs on r1..rN: all keepalived, all vigil, or mixed (vigil on r1, r3, keepalived on r2)."""
    names = [f"r{i}" for i in range(1, routers + 1)]
    if variant == "mixed":
        return {n: ("vigil" if i % 2 == 0 else "keepalived") for i, n in enumerate(names)}
    return {n: variant for n in names}


def variants(namespace, base, only=VARIANTS):
    """Puts one subclass of `base` per selected variant (and in `only`) into `namespace`, with VARIANT set."""
    chosen = [v for v in selected_variants() if v in only]
    for v in chosen:
        name = f"{base.__name__}_{v}"
        namespace[name] = type(name, (base, unittest.TestCase), {"VARIANT": v, "__module__": base.__module__})
    if not chosen:  # a visible skip rather than a run of zero tests (an error in Python 3.12)
        def test_skipped(self):
            self.skipTest(f"VIGIL_VRRP_KINDS selects none of {only}")
        name = f"{base.__name__}_not_selected"
        namespace[name] = type(name, (unittest.TestCase,), {"test_skipped": test_skipped,
                                                              "__module__": base.__module__})


class VrrpCase:
    """A mixin for test classes expanded by variants(): each test builds its own lab with lab()."""

    VARIANT = "keepalived"
    LOG_DIR = os.environ.get("VIGIL_VRRP_LOG_DIR", "/tmp/vigil-vrrp-logs")

    def lab(self, routers=2):
        """A fresh VrrpLab, closed after the test; its logs and captures are kept in LOG_DIR/<test id>/."""
        vl = VrrpLab(routers)
        self.kinds = node_kinds(self.VARIANT, routers)
        self._labs = getattr(self, "_labs", 0) + 1
        self.addCleanup(vl.close)
        self.addCleanup(self._keep_logs, vl, self.id() + (f".{self._labs}" if self._labs > 1 else ""))
        return vl

    def start(self, vl, router, conf):
        """Starts this variant's daemon for `router` on it."""
        return vl.daemon(router, self.kinds[router], conf)

    def assert_reaches(self, vl, vip, router, timeout=5):
        """The client reaches `vip` by ping and TCP, and the TCP answer comes from `router`."""
        wait_until(lambda: vl.client_reaches(vip, expect=router), timeout,
                   what=f"client reaching {vip} on {router} (last answer: {vl.client_reaches(vip)})")

    def _keep_logs(self, vl, name):
        dest = os.path.join(self.LOG_DIR, name)
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest, exist_ok=True)
        for f in os.listdir(vl.tmp.name):
            if f.endswith((".log", ".conf", ".pcap")):
                shutil.copy(os.path.join(vl.tmp.name, f), dest)


class Capture:
    """dumpcap on the bridge, writing a pcap; returns once frames are reaching the file."""

    def __init__(self, vl, name, bpf):
        self.vl = vl
        self.file = vl.path(f"{name}.pcap")
        self.proc = vl.sw.spawn(["dumpcap", "-q", "-i", "br0", "-f", f"({bpf}) or arp", "-w", self.file],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # "Capturing on" comes before the capture is live; frames in the file are proof. The client asks for a
        # new unused address each time (192.0.2.240-249), so it sends a fresh ARP request at once.
        deadline = time.monotonic() + 20
        header = None
        for i in itertools.count():
            size = os.path.getsize(self.file) if os.path.exists(self.file) else 0
            if header is None and size > 0:
                header = size
            elif header is not None and size > header:
                break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError("dumpcap did not start capturing on the bridge")
            vl.client.run(["ping", "-c", "1", "-W", "0.05", f"{SEGMENT4}.24{i % 10}"], check=False)

    def stop(self):
        time.sleep(0.2)
        self.vl.lab.stop(self.proc, signal.SIGINT)
        return self.file

    def times(self, display_filter):
        """The wall-clock times (seconds since the epoch, as time.time()) of the frames matching the filter."""
        return [float(t[0]) for t in self.fields(display_filter, "frame.time_epoch")]

    def fields(self, display_filter, *fields):
        """Decodes the capture with tshark: one tuple of field values per matching frame."""
        args = ["tshark", "-r", self.file, "-Y", display_filter, "-T", "fields", "-E", "separator=|"]
        for f in fields:
            args += ["-e", f]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        return [tuple(line.split("|")) for line in out.splitlines() if line]
