"""Write the latest ``bench/results/*.json`` as a Markdown table (for docs/benchmarks.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def main() -> int:
    out = ["| benchmark | metric | value | unit | baseline (same run) | ratio | target | met |",
           "|---|---|---|---|---|---|---|---|"]
    for path in sorted(RESULTS.glob("*.json")):
        for r in json.loads(path.read_text()):
            out.append(f"| {path.stem} | {r['metric']} | {fmt(r['value'])} | {r['unit']} | {fmt(r['baseline'])} | "
                       f"{fmt(r['ratio'])} | {r['target']} | {'yes' if r['met'] else '**no**'} |")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
