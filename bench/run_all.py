"""Run every ``bench/bench_*.py`` (each in its own process) and print one combined table.

``--pi-class 4|5`` (``make bench PI_CLASS=4``) first calibrates a CPU-throttled control group to a
Raspberry Pi's per-core speed (bench/piclass.py), then runs the UI (start-up included) and
circulation benchmarks inside it -- kiosk and baseline under the same quota -- and writes their
results to ``bench/results/pi4/`` (or ``pi5/``) beside the unthrottled ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import PI_CORE2_ENV, PI_GROUP_ENV, RESULTS, print_table, results_dir  # noqa: E402

PI_CLASS_BENCHES = ("bench_ui.py", "bench_circulation.py")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/run_all.py")
    ap.add_argument("--pi-class", choices=("4", "5"), help="run under a Raspberry Pi 4/5 CPU budget")
    ap.add_argument("--slowdown", default=os.environ.get("PI_SLOWDOWN") or None,
                    help="override the Pi class's slowdown (default 3.5 for a Pi 4, 1.8 for a Pi 5)")
    ap.add_argument("only", nargs="*", help="benchmark scripts to run (default: all; with --pi-class: "
                    + ", ".join(PI_CLASS_BENCHES) + ")")
    args = ap.parse_args(argv)

    scripts = sorted(HERE.glob("bench_*.py"))
    group = None
    other_core = None
    if args.pi_class:
        from bench.piclass import PiClassError, PiClassGroup, slowdown_for
        try:
            group = PiClassGroup(slowdown_for(args.pi_class, args.slowdown))
            calibration = group.calibrate()
        except PiClassError as exc:
            print(f"Pi-class benchmarks cannot run here: {exc}", file=sys.stderr)
            return 1
        print(f"Pi {args.pi_class} class: {calibration.describe()}", flush=True)
        os.environ["KIOSK_BENCH_CPU_CLASS"] = f"pi{args.pi_class}"
        os.environ["KIOSK_BENCH_CALIBRATION"] = json.dumps(calibration.__dict__)
        scripts = [HERE / s for s in PI_CLASS_BENCHES]
        # Each benchmark puts its kiosk and baseline processes into the group (bench/common.py
        # join_pi_group): a demo library system answering the kiosk is another machine in a
        # library, and must not eat the Pi's budget.
        os.environ[PI_GROUP_ENV] = str(group.path / "cgroup.procs")
        # espeak-ng, which the kiosk starts to speak, runs on another of the Pi's cores, at its speed
        try:
            other_core = group.another_core()
            os.environ[PI_CORE2_ENV] = str(other_core.path / "cgroup.procs")
        except (PiClassError, OSError) as exc:      # then it shares the kiosk's core, as before
            print(f"espeak-ng stays in the kiosk's group: no second group ({exc})", file=sys.stderr)
    if args.only:
        scripts = [s for s in scripts if s.name in args.only or s.stem in args.only]

    failed = []
    try:
        for script in scripts:
            print(f"running {script.name} ...", flush=True)
            r = subprocess.run([sys.executable, str(script)], cwd=HERE.parent)
            if r.returncode != 0:
                failed.append(script.name)
    finally:
        if group is not None:
            group.close()
        if other_core is not None:
            other_core.close()
    print("\n==================== summary ====================")
    out = results_dir()
    for path in sorted(out.glob("*.json")):
        if path.parent == RESULTS or group is not None:
            print_table(path.stem, json.loads(path.read_text()))
    if failed:
        print(f"\nbenchmarks that crashed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
