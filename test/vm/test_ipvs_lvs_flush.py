"""vm: lvs_flush and lvs_flush_onstop with vigild on real IPVS (issue 5 item 3: "flushes only when lvs_flush is
set"; a restarted checker "rewrites nothing that is already right").

One guest. A service vigil does not own (10.9.9.9:80, added with ipvsadm) is in the table when vigild starts
with `lvs_flush`: the first sync flushes it away and programs vigil's service. The foreign service is added
again, vigil-checker is killed and vigild restarts it: a restarted checker must not flush, so the foreign service
survives. Then vigild stops with `lvs_flush_onstop`, which (as in keepalived) flushes the whole table. A second
run with `lvs_flush_onstop VS` removes only vigil's service at stop; a third, without either keyword, shows the
opposite (nothing flushed at start, everything kept at stop), so each assertion is tied to the keyword and not
to an accident of the order.
"""

import unittest

import vmlab
from test_ipvs_probe import parse_ipvsadm, steps

FOREIGN = "TCP 10.9.9.9:80"
OURS = "TCP 10.0.0.100:80"


FLAGS = {"flush": "    lvs_flush\n    lvs_flush_onstop\n", "vs": "    lvs_flush_onstop VS\n", "keep": ""}


def config(run):
    flags = FLAGS[run]
    # Real servers without checkers are always up: the table does not wait for checks.
    return f"""global_defs {{
    router_id director
{flags}}}

virtual_server 10.0.0.100 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.1.11 80 {{
        weight 1
    }}
    real_server 10.0.1.12 80 {{
        weight 2
    }}
}}
"""


SCRIPT = vmlab.SHELL_HELPERS + r"""
abort() { echo "== abort"; echo "ABORT $1"; echo "== log"; cat /tmp/vigild.log; exit 1; }
exec 2>>/tmp/stderr.log
has_service() { ipvsadm -Ln | grep -q "^TCP  $1 "; }
checker_pid() {
    for d in /proc/[0-9]*; do
        [ "$(cat "$d/comm" 2>/dev/null)" = vigil-checker ] &&
            [ "$(cut -d' ' -f3 "$d/stat" 2>/dev/null)" != Z ] && echo "${d#/proc/}"
    done
}
restarted() { p=$(checker_pid); [ -n "$p" ] && [ "$p" != "$1" ]; }
syncs() { grep -c "IPVS: table in step" /tmp/vigild.log; }
synced_since() { [ "$(syncs)" -gt "$1" ]; }
foreign() { ipvsadm -A -t 10.9.9.9:80 -s rr && ipvsadm -a -t 10.9.9.9:80 -r 10.0.9.1:80 -m -w 1; }
mkdir -p /run/vigil

for run in @RUNS@; do
    rm -f /tmp/vigild.log
    ipvsadm -C
    foreign
    step "${run}_start"
    vigild -f "/etc/vigil/$run.conf" -l -D -p /run/vigil/vigild.pid --control-socket /run/vigil/vigil.sock \
        >/tmp/vigild.log 2>&1 &
    waitfor 60 has_service 10.0.0.100:80 || abort "vigild did not program its service ($run)"
    sleep 1
    step "${run}_table_start"; ipvsadm -Ln
    step "${run}_kill"
    foreign 2>/dev/null
    old=$(checker_pid); before=$(syncs)
    kill -KILL "$old"
    waitfor 60 restarted "$old" || abort "vigil-checker not restarted ($run)"
    waitfor 60 synced_since "$before" || abort "no sync after the restart ($run)"
    sleep 1
    step "${run}_table_restarted"; ipvsadm -Ln
    step "${run}_stop"
    kill -TERM "$(cat /run/vigil/vigild.pid)"
    waitfor 30 sh -c "! pidof vigild" || abort "vigild did not stop ($run)"
    step "${run}_table_stopped"; ipvsadm -Ln
    step "${run}_log"; cat /tmp/vigild.log
done
step end
""".replace("@RUNS@", " ".join(FLAGS))


@unittest.skipIf(vmlab.missing_tools(), f"vm tools missing: {vmlab.missing_tools()}")
class LvsFlushInVm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        programs = [vmlab.vigil_binary(b) for b in ("vigild", "vigil-checker", "vigil-vrrp", "vigilctl")]
        cls.result = vmlab.boot(SCRIPT, programs=programs,
                                files={**{f"/etc/vigil/{run}.conf": config(run) for run in FLAGS},
                                       "/etc/nsswitch.conf": "passwd: files\ngroup: files\n"},
                                timeout=300)
        cls.steps = steps(cls.result.output)

    def table(self, step):
        self.assertIn(step, self.steps, self.result.console[-6000:])
        return parse_ipvsadm(self.steps[step])

    def test_the_guest_ran_the_whole_story(self):
        self.assertNotIn("abort", self.steps, self.result.output[-6000:])
        self.assertIn("end", self.steps, self.result.console[-6000:])

    def test_lvs_flush_clears_what_vigil_does_not_own_at_start(self):
        start = self.table("flush_table_start")
        self.assertNotIn(FOREIGN, start, f"lvs_flush left the foreign service:\n{self.steps['flush_table_start']}")
        self.assertEqual(start[OURS][2], {"10.0.1.11:80": ("Masq", 1), "10.0.1.12:80": ("Masq", 2)})
        self.assertIn("lvs_flush: flushing", self.steps["flush_log"])

    def test_without_lvs_flush_a_foreign_service_is_left_alone(self):
        for run in ("vs", "keep"):
            start = self.table(f"{run}_table_start")
            self.assertIn(FOREIGN, start, self.steps[f"{run}_table_start"])
            self.assertIn(OURS, start)

    def test_a_restarted_checker_never_flushes(self):
        for run in FLAGS:
            table = self.table(f"{run}_table_restarted")
            self.assertIn(FOREIGN, table, f"{run}: the restarted checker flushed:\n{self.steps[f'{run}_table_restarted']}")
            self.assertIn(OURS, table)
        self.assertEqual(self.steps["flush_log"].count("lvs_flush: flushing"), 1, self.steps["flush_log"])

    def test_lvs_flush_onstop_flushes_the_whole_table(self):
        stopped = self.table("flush_table_stopped")
        self.assertEqual(stopped, {}, self.steps["flush_table_stopped"])
        self.assertIn("lvs_flush_onstop: the whole table flushed", self.steps["flush_log"])

    def test_lvs_flush_onstop_vs_removes_only_vigils_services(self):
        stopped = self.table("vs_table_stopped")
        self.assertNotIn(OURS, stopped, self.steps["vs_table_stopped"])
        self.assertIn(FOREIGN, stopped, self.steps["vs_table_stopped"])
        self.assertIn("lvs_flush_onstop VS: 1 service(s) removed", self.steps["vs_log"])

    def test_without_lvs_flush_onstop_an_orderly_stop_keeps_the_table(self):
        stopped = self.table("keep_table_stopped")
        self.assertIn(OURS, stopped, self.steps["keep_table_stopped"])
        self.assertIn(FOREIGN, stopped)


if __name__ == "__main__":
    unittest.main(verbosity=2)
