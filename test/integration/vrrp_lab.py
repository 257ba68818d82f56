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
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

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
    c.sendall(sys.argv[1].encode() + b"\n")
    c.close()
"""


class VrrpLab:
    def __init__(self, routers=2, ipv6=False):
        self.lab = Lab("vr")
        self.routers = {}
        self.procs = {}
        self.tmp = tempfile.TemporaryDirectory(prefix="vigil-vrrp-lab-")
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
                self.procs.setdefault(name, []).append(
                    ns.spawn([sys.executable, "-c", _ECHO_SERVER, name, str(ECHO_PORT)]))
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
        self.lab.close()
        self.tmp.cleanup()

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
        self.procs.setdefault(router, []).append(p)
        return p

    def control_socket(self, router):
        return self.path(f"{router}-vigil.sock")

    def vigilctl(self, router, *args):
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
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
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

    def holders(self, addr):
        return [name for name in self.routers if self.has_address(name, addr)]

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

    def capture(self, name, bpf="ip proto 112 or arp or icmp6"):
        """Starts tshark on the bridge; returns a Capture whose stop() returns the pcap path."""
        return Capture(self, name, bpf)


class Capture:
    def __init__(self, vl, name, bpf):
        self.vl = vl
        self.file = vl.path(f"{name}.pcap")
        self.proc = vl.sw.spawn(["tshark", "-q", "-i", "br0", "-f", bpf, "-w", self.file],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # tshark says "Capturing on 'br0'" when it is ready.
        deadline = time.monotonic() + 15
        line = b""
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if b"Capturing on" in line or not line:
                break

    def stop(self):
        time.sleep(0.2)
        self.vl.lab.stop(self.proc, signal.SIGINT)
        return self.file

    def fields(self, display_filter, *fields):
        """Decodes the capture with tshark: one tuple of field values per matching frame."""
        args = ["tshark", "-r", self.file, "-Y", display_filter, "-T", "fields", "-E", "separator=|"]
        for f in fields:
            args += ["-e", f]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        return [tuple(line.split("|")) for line in out.splitlines() if line]
