"""What /proc says of a process's CPU and memory, for the benchmarks (not tests)."""

import os
import re


def cpu_seconds(pid):
    """(utime+stime from /proc/PID/stat, run time from /proc/PID/schedstat), both in seconds. The first
    counts 10 ms ticks; the second is the scheduler's nanosecond account."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    with open(f"/proc/{pid}/schedstat") as f:
        run_ns = int(f.read().split()[0])
    return ticks / os.sysconf("SC_CLK_TCK"), run_ns / 1e9


def memory_kib(pid):
    """(VmRSS, Pss, Private_Clean + Private_Dirty) in KiB. Pss counts each page shared with n processes as 1/n:
    summed over a daemon's processes it is what the daemon costs, whether its children share pages with the
    parent by fork (keepalived) or by mapping the same libraries after exec (vigil), where summed RSS counts a
    shared page once per process that maps it."""
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))
    with open(f"/proc/{pid}/smaps_rollup") as f:
        text = f.read()
    pss = int(re.search(r"^Pss:\s+(\d+)", text, re.M).group(1))
    private = sum(int(m) for m in re.findall(r"^Private_(?:Clean|Dirty):\s+(\d+)", text, re.M))
    return rss, pss, private
