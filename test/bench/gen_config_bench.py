#!/usr/bin/env python3
"""Writes the configuration benchmark's input: VS virtual servers x RS real servers, each with a TCP_CHECK.

usage: gen_config_bench.py OUT [VS] [RS]   (default 1000 x 20, about 126,000 lines)
"""
import sys


def main() -> None:
    out = sys.argv[1]
    n_vs = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    n_rs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    lines = ["global_defs {", "    router_id bench", "}"]
    for v in range(n_vs):
        lines += [
            f"virtual_server 10.{v // 250}.{v % 250}.1 80 {{",
            "    delay_loop 6",
            "    lb_algo wrr",
            "    lb_kind NAT",
            "    protocol TCP",
        ]
        for r in range(n_rs):
            lines += [
                f"    real_server 172.{16 + v // 250}.{v % 250}.{r + 1} 8080 {{",
                "        weight 1",
                "        TCP_CHECK {",
                "            connect_timeout 3",
                "        }",
                "    }",
            ]
        lines.append("}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
