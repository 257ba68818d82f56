"""Boot Debian's kernel under qemu (TCG) with an initramfs built on the fly, run a script in it, return its output.

This machine's kernel has no IPVS and cannot load modules, so real IPVS is exercised in a guest:

    from vmlab import boot, vigil_binary
    result = boot(script="ipvsadm -A -t 10.0.0.1:80 -s rr && ipvsadm -Ln",
                  programs=[vigil_binary("vigil-ipvs-probe")],
                  files={"/etc/spec": "service tcp 10.0.0.1 80 rr\\n"})
    assert result.rc == 0, result.console
    print(result.output)

The initramfs holds busybox (static), iproute2's `ip` (busybox's has no netns), kmod's modprobe, ipvsadm, the
programs asked for, each with the shared libraries `ldd` lists, and the kernel modules asked for (ip_vs and its
schedulers, veth, bridge by default) with their dependencies as `modprobe -S KVER --show-depends` resolves them,
indexed by `depmod -b`. Its /init mounts proc, sys, dev, run and tmp, brings lo up (IPVS refuses real servers
otherwise), loads the modules, runs the script with sh, prints `VIGIL-VM-RESULT rc=N` and powers off. The host
reads the console until that marker, or kills qemu (its own child, by PID) after the timeout.

The guest's sh is busybox-static's, which runs its own applets before PATH: a script calls iproute2 as
/usr/bin/ip (a bare `ip` is busybox's, which has no netns).
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

VIGIL_BIN = os.environ.get("VIGIL_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../build/bin"))

DEFAULT_MODULES = [
    "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_wlc", "ip_vs_lc", "ip_vs_sh", "ip_vs_sed", "ip_vs_nq",
    "veth", "bridge",
]
# What every guest gets besides busybox: host path -> the tool's purpose.
BASE_PROGRAMS = ["/usr/bin/ip", "/usr/sbin/ipvsadm", "/usr/bin/kmod"]
# Shell functions for guest scripts (prepend to a script): `step NAME` starts a section of the output that
# test_ipvs_probe.steps() cuts at; `waitfor SECONDS COMMAND...` polls COMMAND every 0.1 s and returns 1, with a
# TIMEOUT line, when it never succeeded.
SHELL_HELPERS = r"""
step() { echo "== $1"; }
waitfor() {
    local end=$(( $(date +%s) + $1 )); shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$end" ] && { echo "TIMEOUT waiting for: $*"; return 1; }
        sleep 0.1
    done
}
"""
MARKER = "VIGIL-VM-RESULT"
BEGIN = "VIGIL-VM-BEGIN"


def vigil_binary(name):
    """The path of one of vigil's built executables."""
    return os.path.join(VIGIL_BIN, name)


def kernel_version():
    """The newest kernel with both /boot/vmlinuz-KVER and /lib/modules/KVER (linux-image-amd64)."""
    found = []
    for vmlinuz in glob.glob("/boot/vmlinuz-*"):
        kver = vmlinuz[len("/boot/vmlinuz-"):]
        if os.path.isdir(f"/lib/modules/{kver}/kernel"):
            found.append(kver)
    if not found:
        raise RuntimeError("no kernel with modules in /boot and /lib/modules: apt-get install linux-image-amd64")
    return sorted(found)[-1]


def missing_tools():
    """What the host lacks to boot a guest (empty when it can)."""
    missing = [t for t in ("qemu-system-x86_64", "cpio", "depmod", "busybox") if shutil.which(t) is None]
    missing += [p for p in BASE_PROGRAMS if not os.path.exists(p)]
    try:
        kernel_version()
    except RuntimeError:
        missing.append("linux-image-amd64")
    if os.geteuid() != 0:
        missing.append("root (to read the kernel image and build the initramfs as root-owned files)")
    return missing


class VmResult:
    def __init__(self, rc, output, console, elapsed, timed_out):
        self.rc = rc              # the script's exit status, or None when no marker came
        self.output = output      # what the script printed (between the begin and result markers)
        self.console = console    # the whole console, for failure messages
        self.elapsed = elapsed    # seconds from qemu start to exit
        self.timed_out = timed_out

    def __repr__(self):
        return f"VmResult(rc={self.rc}, elapsed={self.elapsed:.1f}s, timed_out={self.timed_out})"


class Initramfs:
    """A staging tree laid out like Debian 12 (merged /usr), packed into a newc cpio archive."""

    def __init__(self, root):
        self.root = root
        # The archive's "." becomes the guest's "/": a TemporaryDirectory is 0700, which would lock out every
        # user but root (vigild drops to nobody and must still reach /proc/self/status).
        os.chmod(root, 0o755)
        for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "proc", "sys", "dev", "run", "tmp", "etc",
                  "root", "var", "mnt"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        for link, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
            os.symlink(target, os.path.join(root, link))
        os.symlink("/run", os.path.join(root, "var/run"))

    def _at(self, guest_path):
        return os.path.join(self.root, guest_path.lstrip("/"))

    # /init mounts fresh file systems here: a file staged below them would be hidden in the guest.
    MOUNTED = ("/proc/", "/sys/", "/dev/", "/run/", "/tmp/")

    def install(self, host_path, guest_path=None):
        """Copies host_path (its real file) into the guest at the same place, plus guest_path as a link to it.

        A file whose real path lies under a directory /init mounts over (a build tree in /tmp, say) is staged
        below /host instead, where the guest can see it."""
        real = os.path.realpath(host_path)
        if real.startswith(self.MOUNTED):
            real = "/host" + real
            staged = self._at(real)
            if not os.path.exists(staged):
                os.makedirs(os.path.dirname(staged), exist_ok=True)
                shutil.copy2(os.path.realpath(host_path), staged)
            host_path = guest_path or host_path
        dest = self._at(real)
        if not os.path.exists(dest):
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(real, dest)
        for alias in {host_path, guest_path or host_path}:
            at = self._at(alias)
            if os.path.realpath(at) != os.path.realpath(dest) and not os.path.lexists(at):
                os.makedirs(os.path.dirname(at), exist_ok=True)
                os.symlink(real, at)

    def install_program(self, host_path, guest_path=None):
        """A program and every shared library ldd lists for it."""
        self.install(host_path, guest_path)
        out = subprocess.run(["ldd", host_path], capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.search(r"(/\S+)\s+\(0x", line)
            if m and os.path.exists(m.group(1)):
                self.install(m.group(1))

    def write(self, guest_path, content, mode=0o644):
        at = self._at(guest_path)
        os.makedirs(os.path.dirname(at), exist_ok=True)
        with open(at, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        os.chmod(at, mode)

    def install_busybox(self):
        self.install("/usr/bin/busybox" if os.path.exists("/usr/bin/busybox") else shutil.which("busybox"),
                     "/usr/bin/busybox")
        applets = subprocess.run(["busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
        for applet in applets:
            at = self._at("/usr/bin/" + applet)
            if not os.path.lexists(at) and not os.path.lexists(self._at("/usr/sbin/" + applet)):
                os.symlink("busybox", at)

    def install_kmod(self):
        self.install_program("/usr/bin/kmod")
        for tool in ("modprobe", "insmod", "rmmod", "lsmod", "depmod", "modinfo"):
            os.symlink("/usr/bin/kmod", self._at("/usr/sbin/" + tool))

    def install_modules(self, kver, modules):
        """The modules and their dependencies, indexed with depmod -b."""
        for name in modules:
            out = subprocess.run(["modprobe", "-S", kver, "--show-depends", name], capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"modprobe --show-depends {name}: {out.stderr.strip()}")
            for line in out.stdout.splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "insmod":
                    self.install(parts[1])
        base = f"/lib/modules/{kver}"
        for f in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
            if os.path.exists(os.path.join(base, f)):
                self.install(os.path.join(base, f))
        subprocess.run(["depmod", "-b", self.root, kver], check=True, capture_output=True)

    def pack(self, archive):
        with open(archive, "wb") as out:
            find = subprocess.Popen(["find", "."], cwd=self.root, stdout=subprocess.PIPE)
            subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=self.root, stdin=find.stdout, stdout=out,
                           check=True)
            find.stdout.close()
            find.wait()


INIT = """#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
mkdir -p /run/netns
echo 0 > /proc/sys/kernel/printk 2>/dev/null
ip link set lo up
for m in {modules}; do modprobe "$m" || echo "vmlab: modprobe $m failed"; done
cd /root
echo {begin}
sh /test.sh
rc=$?
echo "{marker} rc=$rc"
sync
poweroff -f
"""


def build_initramfs(archive, script, programs=(), files=None, modules=None, kver=None, load=None):
    """Writes a cpio archive at `archive` with the base tools, `programs`, `files` and `modules`; /init loads
    `load` (all of `modules` when None) before the script."""
    kver = kver or kernel_version()
    modules = DEFAULT_MODULES if modules is None else modules
    load = modules if load is None else load
    with tempfile.TemporaryDirectory(prefix="vigil-vm-root-") as root:
        fs = Initramfs(root)
        fs.install_program("/usr/bin/ip")
        fs.install_program("/usr/sbin/ipvsadm")
        fs.install_kmod()
        for p in programs:
            fs.install_program(p, "/usr/bin/" + os.path.basename(p))
        fs.install_busybox()
        fs.install_modules(kver, modules)
        for guest_path, content in (files or {}).items():
            if isinstance(content, str) and os.path.isabs(content) and os.path.exists(content):
                fs.install_program(content, guest_path) if os.access(content, os.X_OK) else fs.install(content, guest_path)
            else:
                fs.write(guest_path, content, 0o755 if guest_path.endswith(".sh") else 0o644)
        fs.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        fs.write("/etc/group", "root:x:0:\nnogroup:x:65534:\n")
        fs.write("/test.sh", script, 0o755)
        fs.write("/init", INIT.format(modules=" ".join(load), begin=BEGIN, marker=MARKER), 0o755)
        fs.pack(archive)


def boot(script, programs=(), files=None, modules=None, timeout=300, memory=1024, smp=2, kver=None, attempts=2,
         load=None):
    """Boots a guest that runs `script` (sh) and returns a VmResult.

    programs: host executables installed in /usr/bin with their libraries; files: guest path -> text/bytes, or an
    absolute host path to copy; modules: kernel modules in the guest (DEFAULT_MODULES when None); load: those
    loaded before the script (all of them when None; the script can modprobe the others).
    A guest whose kernel panics before the script starts (under a heavily loaded host TCG can fail the kernel's
    early timer checks), or that has not started the script after BOOT_TIMEOUT seconds (a boot that hangs
    silently, seen about once in 30 boots here), is booted again, up to `attempts` times in all."""
    kver = kver or kernel_version()
    with tempfile.TemporaryDirectory(prefix="vigil-vm-") as work:
        archive = os.path.join(work, "initrd.cpio")
        build_initramfs(archive, script, programs, files, modules, kver, load)
        for attempt in range(attempts):
            result = _run_qemu(archive, kver, timeout, memory, smp)
            if BEGIN in result.console or ("Kernel panic" not in result.console and not result.timed_out):
                break
        return result


# A guest boots in about 5 s (15 s on a loaded host); one that has not reached the script after this is stuck.
BOOT_TIMEOUT = 120


def _run_qemu(archive, kver, timeout, memory, smp):
    # no_timer_check: the kernel's check that the IO-APIC timer ticks fails when emulation runs slowly.
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(memory), "-smp", str(smp), "-nographic",
           "-no-reboot", "-nic", "none", "-kernel", f"/boot/vmlinuz-{kver}", "-initrd", archive,
           "-append", "console=ttyS0 quiet loglevel=3 panic=-1 no_timer_check rdinit=/init"]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    chunks = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read1(65536), b"")),
                              daemon=True)
    reader.start()
    timed_out = False
    begin = BEGIN.encode()
    while proc.poll() is None:
        now = time.monotonic() - start
        if now > timeout or (now > min(BOOT_TIMEOUT, timeout) and begin not in b"".join(chunks)):
            timed_out = True
            proc.kill()  # our own qemu, by its Popen handle
            break
        time.sleep(0.2)
    proc.wait()
    reader.join(10)
    raw = b"".join(chunks)
    elapsed = time.monotonic() - start
    console = raw.decode(errors="replace").replace("\r\n", "\n").replace("\r", "")
    rc = None
    m = re.search(MARKER + r" rc=(\d+)", console)
    if m:
        rc = int(m.group(1))
    output = console
    if BEGIN + "\n" in console:
        output = console.split(BEGIN + "\n", 1)[1]
    if m:
        output = output.split(m.group(0), 1)[0]
    return VmResult(rc, output, console, elapsed, timed_out)
