"""What the integrity check before every offline acknowledgement costs (issue 13 item 3).

An offline return is acknowledged only after ``PRAGMA quick_check`` on a fresh read-only
connection found the journal sound.  Measured: the latency of one offline return made durable
(intent + queued outcome, both fsync'd commits, plus the check) on journals holding 1,000 and
20,000 settled rows (90 days of a busy kiosk is ~20,000).  Baseline, in the same run: the same
two commits without the check.  Also: the check alone at start (``integrity_problems``).
Target: the check adds at most 50 ms p50 at 20,000 rows on this machine (a Pi 4 is ~4x slower).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, record, write_results  # noqa: E402
from kiosk.appliance.durable import integrity_problems  # noqa: E402
from kiosk.circulation import journal as j  # noqa: E402
from kiosk.circulation.journal import Journal  # noqa: E402

SAMPLES = 40


def filled(path: Path, rows: int) -> None:
    with Journal(path) as jn, jn._tx() as db:
        now = time.time()
        db.executemany("INSERT INTO txn(kind, item_id, patron_id, state, acked, offline, created, txn_date, "
                       "updated, title) VALUES ('checkin', ?, '*****5172', 'synced', 1, 1, ?, "
                       "'2026-01-01T10:00:00', ?, ?)",
                       [(f"B{i:07d}", now, now, f"A title of a book number {i}") for i in range(rows)])


def ack_latencies(jn: Journal, n: int, prefix: str) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        jid = jn.record_intent("checkin", f"{prefix}{i}")
        jn.record_outcome(jid, j.QUEUED, acked=True, offline=True)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (1_000, 20_000):
            path = Path(tmp) / f"journal-{rows}.sqlite3"
            filled(path, rows)
            t0 = time.perf_counter()
            assert integrity_problems(path) == []
            check_s = time.perf_counter() - t0
            with Journal(path) as jn:
                checked = ack_latencies(jn, SAMPLES, "C")
                jn.verify_before_acknowledging = lambda: None   # the same commits, no check
                plain = ack_latencies(jn, SAMPLES, "P")
            p50, base = statistics.median(checked), statistics.median(plain)
            records.append(record(f"offline ack p50 ({rows} rows)", p50 * 1000, "ms", base * 1000,
                                  "check adds <= 50 ms", (p50 - base) * 1000 <= 50))
            records.append(record(f"offline ack p95 ({rows} rows)", percentile(checked, 95) * 1000, "ms",
                                  percentile(plain, 95) * 1000, "info", True))
            records.append(record(f"quick_check alone ({rows} rows)", check_s * 1000, "ms", base * 1000,
                                  "info", True))
    write_results("journal_integrity", records)


if __name__ == "__main__":
    main()
