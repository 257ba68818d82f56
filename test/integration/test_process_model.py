"""vigild's process model (issue 3): privileges, supervision, reload, control socket, stop.

Each test starts its own vigild in network namespaces made by lab.Lab, with its own pid file and control socket,
and talks to it with vigilctl. Run as root: python3 test/integration/test_process_model.py
"""

import ctypes
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from lab import Lab, binary, raw_tcp_sockets, wait_until

def _daemon_user():
    try:
        return pwd.getpwnam("vigil")
    except KeyError:
        return pwd.getpwnam("nobody")


DAEMON_USER = _daemon_user()
CAP_NET_ADMIN = 1 << 12
CAP_NET_RAW = 1 << 13

VRRP_AND_CHECKER = """
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        10.77.0.100/24
    }}
}}
virtual_server 10.77.0.100 80 {{
    delay_loop 5
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.77.0.2 80 {{
        weight 1
        {check}
    }}
}}
"""

TCP_CHECK = "TCP_CHECK {\n            connect_timeout 1\n        }"
PING_CHECK = "PING_CHECK {\n        }"
HTTP_GET = "HTTP_GET {\n            url {\n                path /\n            }\n        }"


def config(priority=100, check=TCP_CHECK):
    return VRRP_AND_CHECKER.format(priority=priority, check=check)


def proc_status(pid):
    """The fields of /proc/PID/status as a dict of strings."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def caps(pid, which):
    return int(proc_status(pid)[which], 16)


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        return proc_status(pid).get("State", "").split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


class Daemon:
    """One vigild in namespace `ns`, with its files in a private folder."""

    def __init__(self, lab, ns, conf_text, extra=(), prefix=(), env=None):
        self.lab = lab
        self.ns = ns
        self.dir = tempfile.mkdtemp(prefix="vigil-pm-")
        # As systemd's RuntimeDirectory=: the folder belongs to the user vigild switches to, so that it can
        # remove its socket and pid file at exit; it reads its config as that user too.
        os.chmod(self.dir, 0o755)
        os.chown(self.dir, DAEMON_USER.pw_uid, DAEMON_USER.pw_gid)
        self.conf = os.path.join(self.dir, "vigil.conf")
        self.sock = os.path.join(self.dir, "vigil.sock")
        self.pid_file = os.path.join(self.dir, "vigild.pid")
        self.log_path = os.path.join(self.dir, "vigild.log")
        self.write_config(conf_text)
        self.log = open(self.log_path, "w")
        argv = list(prefix) + [binary("vigild"), "-l", "--log-level=debug", "-f", self.conf, "-p", self.pid_file,
                "--control-socket", self.sock] + list(extra)
        self.proc = ns.spawn(argv, stdout=self.log, stderr=subprocess.STDOUT,
                             env=dict(os.environ, **(env or {})))
        wait_until(lambda: os.path.exists(self.sock) and self.try_status(), 10, what="vigild's control socket")

    def write_config(self, text):
        with open(self.conf, "w") as f:
            f.write(text)
        os.chmod(self.conf, 0o644)

    def ctl(self, *args, as_uid=None):
        """Runs vigilctl in the daemon's namespace, as root or as `as_uid` (setpriv, no groups)."""
        prefix = []
        if as_uid is not None:
            prefix = ["setpriv", f"--reuid={as_uid}", f"--regid={as_uid}", "--clear-groups"]
        return subprocess.run(self.ns.cmd(prefix + [binary("vigilctl"), "-s", self.sock] + list(args)),
                              capture_output=True, text=True, timeout=30)

    def try_status(self):
        r = self.ctl("status", "--json")
        return json.loads(r.stdout) if r.returncode == 0 else None

    def status(self):
        r = self.ctl("status", "--json")
        if r.returncode != 0:
            raise AssertionError(f"vigilctl status failed: {r.stderr}\n{self.log_text()}")
        return json.loads(r.stdout)

    def child(self, role, status=None):
        for c in (status or self.status())["children"]:
            if c["role"] == role:
                return c
        raise AssertionError(f"no child {role}")

    def child_pid(self, role):
        return self.child(role)["pid"]

    def running_pid(self, role):
        """The pid of `role` once it runs (configured), else 0."""
        c = self.child(role)
        return c["pid"] if c["state"] == "RUNNING" and c["pid"] else 0

    def log_text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def close(self):
        self.lab.stop(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class ProcessModelTest(unittest.TestCase):
    def setUp(self):
        for name in ("vigild", "vigilctl", "vigil-vrrp", "vigil-checker"):
            if not os.access(binary(name), os.X_OK):
                self.skipTest(f"{binary(name)} is not built")
        self.lab = Lab("pm")
        self.addCleanup(self.lab.close)
        self.r1 = self.lab.netns("r1")
        self.peer = self.lab.netns("peer")
        self.lab.veth(self.r1, "eth0", self.peer, "eth0")
        self.r1.ip("addr add 10.77.0.1/24 dev eth0")
        self.peer.ip("addr add 10.77.0.2/24 dev eth0")

    def start(self, text=None, extra=(), prefix=(), env=None):
        d = Daemon(self.lab, self.r1, text or config(), extra, prefix, env)
        self.addCleanup(d.close)
        self.addCleanup(lambda: self._dump_log_on_failure(d))
        wait_until(lambda: d.running_pid("vrrp") and d.running_pid("checker"), 10, what="both children running")
        return d

    def _dump_log_on_failure(self, d):
        outcome = getattr(self, "_outcome", None)
        errors = getattr(getattr(outcome, "result", None), "errors", []) + \
            getattr(getattr(outcome, "result", None), "failures", [])
        if any(t is self for t, _ in errors):
            print(f"\n--- vigild log ({self.id()}) ---\n{d.log_text()}")

    # /proc/PID/status: a non-root uid and no effective capability for vigild; exactly what each child needs.
    def test_privileges_of_vigild_and_children(self):
        d = self.start()
        pid = d.proc.pid
        st = proc_status(pid)
        self.assertEqual(st["Uid"].split(), [str(DAEMON_USER.pw_uid)] * 4, "vigild did not switch user")
        self.assertEqual(caps(pid, "CapEff"), 0)
        for which in ("CapPrm", "CapInh", "CapAmb", "CapBnd"):
            self.assertEqual(caps(pid, which), CAP_NET_ADMIN | CAP_NET_RAW, which)
        vrrp, checker = d.running_pid("vrrp"), d.running_pid("checker")
        self.assertEqual(caps(vrrp, "CapEff"), CAP_NET_ADMIN | CAP_NET_RAW)
        self.assertEqual(caps(checker, "CapEff"), CAP_NET_ADMIN, "checker without PING_CHECK has CAP_NET_RAW")
        self.assertEqual(caps(checker, "CapPrm") & CAP_NET_RAW, 0)
        for child in (vrrp, checker):
            self.assertNotEqual(proc_status(child)["Uid"].split()[0], "0")
            self.assertEqual(proc_status(child)["NoNewPrivs"], "1")

    # vigild started as root looks its user up in a child process that exits: no NSS module (nsswitch.conf's
    # "passwd: files systemd" loads libnss_systemd) stays mapped in the long-lived parent.
    def test_vigild_keeps_no_nss_module_from_its_user_lookup(self):
        with open("/etc/nsswitch.conf") as f:
            passwd = next((line.split(":", 1)[1].split() for line in f if line.startswith("passwd:")), [])
        modules = [m for m in passwd if m.isidentifier() and m not in ("files", "compat")]
        if not modules:
            self.skipTest("nsswitch.conf names no NSS module beyond files for passwd")
        d = self.start()
        with open(f"/proc/{d.proc.pid}/maps") as f:
            mapped = {line.split()[-1] for line in f if "libnss_" in line}
        self.assertEqual(proc_status(d.proc.pid)["Uid"].split()[0], str(DAEMON_USER.pw_uid))
        self.assertEqual(mapped, set(), f"vigild maps {mapped} ({passwd})")

    # vigil-vrrp asks for the kernel's shortest time slice (0.1 ms, no privilege needed: EEVDF, Linux 6.12 and
    # later), so that a wake-up that decides a failover preempts a busy task; the others keep the default.
    def test_vrrp_child_runs_with_a_short_time_slice(self):
        release = tuple(int(x) for x in os.uname().release.split(".")[:2])
        if release < (6, 12):
            self.skipTest("custom time slices need Linux 6.12")
        d = self.start()
        slices = {}
        for name, pid in (("vigild", d.proc.pid), ("vrrp", d.running_pid("vrrp")),
                          ("checker", d.running_pid("checker"))):
            with open(f"/proc/{pid}/sched") as f:
                slices[name] = next(int(line.split(":")[1]) for line in f if line.startswith("se.slice"))
        self.assertEqual(slices["vrrp"], 100_000, slices)
        self.assertGreater(slices["vigild"], 100_000, slices)
        self.assertEqual(slices["checker"], slices["vigild"], slices)

    # As systemd starts it (User=, AmbientCapabilities=, CapabilityBoundingSet=): the same end state.
    def test_started_unprivileged_with_ambient_capabilities_like_systemd(self):
        u = DAEMON_USER
        as_systemd = ["setpriv", f"--reuid={u.pw_uid}", f"--regid={u.pw_gid}", "--clear-groups",
                      "--inh-caps=-all,+net_admin,+net_raw", "--ambient-caps=-all,+net_admin,+net_raw",
                      "--bounding-set=-all,+net_admin,+net_raw"]
        d = self.start(prefix=as_systemd)
        pid = d.proc.pid
        self.assertEqual(proc_status(pid)["Name"], "vigild")
        self.assertEqual(caps(pid, "CapEff"), 0)
        for which in ("CapPrm", "CapAmb", "CapBnd"):
            self.assertEqual(caps(pid, which), CAP_NET_ADMIN | CAP_NET_RAW, which)
        self.assertEqual(caps(d.running_pid("vrrp"), "CapEff"), CAP_NET_ADMIN | CAP_NET_RAW)
        self.assertEqual(caps(d.running_pid("checker"), "CapEff"), CAP_NET_ADMIN)

    # Without the capabilities (an unprivileged start with none): each child says what it lacks and exits with
    # the permanent-error status, which is not retried in a loop; vigild keeps serving status.
    def test_child_without_its_capabilities_fails_permanently_and_is_not_retried(self):
        u = DAEMON_USER
        d = Daemon(self.lab, self.r1, config(), prefix=["setpriv", f"--reuid={u.pw_uid}", f"--regid={u.pw_gid}",
                                                       "--clear-groups", "--inh-caps=-all", "--ambient-caps=-all"])
        self.addCleanup(d.close)
        self.addCleanup(lambda: self._dump_log_on_failure(d))
        wait_until(lambda: d.child("vrrp")["state"] == "FAILED" and d.child("checker")["state"] == "FAILED", 10,
                   what="both children FAILED")
        time.sleep(2.5)  # longer than the first back-off steps: nothing restarts
        s = d.status()
        for role in ("vrrp", "checker"):
            c = d.child(role, s)
            self.assertEqual((c["state"], c["restarts"], c["pid"]), ("FAILED", 0, 0), role)
            self.assertIn("permanent", c["reason"])
        self.assertIn("CAP_NET_RAW", d.log_text())
        self.assertIsNone(d.proc.poll())

    # sd_notify: READY=1 once running, RELOADING=1 with MONOTONIC_USEC then READY=1 around a reload, STOPPING=1.
    def test_tells_systemd_ready_reloading_and_stopping(self):
        folder = tempfile.mkdtemp(prefix="vigil-notify-")
        self.addCleanup(shutil.rmtree, folder, True)
        os.chmod(folder, 0o755)
        path = os.path.join(folder, "notify")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(listener.close)
        listener.bind(path)
        os.chmod(path, 0o777)  # vigild sends as its unprivileged user
        listener.settimeout(10)
        d = self.start(env={"NOTIFY_SOCKET": path})

        def next_message():
            return dict(l.split("=", 1) for l in listener.recv(4096).decode().splitlines())

        first = next_message()
        self.assertEqual(first.get("READY"), "1")
        self.assertIn("generation 1", first.get("STATUS", ""))
        d.write_config(config(priority=110))
        d.proc.send_signal(signal.SIGHUP)
        reloading = next_message()
        self.assertEqual(reloading.get("RELOADING"), "1")
        self.assertTrue(reloading.get("MONOTONIC_USEC", "").isdigit())
        again = next_message()
        self.assertEqual(again.get("READY"), "1")
        self.assertIn("generation 2", again.get("STATUS", ""))
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(next_message().get("STOPPING"), "1")
        self.assertEqual(d.proc.wait(20), 0)

    def test_checker_keeps_cap_net_raw_only_with_ping_check(self):
        d = self.start(config(check=PING_CHECK))
        self.assertEqual(caps(d.running_pid("checker"), "CapEff"), CAP_NET_ADMIN | CAP_NET_RAW)

    # A reload that adds PING_CHECK restarts the checker with CAP_NET_RAW (not counted as a failure).
    def test_reload_adding_ping_check_gives_the_checker_cap_net_raw(self):
        d = self.start()
        old = d.running_pid("checker")
        self.assertEqual(caps(old, "CapEff") & CAP_NET_RAW, 0)
        d.write_config(config(check=PING_CHECK))
        r = d.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_until(lambda: d.running_pid("checker") not in (0, old), 10, what="the checker respawned")
        new = d.running_pid("checker")
        self.assertEqual(caps(new, "CapEff"), CAP_NET_ADMIN | CAP_NET_RAW)
        self.assertEqual(d.child("checker")["restarts"], 0)

    # The raw TCP sockets of TCP_CHECK are opened only at the checker's start, before it drops CAP_NET_RAW: a
    # reload that adds the first TCP_CHECK restarts the checker with them, and one that removes the last
    # restarts it without them (neither counted as a failure).
    def test_reload_adding_or_removing_tcp_check_restarts_the_checker_with_or_without_raw_sockets(self):
        d = self.start(config(check=HTTP_GET))
        first = d.running_pid("checker")
        self.assertEqual(raw_tcp_sockets(first), set(), "no TCP_CHECK: no raw TCP socket")
        for check, raw in ((TCP_CHECK, True), (HTTP_GET, False)):
            old = d.running_pid("checker")
            d.write_config(config(check=check))
            r = d.ctl("reload")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            wait_until(lambda: d.running_pid("checker") not in (0, old), 10, what="the checker respawned")
            new = d.running_pid("checker")
            wait_until(lambda: bool(raw_tcp_sockets(new)) == raw, 5, what=f"raw TCP sockets held: {raw}")
            self.assertEqual(caps(new, "CapEff"), CAP_NET_ADMIN, "CAP_NET_RAW is not kept for raw TCP")
        self.assertEqual(d.child("checker")["restarts"], 0)
        # A reload that keeps TCP_CHECK (or its absence) keeps the process.
        kept = d.running_pid("checker")
        r = d.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        time.sleep(1)
        self.assertEqual(d.running_pid("checker"), kept)

    # SIGKILL of vigil-checker: a new one within 1 s, restarts 1, the VRRP child untouched, no VIP removed.
    def test_sigkill_of_checker_restarts_it_and_leaves_vrrp_alone(self):
        d = self.start()
        monitor = self.r1.spawn(["ip", "-o", "monitor", "address"], stdout=subprocess.PIPE, text=True)
        # Give VRRP the chance to become MASTER (no peer: master-down interval ~3.6 s) so there is a VIP to watch.
        try:
            wait_until(lambda: any(vi["state"] == "MASTER" for vi in d.status()["vrrpInstances"]), 8,
                       what="VI_1 MASTER")
            vip_held = "10.77.0.100" in self.r1.ip("-o addr show dev eth0").stdout
        except AssertionError:
            vip_held = False
        vrrp_before = d.running_pid("vrrp")
        checker_before = d.running_pid("checker")
        os.kill(checker_before, signal.SIGKILL)
        t0 = time.monotonic()
        wait_until(lambda: d.child_pid("checker") not in (0, checker_before), 1.0, interval=0.02,
                   what="a new checker within 1 s")
        self.assertLess(time.monotonic() - t0, 1.0)
        wait_until(lambda: d.running_pid("checker"), 5, what="the new checker configured")
        s = d.status()
        self.assertEqual(d.child("checker", s)["restarts"], 1)
        self.assertEqual(d.child("vrrp", s)["pid"], vrrp_before)
        self.assertEqual(d.child("vrrp", s)["restarts"], 0)
        self.assertTrue(alive(vrrp_before))
        time.sleep(0.5)
        self.lab.stop(monitor, signal.SIGTERM)
        events = monitor.stdout.read()
        monitor.stdout.close()
        print(f"VIP held during the restart: {vip_held}")
        if vip_held:
            self.assertTrue("10.77.0.100" in self.r1.ip("-o addr show dev eth0").stdout, "VIP gone")
            deleted = [l for l in events.splitlines() if l.startswith("Deleted") and "10.77.0.100" in l]
            self.assertEqual(deleted, [], "a VIP was removed while the checker restarted")

    # SIGSTOP of a child: 3 missed Pongs at 1 s, then killed and replaced.
    def test_sigstop_of_a_child_is_detected_and_replaced(self):
        d = self.start()
        stopped = d.running_pid("checker")
        os.kill(stopped, signal.SIGSTOP)
        t0 = time.monotonic()
        # Protocol bound: 3 pings unanswered at 1 s intervals, the 4th tick kills: about 3-4 s, 6 s with margin.
        wait_until(lambda: d.child_pid("checker") not in (0, stopped), 6, interval=0.1, what="the hung checker replaced")
        elapsed = time.monotonic() - t0
        self.assertGreater(elapsed, 1.5, "replaced before three Pongs could have been missed")
        wait_until(lambda: not alive(stopped), 2, what="the hung checker gone")
        s = d.status()
        self.assertEqual(d.child("checker", s)["restarts"], 1)
        self.assertIn("pong", d.child("checker", s)["reason"])

    # Garbage on a child's channel (written through a copy of the child's fd 3): that child is restarted and
    # vigild keeps running.
    def test_garbage_from_a_child_restarts_that_child(self):
        d = self.start()
        victim = d.running_pid("vrrp")
        other = d.running_pid("checker")
        libc = ctypes.CDLL(None, use_errno=True)
        pidfd = os.pidfd_open(victim)
        try:
            fd = libc.syscall(438, pidfd, 3, 0)  # pidfd_getfd(pidfd, 3, 0)
            if fd < 0:
                self.skipTest(f"pidfd_getfd: {os.strerror(ctypes.get_errno())}")
        finally:
            os.close(pidfd)
        with socket.socket(fileno=fd) as s:
            s.send(b"\xffthis is not an Envelope\x00\x01")
        wait_until(lambda: d.child_pid("vrrp") not in (0, victim), 5, what="the vrrp child replaced")
        self.assertIsNone(d.proc.poll(), "vigild exited")
        s = d.status()
        self.assertEqual(d.child("vrrp", s)["restarts"], 1)
        self.assertIn("protocol error", d.child("vrrp", s)["reason"])
        self.assertEqual(d.child("checker", s)["pid"], other)
        self.assertIn("protocol error", d.log_text())

    # HUP with a broken config: still running, lastReload.ok false with the errors, generation unchanged.
    def test_hup_with_a_broken_config_changes_nothing(self):
        d = self.start()
        pids = (d.running_pid("vrrp"), d.running_pid("checker"))
        d.write_config(config() + "\nvrrp_instance VI_2 {\n    virtual_router_id 300\n}\n")
        d.proc.send_signal(signal.SIGHUP)
        s = wait_until(lambda: (lambda s: s if "lastReload" in s["config"] else None)(d.status()), 10,
                       what="a reload result")
        self.assertFalse(s["config"]["lastReload"]["ok"])
        self.assertTrue(s["config"]["lastReload"]["errors"])
        self.assertEqual(s["config"]["generation"], "1")
        self.assertIsNone(d.proc.poll())
        self.assertEqual((d.child("vrrp", s)["pid"], d.child("checker", s)["pid"]), pids)
        # vigilctl reload reports the same refusal and exits non-zero.
        r = d.ctl("reload")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("refused", r.stdout)

    # HUP (and vigilctl reload) with a valid change: a new generation, acknowledged by both children.
    def test_reload_with_a_valid_change_commits_a_new_generation(self):
        d = self.start()
        pids = (d.running_pid("vrrp"), d.running_pid("checker"))
        d.write_config(config(priority=150))
        r = d.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("generation 2", r.stdout)
        s = d.status()
        self.assertEqual(s["config"]["generation"], "2")
        last = s["config"]["lastReload"]
        self.assertTrue(last["ok"])
        self.assertEqual(sorted((c["role"], c["ok"]) for c in last["children"]),
                         [("checker", True), ("vrrp", True)])
        self.assertEqual((d.child("vrrp", s)["pid"], d.child("checker", s)["pid"]), pids, "a child was restarted")
        wait_until(lambda: all(c["generation"] == "2" for c in d.status()["children"]), 5,
                   what="both children on generation 2")
        cfg = json.loads(d.ctl("config").stdout)
        self.assertEqual(cfg["vrrpInstance"][0]["priority"], 150)
        # And by SIGHUP: generation 3.
        d.write_config(config(priority=120))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.status()["config"]["generation"] == "3", 10, what="generation 3")

    # A setting a reload cannot change (keepalived's net_namespace) is refused, naming it; nothing changes.
    def test_reload_refuses_a_setting_fixed_at_start(self):
        d = self.start()
        d.write_config("global_defs {\n    net_namespace blue\n}\n" + config(priority=150))
        r = d.ctl("reload")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("net_namespace cannot change on reload", r.stdout)
        s = d.status()
        self.assertEqual(s["config"]["generation"], "1")
        self.assertFalse(s["config"]["lastReload"]["ok"])
        self.assertEqual(json.loads(d.ctl("config").stdout)["vrrpInstance"][0]["priority"], 100)

    # A client whose uid is neither root nor vigild's is refused: by the socket's mode, and by SO_PEERCRED.
    def test_control_socket_refuses_other_users(self):
        d = self.start()
        stranger = 54321
        r = d.ctl("status", as_uid=stranger)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Permission denied", r.stderr)
        # Past the file mode, the daemon's own check refuses the peer and logs it.
        os.chmod(d.sock, 0o666)
        r = d.ctl("status", as_uid=stranger)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("children", r.stdout)
        wait_until(lambda: f"refused a client with uid {stranger}" in d.log_text(), 5, what="the refusal logged")
        self.assertEqual(d.ctl("status").returncode, 0, "root is refused too")

    # SIGTERM: vigild and both children gone, exit status 0.
    def test_sigterm_stops_everything_and_exits_0(self):
        d = self.start()
        kids = (d.running_pid("vrrp"), d.running_pid("checker"))
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(20), 0, d.log_text())
        for pid in kids:
            wait_until(lambda: not alive(pid), 5, what=f"child {pid} gone")
        self.assertFalse(os.path.exists(d.sock), "control socket left behind")

    # -P runs only the VRRP child; a second vigild runs beside the first in another namespace.
    def test_vrrp_only_and_two_daemons_side_by_side(self):
        d1 = self.start()
        r2 = self.lab.netns("r2")
        self.lab.veth(r2, "eth0", self.lab.netns("peer2"), "eth0")
        d2 = Daemon(self.lab, r2, config(), extra=["-P"])
        self.addCleanup(d2.close)
        wait_until(lambda: d2.running_pid("vrrp"), 10, what="the second daemon's vrrp child")
        self.assertEqual(d2.child("checker")["state"], "DISABLED")
        self.assertEqual(d2.child("checker")["pid"], 0)
        self.assertNotEqual(d1.running_pid("vrrp"), d2.running_pid("vrrp"))
        self.assertTrue(d1.running_pid("checker"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
