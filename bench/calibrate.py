"""A fixed pure-Python workload: the yardstick of the Pi-class CPU budget (issue 19).

A Raspberry Pi 4 runs CPython about 3-4x slower per core than this x86 machine, a Pi 5 about
1.5-2x.  ``bench/piclass.py`` throttles a control group until this workload runs N times slower
inside it than outside, and every benchmark then runs inside that group, kiosk and baseline alike.

The workload is deliberately the kind of work the kiosk's main thread does: attribute lookups,
small dicts and strings, function calls, a little arithmetic.  It is single-threaded, so the
quota it calibrates is "one Pi core's worth" of this machine's CPU.

``python bench/calibrate.py`` prints the seconds the workload took (best of 3).
"""

from __future__ import annotations

import sys
import time

ROUNDS = 3


def workload(n: int = 120_000) -> int:
    """Deterministic mixed interpreter work; returns a checksum so nothing is optimised away."""
    acc = 0
    table: dict[str, int] = {}
    for i in range(n):
        key = f"item-{i % 257}"
        table[key] = table.get(key, 0) + (i & 7)
        acc = (acc * 31 + len(key) + table[key]) & 0xFFFFFFFF
        if i % 1000 == 0:
            acc ^= sum(sorted(table.values())[:16])
    return acc


def measure(rounds: int = ROUNDS) -> float:
    """Best-of-``rounds`` wall seconds of ``workload()`` (best-of damps a shared machine's noise)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        workload()
        best = min(best, time.perf_counter() - t0)
    return best


BURSTS = 40               # --bursts: this many short runs ...
BURST_N = 6_000           # ... of ~2 ms each (the kiosk's busiest frames are a few ms) ...
BURST_GAP_S = 0.025       # ... a frame interval apart (the kiosk sleeps between frames at 30-40 fps)


def measure_bursts() -> float:
    """Median thread CPU seconds of a short burst of ``workload`` after a frame's sleep.

    Inside the throttled group a thread's CPU time is itself larger than outside (the quota's
    stalls leave caches and TLBs cold), so CPU time measured there is not this machine's CPU time;
    bench/piclass.py compares this figure inside and outside to take that out of the kiosk's
    per-frame CPU (bench/bench_ui.py class_factor)."""
    spent = []
    for _ in range(BURSTS):
        time.sleep(BURST_GAP_S)
        c0 = time.thread_time()
        workload(BURST_N)
        spent.append(time.thread_time() - c0)
    return sorted(spent)[len(spent) // 2]


if __name__ == "__main__":
    print(f"{measure_bursts() if '--bursts' in sys.argv else measure():.6f}")
    sys.exit(0)
