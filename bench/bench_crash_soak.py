"""Crash soak: the CI crash test (tests/test_crash_circulation.py) at a larger scale.

A kiosk process works stacks of checkouts and returns against the demo library system and is
killed with SIGKILL at random instants ``KIOSK_SOAK_KILLS`` times (default 200), sometimes while
the library system is away; after the final sync every acknowledged transaction must have
happened exactly once.  Metric: problems found (target 0).  Baseline: none is meaningful for a
correctness soak, so the record carries the kills survived as its baseline for context.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, write_results  # noqa: E402
from tests.test_crash_harness import run_crash_batch  # noqa: E402


def main() -> list[dict]:
    kills = int(os.environ.get("KIOSK_SOAK_KILLS", "200"))
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        result = run_crash_batch(Path(d), kills=kills, seed=int(time.time()), rounds=12,
                                 log=lambda s: print(s, flush=True))
        elapsed = time.perf_counter() - t0
    for p in result["problems"][:20]:
        print("PROBLEM:", p)
    records = [
        record("crash_soak_problems", len(result["problems"]), "count", float(result["kills"]),
               "0 (every acked txn exactly once)", not result["problems"] and result["pending"] == 0),
        record("crash_soak_acked_transactions", result["acked"], "count", float(result["attempted_ops"]),
               "informational", True),
        record("crash_soak_duration", elapsed, "s", None, "informational", True),
    ]
    write_results("crash_soak", records)
    return records


if __name__ == "__main__":
    main()
