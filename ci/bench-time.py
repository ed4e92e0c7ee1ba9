#!/usr/bin/env python3
"""Times a baseline command and a promready command side by side and prints
one benchmark row: median wall times and their ratio.

usage: bench-time.py RUNS LABEL TARGET BASELINE PROMREADY

Runs alternate (baseline, promready, baseline, ...) after one warm-up run of
each, so that drift on the machine affects both alike. A command holding a
`|` runs under `sh -c`; any other is run directly, so that no shell start-up
is counted.
"""
import shlex
import statistics
import subprocess
import sys
import time


def argv(cmd):
    return ["sh", "-c", cmd] if "|" in cmd or ">" in cmd else shlex.split(cmd)


def once(cmd):
    start = time.perf_counter()
    subprocess.run(argv(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


runs, label, target, base, ours = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
once(base)
once(ours)
times = {base: [], ours: []}
for _ in range(runs):
    for cmd in (base, ours):
        times[cmd].append(once(cmd))
b, o = statistics.median(times[base]), statistics.median(times[ours])
print(f"{label:<34} {b:8.3f}s {o:8.3f}s {o / b:7.2f}x  (target <= {target})")
