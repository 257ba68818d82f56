#!/usr/bin/env python3
"""The link order files took effect and are not stale (CMakeLists.txt, vigil_order_symbols).

vigild and vigil-vrrp are linked by lld with parent/vigild.order and vrrp_child/vigil-vrrp.order, which list the
functions each runs, most called first (test/bench/order_files.py writes them). What this checks in the built
executables, with nm:
  - most of the listed functions still exist: a file written before a large change names functions that are
    gone, and the process's code is spread out again (regenerate it: see order_files.py);
  - the functions vigil-vrrp runs on every wake-up of an idle master, the head of its list, lie together in
    a few pages, not one page each as in a link without the file.
Skipped for a build not linked by lld (no order files then: VIGIL_STATIC_CXX off, or lld missing).
"""

import os
import subprocess
import unittest

from lab import binary

TOP = os.environ.get("VIGIL_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ORDERS = {"vigild": os.path.join(TOP, "parent", "vigild.order"),
          "vigil-vrrp": os.path.join(TOP, "vrrp_child", "vigil-vrrp.order")}
HEAD = 30           # the most called functions of vigil-vrrp: an idle master's wake-up path
MIN_PRESENT = 0.85  # share of the listed functions that must still exist


def linked_by_lld(path):
    out = subprocess.run(["readelf", "-p", ".comment", path], capture_output=True, text=True).stdout
    return "LLD" in out


def text_symbols(path):
    """{name: (address, size)} of the defined functions of an executable."""
    out = subprocess.run(["nm", "-S", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    symbols = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW":
            symbols.setdefault(parts[3], (int(parts[0], 16), int(parts[1], 16)))
    return symbols


class CodeLayout(unittest.TestCase):
    def check(self, name, hot_path):
        path = binary(name)
        if not os.access(path, os.X_OK):
            self.skipTest(f"{path} is not built")
        if not linked_by_lld(path):
            self.skipTest(f"{name} is not linked by lld: built without its order file")
        with open(ORDERS[name]) as f:
            listed = [line.strip() for line in f if line.strip()]
        symbols = text_symbols(path)
        present = [s for s in listed if s in symbols]
        self.assertGreaterEqual(len(present), MIN_PRESENT * len(listed),
                                f"{ORDERS[name]}: only {len(present)} of its {len(listed)} functions exist in "
                                f"{name}; regenerate it (test/bench/order_files.py)")
        if not hot_path:
            return
        head = present[:HEAD]
        pages = set()
        for s in head:
            address, size = symbols[s]
            pages.update(range(address // 4096, (address + max(size, 1) - 1) // 4096 + 1))
        size = sum(symbols[s][1] for s in head)
        # Laid out one after the other, they fill about size / 4096 pages (plus what a whole input section
        # brings along when a function has none of its own); without the order file, about one page each.
        least = -(-size // 4096)
        self.assertLessEqual(len(pages), 2 * least + 2,
                             f"{name}: the {len(head)} most called functions ({size} bytes) are on {len(pages)} "
                             f"pages")

    def test_vigil_vrrp(self):
        self.check("vigil-vrrp", hot_path=True)

    def test_vigild(self):
        # vigild mostly waits: its most called functions are those of start-up (protobuf's descriptors, the
        # config parser), some of them in input sections without a section per function.
        self.check("vigild", hot_path=False)


if __name__ == "__main__":
    unittest.main(verbosity=2)
