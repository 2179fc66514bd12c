"""The rig of the book-drop tests (tests/test_afterhours_bookdrop.py): a settable clock, a
configuration for the demo library, the controller with simulated slot hardware, and questions to the
demo library system's database.  Its fixtures (``library``, ``rig``) are in that test module.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from kiosk import config
from kiosk.afterhours.bookdrop import BookDrop
from kiosk.circulation.journal import Journal
from kiosk.demo_ils.db import fmt
from kiosk.hardware import open_devices
from kiosk.hardware.records import TagRead
from kiosk.ils.factory import ils_from_settings


class Clock:
    """A settable wall clock: drop times in the past, so backdating is visible."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def write_config(tmp_path: Path, library, mode: str = "returns", extra: str = "") -> config.Settings:  # noqa: ANN001
    path = tmp_path / "kiosk.toml"
    path.write_text(f"""
[kiosk]
mode = "{mode}"
[ils]
{library.ils_toml()}
[storage]
data_dir = "{tmp_path / 'data'}"
[hardware]
simulate = true
[bookdrop]
checkin_wait_s = 1.0
read_window_s = 0.5
feedback_s = 1.0
sync_interval_s = 1.0
{extra}
""")
    return config.load(path)


class Rig:
    """One book drop wired to simulated devices, a journal and the demo library."""

    def __init__(self, tmp_path: Path, library, start: float, mode: str = "returns",  # noqa: ANN001
                 extra: str = "") -> None:
        self.settings = write_config(tmp_path, library, mode, extra)
        self.devices = open_devices(self.settings)
        self.devices.start()
        self.ils = ils_from_settings(self.settings)
        self.journal = Journal(self.settings.data_dir / "journal.sqlite3")
        self.views: list = []
        self.clock = Clock(start)
        self.drop = BookDrop(self.settings, self.devices, self.ils, self.journal, listener=self.views.append,
                             clock=self.clock, tick_interval=None)
        self.drop.start()
        self.tick()

    def tick(self, advance: float = 0.0) -> None:
        self.clock.advance(advance)
        self.drop.tick()
        assert self.drop.wait_idle(10)

    def drop_item(self, *tags: TagRead) -> None:
        """An item falls through the open hatch: beam blocked, tag(s) read, beam clear."""
        self.drop.slot_blocked()
        assert self.drop.wait_idle(10)              # the beam broke at clock.now: the drop time
        for t in tags:
            self.drop.tag_seen(t)
        self.clock.advance(0.1)
        self.drop.slot_cleared()
        assert self.drop.wait_idle(10)

    def close(self) -> None:
        self.drop.close()
        self.ils.close()
        self.journal.close()
        self.devices.close()


def on_loan(library, n: int = 1, home: str = "MAIN", hold_pickup: str | None = None) -> list[str]:
    """Put ``n`` available items of this branch on loan (and optionally a hold on each)."""
    rows = library.db.query("SELECT barcode FROM items WHERE status='available' AND home_branch=? AND parts=1 "
                            "AND barcode NOT IN (SELECT barcode FROM holds) ORDER BY barcode LIMIT ?", (home, n))
    cards = [r["card"] for r in library.db.query("SELECT card FROM patrons WHERE scenario LIKE 'valid, nothing%'")]
    issued = datetime.now() - timedelta(days=10)
    with library.db.transaction() as conn:
        for i, r in enumerate(rows):
            conn.execute("INSERT INTO loans(card, barcode, issued_at, due_at) VALUES (?,?,?,?)",
                         (cards[0], r["barcode"], fmt(issued), fmt(issued + timedelta(days=28))))
            conn.execute("UPDATE items SET status='on_loan' WHERE barcode=?", (r["barcode"],))
            if hold_pickup:
                conn.execute("INSERT INTO holds(card, barcode, pickup_branch, placed_at) VALUES (?,?,?,?)",
                             (cards[1 + i % (len(cards) - 1)], r["barcode"], hold_pickup, fmt(issued)))
    return [r["barcode"] for r in rows]


def returned_at(library, barcode: str) -> list[str]:
    return [r["returned_at"] for r in library.db.query(
        "SELECT returned_at FROM loans WHERE barcode=? AND returned_at IS NOT NULL", (barcode,))]
