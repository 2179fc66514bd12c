"""Shared helpers for benchmarks: every result is a metric beside a baseline measured in the same run."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def record(metric: str, value: float, unit: str, baseline: float | None, target: str,
           met: bool) -> dict:
    """One result row.  ``ratio`` is value / baseline (None without a baseline)."""
    ratio = (value / baseline) if baseline else None
    return {"metric": metric, "value": round(value, 6), "unit": unit,
            "baseline": None if baseline is None else round(baseline, 6),
            "ratio": None if ratio is None else round(ratio, 4), "target": target, "met": bool(met)}


def write_results(name: str, records: list[dict]) -> Path:
    """Write ``bench/results/NAME.json`` and print a small table."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(records, indent=2) + "\n")
    print_table(name, records)
    return path


def print_table(name: str, records: list[dict]) -> None:
    print(f"\n== {name}")
    print(f"{'metric':<44} {'value':>12} {'unit':<6} {'baseline':>12} {'ratio':>8}  {'target':<18} met")
    for r in records:
        base = "" if r["baseline"] is None else f"{r['baseline']:.4g}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.3f}"
        print(f"{r['metric']:<44} {r['value']:>12.4g} {r['unit']:<6} {base:>12} {ratio:>8}  "
              f"{r['target']:<18} {'yes' if r['met'] else 'NO'}")


def timed(fn: Callable[[], object], repeat: int = 1) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn``."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation."""
    if len(values) == 1:
        return values[0]
    q = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return q[max(0, min(98, int(round(p)) - 1))]
