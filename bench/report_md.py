"""Write the latest ``bench/results/*.json`` as a Markdown table (for docs/benchmarks.md).

Pi-class runs (``bench/results/pi4/``, ``pi5/``: ``make bench PI_CLASS=4``) are shown beside the
unthrottled x86 figures of the same metric, each with its own same-run baseline, and the
calibration that says what "Pi 4 class" meant in that run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
CLASSES = ("pi4", "pi5")


def fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def verdict(r: dict) -> str:
    if r.get("met") is None:
        return "n/a (" + r.get("why", "not measured") + ")"
    return "yes" if r["met"] else "**no**"


def cell(r: dict | None) -> str:
    if r is None:
        return "| | | |"
    return f"| {fmt(r['value'])} {r['unit']} | {fmt(r['baseline'])} | {fmt(r['ratio'])} / {verdict(r)} "


def main() -> int:
    classes = [c for c in CLASSES if (RESULTS / c).is_dir()]
    head = "| benchmark | metric | target | x86 value | baseline | ratio / met "
    rule = "|---|---|---|---|---|---"
    for c in classes:
        head += f"| {c} value | {c} baseline | {c} ratio / met "
        rule += "|---|---|---"
    out = [head + "|", rule + "|"]
    for path in sorted(RESULTS.glob("*.json")):
        by_class = {c: {r["metric"]: r for r in json.loads(p.read_text())}
                    for c in classes if (p := RESULTS / c / path.name).exists()}
        for r in json.loads(path.read_text()):
            line = f"| {path.stem} | {r['metric']} | {r['target']} " + cell(r)
            for c in classes:
                line += cell(by_class.get(c, {}).get(r["metric"]))
            out.append(line + "|")
    notes = []
    for cls_dir, label in [(RESULTS, "x86"), *[(RESULTS / c, c) for c in classes]]:
        for p in sorted(cls_dir.glob("*.json")):
            notes += [f"* {label}, {r['metric']}: {r['note']}" for r in json.loads(p.read_text()) if r.get("note")]
    if notes:
        out.append("\nWhere drawing dominated a frame gap (bench_ui says so):\n")
        out += notes
    for c in classes:
        for p in sorted((RESULTS / c).glob("*.json")):
            rows = json.loads(p.read_text())
            if rows and "calibration" in rows[0]:
                cal = rows[0]["calibration"]
                out.append(f"\n{c} ({p.stem}): workload {cal['reached']:.2f}x slower than unthrottled "
                           f"(asked {cal['asked']:g}x), CFS quota {cal['quota_us']}/{cal['period_us']} us.")
                break
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
