"""Circulation engine benchmarks, each beside a baseline measured in the same run.

* A 20-item stack with 100 ms added per reply (demo library ``latency_ms=100``), from the first
  item on the pad to the last "done": target <= 1.0 s.  Baseline: the same 20 checkouts sent one
  after another over one connection (the sequential floor, ~2.0 s).
* Kiosk overhead per item beyond the round trip (item seen -> line "done" minus the time spent in
  the library-system call; journal commits, threads, view building): p50 and p95, target p95 <= 20 ms.
  Baseline: the round trip itself.
* Journal enqueue latency (an offline return made durable: intent + outcome commits) vs a bare
  write + fsync of a small file.
* Replay rate of 10,000 journaled returns against the demo library system: target >= 200/s.
  Baseline: the same check-ins sent directly with SipIls, no journal.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import class_slowdown, join_pi_group, percentile, record, write_results  # noqa: E402
from kiosk import config  # noqa: E402
from kiosk.circulation import journal as j  # noqa: E402
from kiosk.circulation import view as v  # noqa: E402
from kiosk.circulation.journal import Journal  # noqa: E402
from kiosk.circulation.replay import Replayer  # noqa: E402
from kiosk.circulation.service import KioskService  # noqa: E402
from kiosk.demo_ils.server import DemoIlsServer  # noqa: E402
from kiosk.sip2.ils import SipIls  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def settings_for(port: int, data_dir: Path, *extra: str):
    return config.load(ROOT / "config" / "demo.toml",
                       [f"ils.port={port}", f"storage.data_dir={data_dir}", *extra])


def available(export, n: int, skip: int = 0) -> list[str]:
    items = [i["barcode"] for i in export["items"]
             if i["status"] == "available" and not i["holds"] and i["parts"] == 1 and not i["scenario"]]
    return items[skip:skip + n]


def patrons(export) -> list[str]:
    return [p["card"] for p in export["patrons"]
            if p["status"] == "ok" and p["can_checkout"] and p["loan_limit"] - len(p["loans"]) >= 5]


class Done:
    """Listener that records when each item line first shows "done"."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()
        self.event = threading.Event()
        self.want: set[str] = set()

    def __call__(self, view) -> None:
        now = time.perf_counter()
        with self.lock:
            for line in view.items:
                if line.settled and line.item_id not in self.at:
                    self.at[line.item_id] = now
            if self.want and self.want <= set(self.at):
                self.event.set()

    def expect(self, items) -> None:
        with self.lock:
            self.at.clear()
            self.want = set(items)
            self.event.clear()


def bench_stack(tmp: Path) -> list[dict]:
    server = DemoIlsServer(tmp / "lib-stack.sqlite3", latency_ms=100).start()
    try:
        export = server.db.export()
        stack_times, seq_times = [], []
        # the one demo patron whose loan limit (30) takes a stack of 20
        card = next(p["card"] for p in export["patrons"]
                    if p["can_checkout"] and p["loan_limit"] - len(p["loans"]) >= 20)
        for rep in range(3):
            # the kiosk: 20 items on the pad at once (the patron is identified first)
            items = available(export, 20, skip=rep * 40)
            s = settings_for(server.port, tmp / f"k{rep}", "ils.pool_size=16", "ils.timeout_s=5")
            ils = SipIls.from_settings(s)
            ils.status()                                  # open the pool before timing
            done = Done()
            with Journal(s.data_dir / "journal.sqlite3") as journal, \
                    KioskService(s, ils, journal, done) as svc:
                svc.card_presented(card)
                svc.wait_idle(30)
                done.expect(items)
                t0 = time.perf_counter()
                for item in items:
                    svc.item_seen(item, source="rfid")
                done.event.wait(60)
                stack_times.append(max(done.at.values()) - t0)
                ok = sum(line.state == v.DONE for line in svc.view().items)
                assert ok == 20, [(line.item_id, line.state, line.reason_key) for line in svc.view().items]
                svc.finish("none")
                svc.wait_idle(30)
            for item in items:                            # give them back (not timed)
                ils.checkin(item)
            ils.close()
            # baseline: the same number of checkouts, one after another on one connection
            base_items = available(export, 20, skip=rep * 40 + 20)
            s1 = settings_for(server.port, tmp / f"b{rep}", "ils.pool_size=1")
            with SipIls.from_settings(s1) as one:
                one.status()
                t0 = time.perf_counter()
                for item in base_items:
                    assert one.checkout(card, item).ok
                seq_times.append(time.perf_counter() - t0)
                for item in base_items:
                    one.checkin(item)
        stack, seq = statistics.median(stack_times), statistics.median(seq_times)
        return [record("stack_20_items_100ms_latency", stack, "s", seq, "<= 1.0 s (floor 2.0 s)", stack <= 1.0)]
    finally:
        server.stop()


class TimedIls:
    """Wraps an Ils and records how long each checkout spent in the library-system call."""

    def __init__(self, ils) -> None:
        self._ils = ils
        self.call_s: dict[str, float] = {}

    def __getattr__(self, name):
        return getattr(self._ils, name)

    def checkout(self, patron_id, item_id, **kw):
        t0 = time.perf_counter()
        try:
            return self._ils.checkout(patron_id, item_id, **kw)
        finally:
            self.call_s[item_id] = time.perf_counter() - t0


def bench_overhead(tmp: Path) -> list[dict]:
    server = DemoIlsServer(tmp / "lib-overhead.sqlite3").start()
    try:
        export = server.db.export()
        s = settings_for(server.port, tmp / "overhead")
        ils = SipIls.from_settings(s)
        timed = TimedIls(ils)
        done = Done()
        overheads, rtts = [], []
        with Journal(s.data_dir / "journal.sqlite3") as journal, KioskService(s, timed, journal, done) as svc:
            cards = patrons(export)
            for n, card in enumerate(cards[:8]):
                svc.card_presented(card)
                svc.wait_idle(30)
                for item in available(export, 5, skip=n * 5):   # one at a time: no queueing in the figure
                    done.expect([item])
                    t0 = time.perf_counter()
                    svc.item_seen(item, source="rfid")
                    done.event.wait(30)
                    total = done.at[item] - t0
                    rtt = timed.call_s[item]
                    rtts.append(rtt)
                    overheads.append(total - rtt)
                svc.finish("none")
                svc.wait_idle(30)
                svc.tick(time.time() + 10)
        ils.close()
        p50, p95 = percentile(overheads, 50), percentile(overheads, 95)
        base = statistics.median(rtts)
        return [record("kiosk_overhead_per_item_p50", p50 * 1000, "ms", base * 1000, "report (p95 row: <= 20 ms)",
                       None, why="report: the p95 row carries the target"),
                record("kiosk_overhead_per_item_p95", p95 * 1000, "ms", base * 1000, "<= 20 ms", p95 <= 0.020)]
    finally:
        server.stop()


def bench_journal(tmp: Path) -> list[dict]:
    lat, fs = [], []
    with Journal(tmp / "bench-journal.sqlite3") as journal:
        for i in range(500):
            t0 = time.perf_counter()
            jid = journal.record_intent("checkin", f"B{i}")
            journal.record_outcome(jid, j.QUEUED, acked=True, offline=True)
            lat.append(time.perf_counter() - t0)
    fd = os.open(tmp / "bare-fsync", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(500):
            t0 = time.perf_counter()
            os.write(fd, b"x" * 200)
            os.fsync(fd)
            fs.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
    p50, p95, base = percentile(lat, 50), percentile(lat, 95), percentile(fs, 50)
    # Two commits (intent, outcome).  One fsync each in WAL mode; about five in the rollback journal
    # the stores use where the linked SQLite has the WAL-reset bug (kiosk/appliance/durable.py).
    from kiosk.appliance.durable import journal_mode_for

    mode = journal_mode_for()
    per_commit = 1 if mode == "wal" else 5
    # The fsyncs (twice a bare one's, each) plus 2 ms of CPU for Python and SQLite -- CPU time, so
    # at the class's speed in a Pi-class run: the throttled group slows the CPU, not the disk.
    cpu_ms = 2 * class_slowdown()
    return [record("journal_enqueue_p50", p50 * 1000, "ms", base * 1000,
                   f"~{2 * per_commit} fsyncs (intent+outcome, {mode} journal) + {cpu_ms:.3g} ms CPU",
                   p50 <= 2 * per_commit * 2 * base + cpu_ms / 1000),
            record("journal_enqueue_p95", p95 * 1000, "ms", percentile(fs, 95) * 1000, "<= 20 ms", p95 <= 0.020)]


def bench_replay(tmp: Path, n: int = 10_000) -> list[dict]:
    server = DemoIlsServer(tmp / "lib-replay.sqlite3").start()
    try:
        export = server.db.export()
        barcodes = available(export, 200)     # ordinary items (withdrawn/lost ones would go to staff)
        s = settings_for(server.port, tmp / "replay")
        with Journal(s.data_dir / "journal.sqlite3") as journal:
            with journal._tx() as db:   # 10,000 offline returns, as the kiosk journals them
                now = time.time()
                db.executemany(
                    "INSERT INTO txn(kind, item_id, state, acked, offline, created, txn_date, updated) "
                    "VALUES ('checkin', ?, 'queued', 1, 1, ?, ?, ?)",
                    [(barcodes[k % len(barcodes)], now, time.strftime("%Y-%m-%dT%H:%M:%S"), now) for k in range(n)])
            with SipIls.from_settings(s) as ils:
                ils.status()
                t0 = time.perf_counter()
                report = Replayer(ils, journal).sync()
                replay_s = time.perf_counter() - t0
                assert report.remaining == 0, report.as_dict()
                t0 = time.perf_counter()
                for k in range(n):
                    ils.checkin(barcodes[k % len(barcodes)])
                base_s = time.perf_counter() - t0
        rate, base = n / replay_s, n / base_s
        return [record("replay_rate_10000_returns", rate, "/s", base, ">= 200/s", rate >= 200)]
    finally:
        server.stop()


def main() -> list[dict]:
    import logging

    logging.basicConfig(level=logging.ERROR)
    # Pi-class run: this whole process goes on the Pi's budget -- the kiosk's service and, as it runs
    # in this process, the demo library system too (pessimistic for the kiosk; the baselines share it).
    join_pi_group()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        records = bench_stack(tmp) + bench_overhead(tmp) + bench_journal(tmp) + bench_replay(tmp)
    write_results("circulation", records)
    return records


if __name__ == "__main__":
    main()
