"""A small lab of network namespaces for vigil's integration tests.

Every name carries a per-run prefix, so parallel runs and leftovers from a crashed run never collide, and
everything a Lab made (namespaces, processes it started) is removed on exit, even when a test fails. A SIGTERM
to the test runner closes its labs before it ends. A runner killed outright (SIGKILL: a CTest timeout) cannot
clean up, so each lab records its runner (PID and start time) under REGISTRY, and the next Lab removes the
namespaces, and what runs in them, of any lab whose runner is gone. Traffic stays inside the namespaces the lab
created.

    with Lab() as lab:
        r1 = lab.netns("r1")                  # a namespace with lo up
        lab.bridge_segment([r1, r2, client])   # one bridge namespace, a veth from each node to it
        r1.ip("addr add 10.0.0.1/24 dev eth0")
        p = r1.spawn([vigild, "-f", conf])     # a process in r1, ended by PID when the lab closes
        r1.run(["ping", "-c1", "10.0.0.100"])  # subprocess.run in r1
"""

import os
import signal
import subprocess
import threading
import time
import uuid

VIGIL_BIN = os.environ.get("VIGIL_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
VIGIL_SOURCE_DIR = os.environ.get("VIGIL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))


REGISTRY = os.environ.get("VIGIL_LAB_REGISTRY", "/run/vigil-test-labs")


def binary(name):
    """The path of one of vigil's executables (vigild, vigil-vrrp, vigil-checker, vigilctl)."""
    return os.path.join(VIGIL_BIN, name)


def raw_tcp_sockets(pid):
    """The inodes of PID's raw sockets of protocol TCP (6), IPv4 and IPv6, as its namespace lists them."""
    inodes = set()
    for name in ("raw", "raw6"):
        with open(f"/proc/{pid}/net/{name}") as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[1].rsplit(":", 1)[1] == "0006":  # local_address ADDR:PROTOCOL
                    inodes.add(cols[9])
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            held.add(target[8:-1])
    return inodes & held


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls predicate() until it returns a truthy value (returned) or timeout seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def _start_time(pid):
    """The start time of process `pid` (field 22 of /proc/PID/stat), or None when it does not exist: with the
    PID, it names one process even after the PID is reused."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _remove_netns(name):
    """Kills, by PID, whatever runs in namespace `name`, then deletes it."""
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def sweep_abandoned():
    """Removes the namespaces of every lab whose runner has died without closing it; returns their tags. A lab
    whose runner still lives is left alone, whoever it belongs to."""
    try:
        entries = os.listdir(REGISTRY)
    except FileNotFoundError:
        return []
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines()
    names = [line.split()[0] for line in listed if line.strip()]
    swept = []
    for tag in entries:
        if tag.startswith("."):
            continue  # a record being written (renamed into place when complete)
        path = os.path.join(REGISTRY, tag)
        try:
            with open(path) as f:
                pid, start = f.read().split()
        except (OSError, ValueError):
            continue  # not a record of ours
        if _start_time(pid) == start:
            continue
        for name in names:
            if name.startswith(tag + "-"):
                _remove_netns(name)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        swept.append(tag)
    return swept


_open_labs = set()


def _on_sigterm(signum, _frame):
    """Closes every open lab, then dies of the signal as the runner would have. (Not SystemExit: unittest
    catches it in a test and goes on to the next one.)"""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM does not cut the cleanup short
    for lab in list(_open_labs):
        try:
            lab.close()
        except Exception:  # noqa: BLE001 - the rest still gets closed
            pass
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _close_on_sigterm():
    """A SIGTERM to the runner (when nothing else handles it) closes its labs before it ends."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


class Netns:
    def __init__(self, lab, name):
        self.lab = lab
        self.name = name

    def cmd(self, argv):
        return ["ip", "netns", "exec", self.name] + list(argv)

    def run(self, argv, check=True, timeout=60, **kw):
        """subprocess.run in this namespace; output captured as text."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(self.cmd(argv), check=check, timeout=timeout, **kw)

    def ip(self, args, check=True):
        return self.run(["ip"] + args.split(), check=check)

    def spawn(self, argv, **kw):
        """Starts a process in this namespace; the lab ends it (by PID) when it closes."""
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        p = subprocess.Popen(self.cmd(argv), **kw)
        self.lab.processes.append(p)
        return p

    def __repr__(self):
        return f"Netns({self.name})"


class Lab:
    def __init__(self, prefix="vg"):
        # Short: interface names are limited to 15 characters.
        self.tag = prefix + uuid.uuid4().hex[:6]
        self.namespaces = []
        self.processes = []
        self._veth = 0
        _close_on_sigterm()
        sweep_abandoned()
        self._register()
        _open_labs.add(self)

    def _register(self):
        """Records this runner (PID, start time) as the owner of the tag, before any namespace exists."""
        start = _start_time(os.getpid())
        if start is None:
            raise RuntimeError("/proc/self/stat is unreadable: a lab record could not be told from a dead one")
        os.makedirs(REGISTRY, exist_ok=True)
        self._record = os.path.join(REGISTRY, self.tag)
        tmp = os.path.join(REGISTRY, f".{self.tag}.tmp")
        with open(tmp, "w") as f:
            f.write(f"{os.getpid()} {start}\n")
        os.rename(tmp, self._record)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def netns(self, name):
        full = f"{self.tag}-{name}"
        subprocess.run(["ip", "netns", "add", full], check=True)
        ns = Netns(self, full)
        self.namespaces.append(ns)
        ns.ip("link set lo up")
        return ns

    def veth(self, a, a_if, b, b_if):
        """A veth pair: a_if in namespace a, b_if in namespace b, both up."""
        self._veth += 1
        tmp_a, tmp_b = f"{self.tag}a{self._veth}", f"{self.tag}b{self._veth}"
        subprocess.run(["ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b], check=True)
        subprocess.run(["ip", "link", "set", tmp_a, "netns", a.name, "name", a_if], check=True)
        subprocess.run(["ip", "link", "set", tmp_b, "netns", b.name, "name", b_if], check=True)
        a.ip(f"link set {a_if} up")
        b.ip(f"link set {b_if} up")

    def bridge_segment(self, nodes, ifname="eth0", name="sw"):
        """One namespace holding a bridge, and a veth from each node's `ifname` to a port of it."""
        sw = self.netns(name)
        sw.ip("link add br0 type bridge")
        # No STP delay: ports forward at once.
        sw.ip("link set br0 type bridge forward_delay 0 stp_state 0")
        sw.ip("link set br0 up")
        for i, node in enumerate(nodes):
            port = f"p{i}"
            self.veth(node, ifname, sw, port)
            sw.ip(f"link set {port} master br0")
        return sw

    def stop(self, proc, sig=signal.SIGTERM, timeout=10):
        """Sends sig to a process the lab started and waits for it; returns its exit status."""
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def close(self):
        for p in reversed(self.processes):
            if p.poll() is None:
                try:
                    p.terminate()
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                except ProcessLookupError:
                    pass
        for ns in reversed(self.namespaces):
            # Whatever still runs inside (a child that outlived its parent) goes with the namespace.
            _remove_netns(ns.name)
        self.namespaces.clear()
        self.processes.clear()
        _open_labs.discard(self)
        try:
            os.unlink(self._record)
        except FileNotFoundError:
            pass
