"""vm: IPVS absent at start, then loaded: vigil's backend reports "unavailable" with the kernel's reason, keeps
retrying without exiting, and programs the table once the ip_vs module appears.

The guest boots with the ip_vs modules in place but only their dependencies loaded, then points the kernel's
module autoloader at /bin/false, so that asking for the IPVS family does not load ip_vs (the guest then answers
as a kernel without IPVS, like the build machine's); three seconds into the test the script loads ip_vs.
"""

import re
import unittest

import vmlab
from test_ipvs_probe import expected_table, parse_ipvsadm, steps

SPEC = """\
service tcp 10.0.0.1 80 rr
dest 10.0.1.1 80 masq 1
dest 10.0.1.2 80 masq 2
"""

SCRIPT = """
step() { echo "== $1"; }
exec 2>>/tmp/stderr.log
echo /bin/false > /proc/sys/kernel/modprobe
step status; vigil-ipvs-probe status; echo "exit=$?"
(sleep 3; modprobe ip_vs; modprobe ip_vs_rr) &
step wait; vigil-ipvs-probe wait-available /etc/spec 60; echo "exit=$?"
step table; ipvsadm -Ln
step stderr; cat /tmp/stderr.log
step end
"""


@unittest.skipIf(vmlab.missing_tools(), f"vm tools missing: {vmlab.missing_tools()}")
class IpvsAppearsLater(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.result = vmlab.boot(SCRIPT, programs=[vmlab.vigil_binary("vigil-ipvs-probe")],
                                files={"/etc/spec": SPEC}, load=["nf_conntrack"], timeout=300)
        cls.steps = steps(cls.result.output)

    def step(self, name):
        self.assertEqual(self.result.rc, 0, self.result.console[-3000:])
        self.assertIn(name, self.steps, self.result.output)
        return self.steps[name]

    def test_status_names_the_kernels_reason(self):
        out = self.step("status")
        self.assertIn("unavailable: generic netlink family IPVS not found: No such file or directory", out)
        self.assertIn("exit=1", out)

    def test_keeper_retries_until_ipvs_appears_then_programs_the_table(self):
        out = self.step("wait")
        attempts = re.findall(r"attempt=(\d+) ok=(\d) ops=(\d+) available=(\d)", out)
        self.assertGreaterEqual(len(attempts), 2, out)
        # Unavailable first, then one successful sync that adds the service and its two destinations.
        self.assertEqual(attempts[0][1:], ("0", "0", "0"), out)
        self.assertEqual(attempts[-1][1:], ("1", "3", "1"), out)
        self.assertTrue(all(a[1] == "0" for a in attempts[:-1]), out)
        self.assertIn("exit=0", out)
        self.assertEqual(parse_ipvsadm(self.step("table")), expected_table(SPEC))


if __name__ == "__main__":
    unittest.main(verbosity=2)
