"""packaging/vigil.service is hardened: systemd-analyze's exposure score is 2.5 or lower (keepalived's Debian
unit scores 9.6 UNSAFE), and the settings issue 3 names are there."""

import os
import re
import shutil
import subprocess
import unittest

from lab import VIGIL_SOURCE_DIR

UNIT = os.path.join(VIGIL_SOURCE_DIR, "packaging", "vigil.service")


def unit_settings():
    settings = {}
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", "[")):
                continue
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


class ServiceUnitTest(unittest.TestCase):
    def test_exposure_score_is_at_most_2_5(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not installed")
        r = subprocess.run(["systemd-analyze", "security", "--offline=true", UNIT], capture_output=True, text=True,
                           timeout=120)
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout + r.stderr)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        score = float(m.group(1))
        print(f"exposure score of packaging/vigil.service: {score}")
        self.assertLessEqual(score, 2.5)

    def test_unit_has_the_settings_the_process_model_relies_on(self):
        s = unit_settings()
        self.assertEqual(s["Type"], ["notify"])
        self.assertEqual(s["User"], ["vigil"])
        self.assertEqual(s["ExecReload"], ["/bin/kill -HUP $MAINPID"])
        self.assertEqual(set(s["AmbientCapabilities"][0].split()), {"CAP_NET_ADMIN", "CAP_NET_RAW"})
        self.assertEqual(set(s["CapabilityBoundingSet"][0].split()), {"CAP_NET_ADMIN", "CAP_NET_RAW"})
        self.assertEqual(s["NoNewPrivileges"], ["yes"])
        self.assertEqual(s["ProtectSystem"], ["strict"])
        self.assertEqual(s["RuntimeDirectory"], ["vigil"])
        self.assertEqual(set(s["RestrictAddressFamilies"][0].split()),
                         {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"})
        self.assertIn("SystemCallFilter", s)
        # vigild's defaults match the unit's runtime folder.
        self.assertIn("/run/vigil/vigil.sock", s["ExecStart"][0])

    def test_sysusers_and_tmpfiles_create_what_the_unit_names(self):
        with open(os.path.join(VIGIL_SOURCE_DIR, "packaging", "vigil.sysusers")) as f:
            self.assertRegex(f.read(), r"(?m)^u vigil ")
        with open(os.path.join(VIGIL_SOURCE_DIR, "packaging", "vigil.tmpfiles")) as f:
            self.assertRegex(f.read(), r"(?m)^d /run/vigil 0750 vigil vigil")


if __name__ == "__main__":
    unittest.main(verbosity=2)
