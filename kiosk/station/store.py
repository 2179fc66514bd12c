"""The station's durable record: every programmed tag and every item seen on a shelf.

Built on :class:`kiosk.appliance.durable.DurableDb` (SQLite, ``synchronous=FULL``: a commit is on disk
when it returns; journal mode per :func:`kiosk.appliance.durable.journal_mode_for`).  Tag programming
writes its row **before** touching the tag, with result
``unverified`` and the bytes about to be written; only after the read-back is the row settled as
``verified`` or ``failed``.  A power cut or ``kill -9`` mid-write therefore leaves an ``unverified``
row, and the next read of that UID (:meth:`StationStore.unverified_for`) settles it by comparing
the tag with the recorded bytes -- the record never claims a tag that was not checked.

Times are stored as UTC ISO-8601 text (``2026-12-06T14:20:05Z``), which sorts and compares as text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.appliance.durable import DurableDb

UNVERIFIED, VERIFIED, FAILED = "unverified", "verified", "failed"
STORE_FILE = "station.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS programmed_tags (
    id INTEGER PRIMARY KEY, uid TEXT NOT NULL, item_id TEXT NOT NULL, model TEXT NOT NULL,
    part_number INTEGER NOT NULL, parts INTEGER NOT NULL, owner_isil TEXT NOT NULL DEFAULT '',
    data_hex TEXT NOT NULL, old_item_id TEXT NOT NULL DEFAULT '', old_data_hex TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL, staff_session TEXT NOT NULL DEFAULT '', result TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '', settled_at TEXT);
CREATE INDEX IF NOT EXISTS programmed_tags_by_uid ON programmed_tags(uid, result);
CREATE INDEX IF NOT EXISTS programmed_tags_by_time ON programmed_tags(at);
CREATE TABLE IF NOT EXISTS shelf_seen (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, shelf TEXT NOT NULL, item_id TEXT NOT NULL DEFAULT '',
    uid TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '', circulation_status TEXT NOT NULL DEFAULT '',
    findings TEXT NOT NULL DEFAULT '[]', marked_seen TEXT NOT NULL DEFAULT '',
    staff_session TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS shelf_seen_by_time ON shelf_seen(at);
"""


def utc_text(when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.astimezone()          # a naive time is local time
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_since(text: str) -> str:
    """``--since`` as the stored text form; accepts a date, a local or an offset ISO time."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    when = datetime.fromisoformat(text)   # ValueError for nonsense: the CLI reports a usage error
    return utc_text(when)


@dataclass(frozen=True)
class TagRecord:
    id: int
    uid: str
    item_id: str
    model: str
    part_number: int
    parts: int
    owner_isil: str
    data_hex: str
    old_item_id: str
    old_data_hex: str
    at: str
    staff_session: str
    result: str
    detail: str
    settled_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "item_id": self.item_id, "model": self.model, "part_number": self.part_number,
                "parts": self.parts, "owner_isil": self.owner_isil, "bytes_hex": self.data_hex,
                "time": self.at, "result": self.result, "detail": self.detail,
                "staff_session": self.staff_session, "old_item_id": self.old_item_id,
                "old_bytes_hex": self.old_data_hex}


@dataclass(frozen=True)
class SeenRecord:
    id: int
    at: str
    shelf: str
    item_id: str
    uid: str
    title: str
    circulation_status: str
    findings: tuple[dict, ...]
    marked_seen: str
    staff_session: str

    def to_json(self) -> dict[str, Any]:
        return {"time": self.at, "shelf": self.shelf, "item_id": self.item_id, "uid": self.uid,
                "title": self.title, "circulation_status": self.circulation_status,
                "exceptions": list(self.findings), "marked_seen": self.marked_seen}


class StationStore(DurableDb):
    WHAT = "station record"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, SCHEMA)

    @classmethod
    def for_settings(cls, settings: Any) -> StationStore:
        return cls(Path(settings.data_dir) / STORE_FILE)

    # ------------------------------------------------------------------ programmed tags
    def begin_tag(self, *, uid: str, item_id: str, model: str, part_number: int, parts: int, owner_isil: str,
                  data: bytes, staff_session: str, old_item_id: str = "", old_data: bytes = b"",
                  detail: str = "") -> int:
        """Durably note a write that is about to happen (result ``unverified``); returns the row id."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO programmed_tags (uid, item_id, model, part_number, parts, owner_isil, data_hex, "
                "old_item_id, old_data_hex, at, staff_session, result, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (uid, item_id, model, part_number, parts, owner_isil, data.hex().upper(), old_item_id,
                 old_data.hex().upper(), utc_text(), staff_session, UNVERIFIED, detail))
            return int(cur.lastrowid or 0)

    def settle_tag(self, row_id: int, result: str, detail: str = "") -> None:
        with self._tx() as db:
            db.execute("UPDATE programmed_tags SET result = ?, detail = CASE WHEN ? = '' THEN detail ELSE ? END, "
                       "settled_at = ? WHERE id = ?", (result, detail, detail, utc_text(), row_id))

    def unverified_for(self, uid: str) -> list[TagRecord]:
        return self._tags("WHERE uid = ? AND result = ? ORDER BY id", (uid, UNVERIFIED))

    def unverified(self) -> list[TagRecord]:
        return self._tags("WHERE result = ? ORDER BY id", (UNVERIFIED,))

    def tags_since(self, since: str = "") -> list[TagRecord]:
        return self._tags("WHERE at >= ? ORDER BY id", (since,))

    def _tags(self, where: str, args: tuple) -> list[TagRecord]:
        rows = self._query("SELECT id, uid, item_id, model, part_number, parts, owner_isil, data_hex, old_item_id, "
                           "old_data_hex, at, staff_session, result, detail, settled_at FROM programmed_tags "
                           + where, args)
        return [TagRecord(*row) for row in rows]

    # ------------------------------------------------------------------ shelf check
    def record_seen(self, *, shelf: str, item_id: str, uid: str, title: str, circulation_status: str,
                    findings: list[dict], marked_seen: str, staff_session: str) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO shelf_seen (at, shelf, item_id, uid, title, circulation_status, findings, marked_seen, "
                "staff_session) VALUES (?,?,?,?,?,?,?,?,?)",
                (utc_text(), shelf, item_id, uid, title, circulation_status, json.dumps(findings), marked_seen,
                 staff_session))
            return int(cur.lastrowid or 0)

    def set_marked_seen(self, row_id: int, marked_seen: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE shelf_seen SET marked_seen = ? WHERE id = ?", (marked_seen, row_id))

    def seen_since(self, since: str = "") -> list[SeenRecord]:
        rows = self._query("SELECT id, at, shelf, item_id, uid, title, circulation_status, findings, marked_seen, "
                           "staff_session FROM shelf_seen WHERE at >= ? ORDER BY id", (since,))
        return [SeenRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(json.loads(r[7] or "[]")), r[8], r[9])
                for r in rows]
