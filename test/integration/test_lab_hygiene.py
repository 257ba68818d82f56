#!/usr/bin/env python3
"""The test labs clean up after a runner that dies (lab.py): a SIGTERMed runner removes its namespaces itself;
a SIGKILLed one (a CTest timeout) leaves them, with the daemons inside still running, and the next Lab removes
them; a lab whose runner lives is never touched.

Each case starts a runner: a unittest program whose first test builds a lab with one namespace and a `sleep`
inside it, prints the namespace's name and the sleep's PID, and waits (its second test only prints).
"""

import os
import signal
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import lab  # noqa: E402
from lab import Lab, wait_until  # noqa: E402

RUNNER = f"""
import sys, time, unittest
sys.path.insert(0, {HERE!r})
from lab import Lab

class Runner(unittest.TestCase):
    def test_1_holds_a_lab(self):
        lab = Lab("vh")
        self.addCleanup(lab.close)
        ns = lab.netns("a")
        p = ns.spawn(["sleep", "600"])
        print(ns.name, p.pid, flush=True)
        time.sleep(600)

    def test_2_after(self):
        print("the next test ran", flush=True)

unittest.main(argv=["runner"])
"""


def namespaces():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines()
    return {line.split()[0] for line in out if line.strip()}


def netns_pids(name):
    return subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()


@unittest.skipUnless(os.geteuid() == 0, "needs root (network namespaces)")
class LabHygiene(unittest.TestCase):
    def setUp(self):
        self.runner = subprocess.Popen([sys.executable, "-c", RUNNER], stdout=subprocess.PIPE, text=True)
        line = self.runner.stdout.readline().split()
        self.assertEqual(len(line), 2, "the runner did not start its lab")
        self.ns, self.sleep_pid = line[0], int(line[1])
        self.assertIn(self.ns, namespaces())

    def tearDown(self):
        # Whatever a failed case left: the runner, by PID, then its namespace.
        if self.runner.poll() is None:
            self.runner.kill()
        self.runner.wait()
        self.runner.stdout.close()
        if self.ns in namespaces():
            lab._remove_netns(self.ns)

    def test_a_sigtermed_runner_removes_its_namespaces_and_ends(self):
        self.runner.send_signal(signal.SIGTERM)
        self.assertEqual(self.runner.wait(30), -signal.SIGTERM, "the runner dies of the signal")
        self.assertNotIn(self.ns, namespaces())
        self.assertEqual(self.runner.stdout.read(), "", "no test ran after the SIGTERM")

    def test_a_sigkilled_runners_namespaces_go_with_the_next_lab(self):
        inside = netns_pids(self.ns)
        self.runner.kill()
        self.runner.wait()
        # What a CTest timeout leaves: the namespace, and the process in it still running.
        self.assertIn(self.ns, namespaces())
        self.assertEqual(netns_pids(self.ns), inside)
        with Lab("vh"):
            self.assertNotIn(self.ns, namespaces())
        wait_until(lambda: not os.path.exists(f"/proc/{self.sleep_pid}"), 10, what="the sleep in it to end")

    def test_a_live_runners_lab_is_left_alone(self):
        with Lab("vh"):
            self.assertIn(self.ns, namespaces())
            self.assertTrue(netns_pids(self.ns))
        self.assertIsNone(self.runner.poll())


if __name__ == "__main__":
    unittest.main(verbosity=2)
