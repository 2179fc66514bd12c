"""Book-drop benchmarks, each beside a baseline measured in the same run.

* Per-item feedback latency online: the beam clears -> the screen shows "accepted" (drop log +
  journal commits, the check-in round trip, the view).  Target p95 <= 0.5 s (patrons drop the next
  item within about a second; the 3M field report complains of lag between scan and feedback,
  libraries-and-kiosks.md section 1).  Baseline: the bare SIP2 check-in round trip.
* The same with the library system down: "accepted" comes from the journal alone.  Target p95
  <= 0.5 s.  Baseline: the bare durable commit of one journal row.
* Morning replay of a night's returns (200 journaled while the library system was down), backdated,
  with routing reconciled into the drop log: target >= 50 returns/s.  Baseline: the same number of
  check-ins sent directly with SipIls (no journal, no drop log).
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, record, write_results  # noqa: E402
from kiosk import config  # noqa: E402
from kiosk.afterhours import slot as S  # noqa: E402
from kiosk.afterhours.bookdrop import BookDrop  # noqa: E402
from kiosk.circulation.journal import Journal  # noqa: E402
from kiosk.demo_ils.db import fmt  # noqa: E402
from kiosk.demo_ils.server import DemoIlsServer  # noqa: E402
from kiosk.hardware import open_devices  # noqa: E402
from kiosk.hardware.records import TagRead  # noqa: E402
from kiosk.sip2.ils import SipIls  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def add_loans(server: DemoIlsServer, prefix: str, n: int) -> list[str]:
    cards = [r["card"] for r in server.db.query("SELECT card FROM patrons WHERE scenario LIKE 'valid, nothing%'")]
    issued = datetime.now() - timedelta(days=5)
    out = []
    with server.db.transaction() as conn:
        for i in range(n):
            b = f"{prefix}{i:06d}"
            conn.execute("INSERT INTO items(barcode, tag_uid, title, author, call_number, media, home_branch, "
                         "status) VALUES (?,?,?,?,?,'book','MAIN','on_loan')",
                         (b, f"T{prefix}{i}", f"Bench {i}", "Anon", "FIC B"))
            conn.execute("INSERT INTO loans(card, barcode, issued_at, due_at) VALUES (?,?,?,?)",
                         (cards[i % len(cards)], b, fmt(issued), fmt(issued + timedelta(days=28))))
            out.append(b)
    return out


class Drop:
    def __init__(self, tmp: Path, port: int) -> None:
        self.settings = config.load(ROOT / "config" / "demo.toml", [
            f"ils.port={port}", f"storage.data_dir={tmp}", "kiosk.mode=returns", "ils.timeout_s=2.0",
            "ils.retries=0", "bookdrop.read_window_s=0.2", "bookdrop.checkin_wait_s=2.0",
            "bookdrop.sync_interval_s=3600"])
        self.devices = open_devices(self.settings)
        self.ils = SipIls.from_settings(self.settings)
        self.journal = Journal(tmp / "journal.sqlite3")
        self.settled = threading.Event()
        self.drop = BookDrop(self.settings, self.devices, self.ils, self.journal, listener=self._view,
                             tick_interval=None)
        self.drop.start(wire=False)
        self.drop.tick()
        self.drop.wait_idle(10)

    def _view(self, view) -> None:  # noqa: ANN001
        if view.state in (S.ACCEPTED, S.REFUSED):
            self.settled.set()

    def one(self, barcode: str) -> float:
        """Drop one item; seconds from the beam clearing to the feedback."""
        self.drop.request_open()
        self.drop.slot_blocked()
        self.drop.tag_seen(TagRead("U" + barcode, barcode))
        self.drop.wait_idle(10)
        self.settled.clear()
        t0 = time.perf_counter()
        self.drop.slot_cleared()
        if not self.settled.wait(10):
            raise RuntimeError("no feedback")
        dt = time.perf_counter() - t0
        self.drop.wait_idle(10)
        self.drop.tick(time.time() + 10)      # feedback over
        self.drop.wait_idle(10)
        return dt

    def close(self) -> None:
        self.drop.close()
        self.ils.close()
        self.journal.close()


def main() -> list[dict]:
    records = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        server = DemoIlsServer(tmp / "lib.sqlite3").start()
        port = server.port
        online_items = add_loans(server, "ON", 100)
        offline_items = add_loans(server, "OFF", 200)
        base_items = add_loans(server, "BASE", 300)

        # baseline: bare check-in round trips
        ils = SipIls.from_settings(config.load(ROOT / "config" / "demo.toml", [f"ils.port={port}"]))
        rtt = []
        for b in base_items[:100]:
            t0 = time.perf_counter()
            ils.checkin(b)
            rtt.append(time.perf_counter() - t0)

        drop = Drop(tmp / "k", port)
        online = [drop.one(b) for b in online_items]
        p95 = percentile(online, 95)
        records.append(record("feedback_online_p95", p95, "s", percentile(rtt, 95), "<= 0.5 s", p95 <= 0.5))

        # the library system goes down: "accepted" from the journal alone
        server.stop()
        offline = [drop.one(b) for b in offline_items]
        commit = []
        with Journal(tmp / "bare.sqlite3") as bare:
            for i in range(100):
                t0 = time.perf_counter()
                bare.record_intent("checkin", f"X{i}", state="queued", acked=True)
                commit.append(time.perf_counter() - t0)
        p95 = percentile(offline, 95)
        records.append(record("feedback_offline_p95", p95, "s", percentile(commit, 95), "<= 0.5 s", p95 <= 0.5))

        # morning: replay the night's 200 returns, backdated, reconciled into the drop log
        server = DemoIlsServer(tmp / "lib.sqlite3", port=port).start()
        t0 = time.perf_counter()
        drop.drop.sync()
        drop.drop.wait_idle(600)
        replay_s = time.perf_counter() - t0
        waiting = len(drop.drop.drop_log.waiting())
        drop.close()
        t0 = time.perf_counter()
        for b in base_items[100:300]:
            ils.checkin(b)
        direct_s = time.perf_counter() - t0
        ils.close()
        server.stop()
        rate, base_rate = len(offline_items) / replay_s, 200 / direct_s
        records.append(record("morning_replay_rate", rate, "1/s", base_rate, ">= 50/s", rate >= 50 and waiting == 0))
    write_results("afterhours", records)
    return records


if __name__ == "__main__":
    main()
