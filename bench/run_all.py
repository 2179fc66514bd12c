"""Run every ``bench/bench_*.py`` (each in its own process) and print one combined table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import RESULTS, print_table  # noqa: E402


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"running {script.name} ...", flush=True)
        r = subprocess.run([sys.executable, str(script)], cwd=HERE.parent)
        if r.returncode != 0:
            failed.append(script.name)
    print("\n==================== summary ====================")
    for path in sorted(RESULTS.glob("*.json")):
        print_table(path.stem, json.loads(path.read_text()))
    if failed:
        print(f"\nbenchmarks that crashed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
