#!/usr/bin/env python3
"""Run a command and report how much of the machine's CPU other work took meanwhile.

    python3 bench/cpu_share.py OUT.jsonl CMD [ARGS...]

The command's output passes through. Appends {"others_pct": P, "wall_s": W} to OUT.jsonl, where
P is the share of all cores' time, during the run, that was busy but not spent by the command
(its CPU time comes from its rusage). On a small shared machine this says whether a figure was
disturbed.
"""
import json
import os
import resource
import subprocess
import sys
import time


def busy_and_total():
    f = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    total = sum(f)
    return total - f[3] - f[4], total


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    tick = os.sysconf("SC_CLK_TCK")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, t0 = busy_and_total()
    start = time.perf_counter()
    code = subprocess.call(cmd)
    wall = time.perf_counter() - start
    b1, t1 = busy_and_total()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    others = max(0.0, (b1 - b0) / tick - own)
    with open(out, "a") as f:
        f.write(json.dumps({"others_pct": round(100 * others / max((t1 - t0) / tick, 1e-9), 1), "wall_s": wall}) + "\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
