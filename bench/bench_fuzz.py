"""The long fuzz run (issue 13, item 9): over a million damaged inputs, every parser raising only its own error.

Targets and their one allowed error (tests/fuzz_targets.py, shared with the bounded suite in
``make test``):

* SIP2 decode (both with and without checksum verification)    -> ProtocolError
* tag decode (every DSFID the readers report)                    -> TagDecodeError
* tag encode (random ids, ISILs, part numbers)                   -> TagDecodeError
* config loader (file bytes) and ``--set`` overrides             -> ConfigError
* scanner input (ScanFilter) and keyboard-wedge events           -> nothing at all

Inputs come from a seeded mutator over the public test vectors and the shipped config (flips,
cuts, NUL/CR, non-ASCII digits, deep brackets, huge numbers), so a run is reproducible:
``python bench/bench_fuzz.py [--total N] [--seed S]``.

Reported per target: inputs, inputs per second, and as baseline the rate of generating the same
inputs without parsing them (measured in the same run), so the ratio is the parser's own cost.
Target: >= 10**6 inputs in all and 0 unexpected exceptions.  Any input that raised anything else
is written (hex) to bench/results/fuzz_failures.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import RESULTS, record, write_results  # noqa: E402
from tests import fuzz_targets as ft  # noqa: E402

# share of the total per target (the slow config loader gets fewer, cheap parsers more)
SHARES = {"sip2_decode": 0.34, "tag_decode": 0.30, "tag_encode": 0.08, "config_file": 0.03,
          "config_overrides": 0.02, "scanner": 0.18, "keyboard_wedge": 0.05}


def _generators(rng: random.Random) -> dict[str, Callable[[], tuple]]:
    sip2, tags = ft.sip2_seeds(), ft.tag_seeds()
    # config: the small per-section files mostly (the full example file now and then)
    configs = ft.config_seeds()
    small = [c for c in configs if len(c) < 4000] or list(configs)
    models = ("28560-3", "28560-2", "3m")
    digits = "0123456789²٣５"
    keys = ("ils.port", "ils.timeout_s", "ils.password", "kiosk.languages", "staff.card_hashes", "hours.mon",
            "offline.default_loan_days", "gpio.lock_pin", "x.y", "kiosk")
    values = ("nan", "inf", "-1", "0", "70000", "[1, 2]", "[[[[]]]]", "\"a\\u0000\"", "1e999", "²", "", "\"x\"")
    key_names = ("KEY_A", "KEY_1", "KEY_LEFTSHIFT", "KEY_LEFTCTRL", "KEY_ENTER", "KEY_F13", None, 7, ["KEY_B"])

    def text(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))

    return {
        "sip2_decode": lambda: (ft.mutate(rng, rng.choice(sip2)), rng.choice(ft.CHARSETS)),
        "tag_decode": lambda: (ft.mutate(rng, rng.choice(tags)), rng.choice((None, 0x06, 0x3E))),
        "tag_encode": lambda: (rng.choice(models), text(digits + "AZaz -", 20), text("DEK-0123456789²:/é", 14),
                               rng.randint(-2, 300), rng.randint(-2, 300)),
        "config_file": lambda: (ft.mutate(rng, rng.choice(configs) if rng.random() < 0.02 else rng.choice(small)),),
        "config_overrides": lambda: ([f"{rng.choice(keys)}={rng.choice(values)}" for _ in range(rng.randint(1, 3))],),
        "scanner": lambda: (ft.mutate(rng, rng.choice(ft.SCAN_SEEDS).encode()).decode("latin-1"),
                            rng.choice(ft.PATTERNS)),
        "keyboard_wedge": lambda: ([(rng.choice(key_names), rng.choice((0, 1, 2, -1, None)))
                                    for _ in range(rng.randint(1, 20))],),
    }


CHECKS: dict[str, Callable[..., None]] = {
    "sip2_decode": ft.check_sip2, "tag_decode": ft.check_tag_decode, "tag_encode": ft.check_tag_encode,
    "config_file": ft.check_config, "config_overrides": ft.check_config_overrides,
    "scanner": ft.check_scanner, "keyboard_wedge": ft.check_keys,
}


def run(total: int, seed: int) -> tuple[list[dict], list[dict]]:
    records, failures = [], []
    grand, grand_s = 0, 0.0
    for name, share in SHARES.items():
        n = max(1, int(total * share))
        # baseline: the same inputs generated (same seed) but not parsed
        gen = _generators(random.Random(seed))[name]
        t0 = time.perf_counter()
        for _ in range(n):
            gen()
        gen_s = time.perf_counter() - t0
        gen = _generators(random.Random(seed))[name]
        check = CHECKS[name]
        bad = 0
        t0 = time.perf_counter()
        for _ in range(n):
            args = gen()
            try:
                check(*args)
            except Exception as exc:  # the finding: an error the parser does not document
                bad += 1
                if len(failures) < 50:
                    failures.append({"target": name, "input": repr(args)[:2000],
                                     "error": f"{type(exc).__name__}: {exc}"[:500],
                                     "where": traceback.format_exc(limit=3)[-1500:]})
        run_s = time.perf_counter() - t0
        grand += n
        grand_s += run_s
        print(f"{name:<18} {n:>9} inputs  {n / run_s:>10.0f}/s  unexpected: {bad}", flush=True)
        records.append(record(f"fuzz {name} inputs/s", n / run_s, "1/s", n / gen_s,
                              "0 unexpected errors", bad == 0))
        records.append(record(f"fuzz {name} unexpected errors", bad, "count", None, "0", bad == 0))
    records.insert(0, record("fuzz inputs in all", grand, "count", None, ">= 1000000", grand >= 1_000_000))
    records.insert(1, record("fuzz inputs/s in all", grand / grand_s, "1/s", None, "report", True))
    return records, failures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--total", type=int, default=1_050_000, help="inputs in all (default 1,050,000)")
    p.add_argument("--seed", type=int, default=13)
    args = p.parse_args()
    records, failures = run(args.total, args.seed)
    write_results("fuzz", records)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz_failures.json").write_text(json.dumps(failures, indent=1, ensure_ascii=False) + "\n")
    if failures:
        print(f"\n{len(failures)} unexpected errors (first ones in bench/results/fuzz_failures.json)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
