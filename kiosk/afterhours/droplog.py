"""The drop log: every item that went through the return slot, with its outcome and routing.

The circulation journal keeps the *transaction* (the check-in, durable before "accepted", replayed
when the library system is back).  The drop log keeps what the morning shift needs and the journal
cannot hold: passes with no readable tag, tags of other libraries, the hold / transfer alert and
sort bin the library system answered, and events of the night (bin emptied, faults, reports sent).

SQLite with ``synchronous=FULL``, journal mode per :func:`kiosk.appliance.durable.journal_mode_for` (a
commit is on disk when it returns: it survives ``kill -9`` and a power cut), one connection behind
a lock, safe from any thread.
Privacy: no patron data at all -- the slot never identifies anyone, and the hold patron id the
library system may send (CY) is not stored.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kiosk.appliance.durable import DurableDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS drops (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dropped_ts  REAL NOT NULL,          -- epoch seconds the item broke the light barrier
    dropped_at  TEXT NOT NULL,          -- the same, local ISO time: the return date it gets
    uid         TEXT,                   -- tag UID(s), comma separated
    item_id     TEXT,                   -- NULL: no readable tag
    title       TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,          -- journaled / checked_in / queued / refused / unreadable / ...
    reason_key  TEXT,
    reason_text TEXT NOT NULL DEFAULT '',
    alert       TEXT,                   -- hold_here / hold_elsewhere / transfer / other
    sort_bin    TEXT NOT NULL DEFAULT '',
    destination TEXT NOT NULL DEFAULT '',
    journal_id  INTEGER,                -- the circulation journal's row for the check-in
    parts       TEXT NOT NULL DEFAULT '',  -- "2/3" when parts of a set were missing
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS drops_ts ON drops(dropped_ts);
CREATE INDEX IF NOT EXISTS drops_item ON drops(item_id);
CREATE INDEX IF NOT EXISTS drops_state ON drops(state);
CREATE TABLE IF NOT EXISTS events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts      REAL NOT NULL,
    kind    TEXT NOT NULL,              -- bin_emptied / fault / fault_reset / report_sent / mode
    detail  TEXT NOT NULL DEFAULT ''
);
"""

# States of a drop that still wait for the library system.
WAITING = ("journaled", "queued")


@dataclass(frozen=True)
class DropRecord:
    id: int
    dropped_ts: float
    dropped_at: str
    uid: str | None
    item_id: str | None
    title: str
    state: str
    reason_key: str | None
    reason_text: str
    alert: str | None
    sort_bin: str
    destination: str
    journal_id: int | None
    parts: str
    attempts: int
    updated: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class NewDrop:
    """A drop to write: what the slot saw, classified."""

    dropped_ts: float
    state: str
    item_id: str | None = None
    uid: str = ""
    title: str = ""
    reason_key: str | None = None
    reason_text: str = ""
    parts: str = ""


def iso_local(ts: float) -> str:
    return datetime.fromtimestamp(ts).isoformat(timespec="seconds")


class DropLog(DurableDb):
    """Thread-safe drop log (see the module docstring)."""

    _COLS = ("id, dropped_ts, dropped_at, uid, item_id, title, state, reason_key, reason_text, alert, "
             "sort_bin, destination, journal_id, parts, attempts, updated")

    WHAT = "drop log"

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(path, _SCHEMA)

    # -- writing -----------------------------------------------------------------------------------

    def add(self, drops: list[NewDrop]) -> list[int]:
        """Write a pass's drops in one durable commit; returns their ids in order."""
        now = time.time()
        ids = []
        with self._tx() as db:
            for d in drops:
                cur = db.execute(
                    "INSERT INTO drops(dropped_ts, dropped_at, uid, item_id, title, state, reason_key, "
                    "reason_text, parts, updated) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (d.dropped_ts, iso_local(d.dropped_ts), d.uid, d.item_id, d.title, d.state,
                     d.reason_key, d.reason_text, d.parts, now))
                ids.append(int(cur.lastrowid))
        return ids

    _UPDATABLE = ("title", "state", "reason_key", "reason_text", "alert", "sort_bin", "destination",
                  "journal_id", "parts")

    def update(self, drop_id: int, *, attempt: bool = False, **fields: object) -> None:
        unknown = set(fields) - set(self._UPDATABLE)
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        sets = [f"{k}=?" for k in fields] + ["updated=?"]
        args = [*fields.values(), time.time()]
        if attempt:
            sets.append("attempts=attempts+1")
        with self._tx() as db:
            db.execute(f"UPDATE drops SET {', '.join(sets)} WHERE id=?", (*args, drop_id))

    def add_event(self, kind: str, detail: str = "", ts: float | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO events(ts, kind, detail) VALUES (?,?,?)",
                       (time.time() if ts is None else ts, kind, detail))

    # -- reading -----------------------------------------------------------------------------------

    def _rows(self, where: str = "1", args: Iterable = ()) -> list[DropRecord]:
        return [DropRecord(*r) for r in self._query(
            f"SELECT {self._COLS} FROM drops WHERE {where} ORDER BY dropped_ts, id", args)]

    def get(self, drop_id: int) -> DropRecord | None:
        rows = self._rows("id=?", (drop_id,))
        return rows[0] if rows else None

    def between(self, since_ts: float, until_ts: float | None = None) -> list[DropRecord]:
        if until_ts is None:
            return self._rows("dropped_ts >= ?", (since_ts,))
        return self._rows("dropped_ts >= ? AND dropped_ts < ?", (since_ts, until_ts))

    def waiting(self) -> list[DropRecord]:
        """Drops journaled but not yet confirmed by the library system, oldest first."""
        return self._rows(f"state IN ({','.join('?' * len(WAITING))})", WAITING)

    def events(self, since_ts: float = 0.0, kind: str | None = None) -> list[tuple[float, str, str]]:
        if kind:
            return self._query("SELECT ts, kind, detail FROM events WHERE ts >= ? AND kind=? ORDER BY id",
                               (since_ts, kind))
        return self._query("SELECT ts, kind, detail FROM events WHERE ts >= ? ORDER BY id", (since_ts,))

    def last_emptied_ts(self) -> float:
        return self._query("SELECT MAX(ts) FROM events WHERE kind='bin_emptied'")[0][0] or 0.0

    def bin_count(self) -> int:
        """Items physically dropped into the bin since staff last emptied it (re-reads excluded)."""
        return self._query("SELECT COUNT(*) FROM drops WHERE state != 'duplicate' AND dropped_ts >= ?",
                           (self.last_emptied_ts(),))[0][0]

    def recent_return(self, item_id: str, since_ts: float) -> DropRecord | None:
        """The latest accepted drop of this item since ``since_ts`` (and since the bin was emptied)."""
        rows = self._rows("item_id=? AND dropped_ts >= ? AND state IN ('journaled','checked_in','queued')",
                          (item_id, max(since_ts, self.last_emptied_ts())))
        return rows[-1] if rows else None

    def count(self) -> int:
        return self._query("SELECT COUNT(*) FROM drops")[0][0]
