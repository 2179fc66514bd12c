"""The durable journal: every transaction is written down before it is sent and after it is answered.

SQLite with ``synchronous=FULL`` (journal mode: :func:`kiosk.appliance.durable.journal_mode_for`): a commit
returns only once it is on disk (fsync), so a row that :meth:`Journal.record_outcome` committed
survives ``kill -9`` and a power cut.  The screen says "done" for an offline transaction only after that commit.

One row per intent (``id``).  Row states::

    sending   intent written, about to be sent online (not acknowledged to the patron)
    done      the library system confirmed it online
    refused   the library system said no (reason kept)
    not_sent  nothing was sent (library system unreachable and the policy refused to work offline)
    queued    done OFFLINE: durably journaled, acknowledged to the patron, waiting to be replayed
    replaying a queued row is being sent (a crash here means: resolve before any resend)
    unknown   sent, no reply; ``acked`` says whether the patron was told "done" (journaled)
    synced    a queued row the library system has since confirmed
    abandoned an unacknowledged transaction found not to have happened: nothing to do
    staff     a conflict for staff (``reason_key``), never dropped; ``resolve()`` closes it
    resolved  staff dealt with it

Privacy: the card number is needed only until a row is settled; settled rows keep a masked one.
The offline card cache stores salted hashes of card numbers, never the numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kiosk.appliance.clock import AlwaysTrusted, TrustedClock
from kiosk.appliance.durable import DurableDb
from kiosk.appliance.privacy import mask
from kiosk.errors import JournalError

SENDING, DONE, REFUSED, NOT_SENT = "sending", "done", "refused", "not_sent"
QUEUED, REPLAYING, UNKNOWN, SYNCED = "queued", "replaying", "unknown", "synced"
ABANDONED, STAFF, RESOLVED = "abandoned", "staff", "resolved"
SETTLED = (DONE, REFUSED, NOT_SENT, SYNCED, ABANDONED, RESOLVED)
NEEDS_REPLAY = (QUEUED, REPLAYING, UNKNOWN)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS txn (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,               -- checkout / checkin / renew
    item_id     TEXT NOT NULL,
    patron_id   TEXT,                        -- clear while unsettled, masked once settled
    state       TEXT NOT NULL,
    acked       INTEGER NOT NULL DEFAULT 0,  -- the patron was told "done"
    offline     INTEGER NOT NULL DEFAULT 0,  -- done while the library system was unreachable
    created     REAL NOT NULL,               -- epoch seconds
    txn_date    TEXT NOT NULL,               -- local ISO date-time of the patron's transaction
    due_date    TEXT,                        -- offline checkouts: the due date promised; once replayed, the library's
    owner_pid   INTEGER,                     -- process that is sending it (crash detection)
    owner       TEXT,                        -- that process's identity: pid, start time, boot id
    attempts    INTEGER NOT NULL DEFAULT 0,
    reason_key  TEXT,
    reason_text TEXT,
    title       TEXT,
    due         TEXT,
    note        TEXT,
    updated     REAL NOT NULL,
    clock_untrusted INTEGER NOT NULL DEFAULT 0  -- written while the wall clock was not trusted (kiosk.appliance.clock)
);
CREATE INDEX IF NOT EXISTS txn_state ON txn(state);
CREATE INDEX IF NOT EXISTS txn_item ON txn(item_id, state);
CREATE TABLE IF NOT EXISTS card (
    card_hash   TEXT PRIMARY KEY,
    last_seen   REAL NOT NULL,
    can_checkout INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class JournalRow:
    id: int
    kind: str
    item_id: str
    patron_id: str | None
    state: str
    acked: bool
    offline: bool
    created: float
    txn_date: str
    due_date: str | None
    owner_pid: int | None
    attempts: int
    reason_key: str | None
    reason_text: str | None
    title: str | None
    due: str | None
    note: str | None
    updated: float
    clock_untrusted: bool = False   # its dates came from an untrusted clock: replayed without them

    def as_dict(self, *, reveal: bool = False) -> dict:
        d = dict(self.__dict__)
        if not reveal and d["patron_id"]:
            d["patron_id"] = mask(d["patron_id"])
        return d


def _proc_start(pid: int) -> str | None:
    """The kernel's start time of a process (survives nothing: tells a reused pid apart)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]   # field 22 (starttime), counted after "comm"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "no-boot-id"


def owner_token(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_proc_start(pid)}:{_boot_id()}"


def _owner_alive(pid: int | None, owner: str | None) -> bool:
    """Is the process that wrote this row still running?  A pid reused after a crash or a reboot
    has another start time or boot id, so its rows are recognised as orphans."""
    if not pid:
        return False
    if owner and os.path.exists("/proc/self/stat"):
        return owner_token(pid) == owner
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Journal(DurableDb):
    """Thread-safe (one connection behind a lock; SQLite commits are the durability points)."""

    WHAT = "journal"

    def __init__(self, path: str | os.PathLike, *, recover: bool = True, keep_damaged_aside: bool = False,
                 clock: TrustedClock | AlwaysTrusted | None = None, check_at_open: bool = True) -> None:
        """Open the journal.  A damaged file raises :class:`~kiosk.appliance.durable.StorageDamaged` (a
        JournalError), or with ``keep_damaged_aside`` (the kiosk app) is moved aside and leaves this
        journal refusing everything (``damaged``) so the kiosk can go out of service.  A missing or
        empty file where earlier work is evident starts a new journal that records the loss."""
        from kiosk.circulation import journal_check

        path = Path(path)
        self.replay_lock = threading.RLock()   # one replay at a time per journal (kiosk.circulation.replay)
        self._pid = os.getpid()
        self._owner = owner_token()
        self._last_verified = 0.0
        self.trusted_clock = clock or AlwaysTrusted()   # kiosk.appliance.clock: is the wall clock believable?
        wal = Path(str(path) + "-wal")
        # (a main file still empty while its write-ahead log holds the rows is not a loss)
        fresh = (not path.is_file() or path.stat().st_size == 0) and not (wal.is_file() and wal.stat().st_size)
        was = "missing" if not path.is_file() else "empty (0 bytes)"
        evidence = journal_check.evidence_of_earlier_work(path) if fresh else []
        super().__init__(path, _SCHEMA, keep_damaged_aside=keep_damaged_aside, check_at_open=check_at_open)
        if self.damaged:
            return
        self._migrate()
        self._salt = self._meta("card_salt") or self._set_meta("card_salt", secrets.token_hex(16))
        if evidence and self._meta(journal_check.LOSS_META_KEY) is None:
            at = time.strftime("%Y-%m-%dT%H:%M:%S")
            self._set_meta(journal_check.LOSS_META_KEY, journal_check.loss_record(path, was, evidence, at))
        loss = self._meta(journal_check.LOSS_META_KEY)
        if loss:
            journal_check.note_lost(path, json.loads(loss))
        else:
            journal_check.note_sound(path)
        if recover:
            self.recover_crashed()

    def _migrate(self) -> None:
        """Journals written before a column existed get it (SQLite's ADD COLUMN is cheap and atomic)."""
        cols = {r[1] for r in self._query("PRAGMA table_info(txn)")}
        if "clock_untrusted" not in cols:
            with self._tx() as db:
                db.execute("ALTER TABLE txn ADD COLUMN clock_untrusted INTEGER NOT NULL DEFAULT 0")

    def clock_trusted(self) -> bool:
        """May the wall clock's dates be sent to the library system / shown to a patron?"""
        try:
            return bool(self.trusted_clock.trusted())
        except Exception:  # noqa: BLE001 - cannot tell = not trusted
            return False

    def on_damaged(self) -> None:
        from kiosk.circulation import journal_check

        journal_check.note_damaged(self.path, self.damaged or "", self.kept_at)

    def verify_before_acknowledging(self) -> None:
        """Offline work is acknowledged only on a journal that reads back sound from disk NOW: an
        SD card damaged in place still takes writes while the rows cannot be read back."""
        if self.verify() is not None:
            self._last_verified = time.monotonic()

    def loss(self) -> dict | None:
        """The recorded loss of an earlier journal (see journal_check), or None."""
        from kiosk.circulation import journal_check

        raw = self._meta(journal_check.LOSS_META_KEY)
        return json.loads(raw) if raw else None

    def acknowledge_loss(self, note: str) -> dict:
        """Staff checked what an earlier, lost journal may have held: stop reporting it."""
        from kiosk.circulation import journal_check

        loss = self.loss()
        if loss is None:
            raise JournalError(f"journal {self.path}: no loss of an earlier journal is recorded")
        loss.update(acknowledged=time.strftime("%Y-%m-%dT%H:%M:%S"), note=note)
        with self._tx() as db:
            db.execute("DELETE FROM meta WHERE key=?", (journal_check.LOSS_META_KEY,))
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                       (journal_check.LOSS_META_KEY + "_acknowledged", json.dumps(loss)))
        journal_check.note_sound(self.path, loss_acknowledged=True)
        return loss

    # ---- plumbing ------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def _set_meta(self, key: str, value: str) -> str:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))
        return value


    # ---- transactions --------------------------------------------------------------------
    def record_intent(self, kind: str, item_id: str, *, patron_id: str | None = None,
                      state: str = SENDING, acked: bool = False, offline: bool = False,
                      txn_date: str | None = None, due_date: str | None = None,
                      now: float | None = None, clock_untrusted: bool | None = None) -> int:
        """Write a transaction down BEFORE it is sent; returns its intent id.  The row is flagged
        ``clock_untrusted`` when the wall clock is not trusted now (unless the caller says)."""
        now = time.time() if now is None else now
        txn_date = txn_date or time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))
        untrusted = (not self.clock_trusted()) if clock_untrusted is None else clock_untrusted
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO txn(kind, item_id, patron_id, state, acked, offline, created, txn_date, "
                "due_date, owner_pid, owner, updated, clock_untrusted) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (kind, item_id, patron_id, state, int(acked), int(offline), now, txn_date, due_date,
                 self._pid, self._owner, now, int(untrusted)))
            txn_id = int(cur.lastrowid)
        if acked and state in NEEDS_REPLAY:
            self.verify_before_acknowledging()
        return txn_id

    def record_outcome(self, txn_id: int, state: str, *, acked: bool | None = None,
                       offline: bool | None = None, reason_key: str | None = None,
                       reason_text: str | None = None, title: str | None = None, due: str | None = None,
                       due_date: str | None = None, note: str | None = None,
                       attempt: bool = False) -> None:
        """Write what happened to an intent (committed, i.e. durable, when this returns)."""
        self.record_outcomes([(txn_id, state, dict(acked=acked, offline=offline, reason_key=reason_key,
                                                    reason_text=reason_text, title=title, due=due,
                                                    due_date=due_date, note=note, attempt=attempt))])

    def record_outcomes(self, outcomes: list[tuple[int, str, dict]]) -> None:
        """Several outcomes in ONE commit (replay batches: one fsync for many rows)."""
        now = time.time()
        with self._tx() as db:
            for txn_id, state, kw in outcomes:
                sets, args = ["state=?", "updated=?", "owner_pid=?", "owner=?"], [state, now, self._pid, self._owner]
                for col in ("acked", "offline"):
                    if kw.get(col) is not None:
                        sets.append(f"{col}=?")
                        args.append(int(kw[col]))
                for col in ("reason_key", "reason_text", "title", "due", "due_date", "note"):
                    if kw.get(col) is not None:
                        sets.append(f"{col}=?")
                        args.append(kw[col])
                if kw.get("attempt"):
                    sets.append("attempts=attempts+1")
                args.append(txn_id)
                cur = db.execute(f"UPDATE txn SET {', '.join(sets)} WHERE id=?", args)
                if cur.rowcount != 1:
                    raise JournalError(f"journal {self.path}: no transaction with id {txn_id}")
                if state in SETTLED:   # privacy: the card number is no longer needed in clear
                    row = db.execute("SELECT patron_id FROM txn WHERE id=?", (txn_id,)).fetchone()
                    if row and row[0] and not row[0].startswith("*"):
                        db.execute("UPDATE txn SET patron_id=? WHERE id=?", (mask(row[0]), txn_id))
        if any(kw.get("acked") and state in NEEDS_REPLAY for _, state, kw in outcomes):
            self.verify_before_acknowledging()

    def mark_replaying(self, ids: list[int]) -> None:
        """Queued/unknown rows are about to be sent: one commit for the batch."""
        now = time.time()
        with self._tx() as db:
            db.executemany("UPDATE txn SET state=?, owner_pid=?, owner=?, updated=?, attempts=attempts+1 "
                           "WHERE id=?", [(REPLAYING, self._pid, self._owner, now, i) for i in ids])

    def recover_crashed(self) -> int:
        """Rows a dead process left mid-send become ``unknown`` (resolved before any resend)."""
        rows = self._query("SELECT id, owner_pid, owner, state FROM txn WHERE state IN (?, ?)",
                           (SENDING, REPLAYING))
        dead = [(i, s) for i, pid, owner, s in rows if not _owner_alive(pid, owner)]
        if dead:
            now = time.time()
            with self._tx() as db:
                # a replaying row was queued, i.e. acknowledged; a sending row was not (yet)
                db.executemany("UPDATE txn SET state=?, updated=?, note=? WHERE id=?",
                               [(UNKNOWN, now, f"interrupted while {s}", i) for i, s in dead])
        return len(dead)

    # ---- reading -------------------------------------------------------------------------
    _COLS = ("id, kind, item_id, patron_id, state, acked, offline, created, txn_date, due_date, owner_pid, "
             "attempts, reason_key, reason_text, title, due, note, updated, clock_untrusted")

    def _rows(self, where: str = "1", args: Iterable = (), limit: int | None = None) -> list[JournalRow]:
        sql = f"SELECT {self._COLS} FROM txn WHERE {where} ORDER BY id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        out = []
        for r in self._query(sql, args):
            r = list(r)
            r[5], r[6], r[18] = bool(r[5]), bool(r[6]), bool(r[18])
            out.append(JournalRow(*r))
        return out

    def get(self, txn_id: int) -> JournalRow | None:
        rows = self._rows("id=?", (txn_id,))
        return rows[0] if rows else None

    def pending(self, item_id: str | None = None, limit: int | None = None) -> list[JournalRow]:
        """Rows the library system has not confirmed yet (queued, replaying, unknown), oldest first."""
        where = f"state IN ({','.join('?' * len(NEEDS_REPLAY))})"
        args: list = list(NEEDS_REPLAY)
        if item_id is not None:
            where += " AND item_id=?"
            args.append(item_id)
        return self._rows(where, args, limit)

    def pending_count(self) -> int:
        return self._query(f"SELECT COUNT(*) FROM txn WHERE state IN ({','.join('?' * len(NEEDS_REPLAY))})",
                           NEEDS_REPLAY)[0][0]

    def has_pending(self, item_id: str) -> bool:
        return bool(self._query(
            f"SELECT 1 FROM txn WHERE item_id=? AND state IN ({','.join('?' * len(NEEDS_REPLAY))}) LIMIT 1",
            (item_id, *NEEDS_REPLAY)))

    def offline_checkouts_for(self, patron_id: str) -> int:
        """Checkouts done offline for this patron and not yet confirmed (the offline item limit)."""
        return self._query("SELECT COUNT(*) FROM txn WHERE kind='checkout' AND offline=1 AND patron_id=? "
                           "AND state IN (?, ?, ?)", (patron_id, *NEEDS_REPLAY))[0][0]

    def staff_queue(self) -> list[JournalRow]:
        """Conflicts for staff, and offline transactions sent without their dates because the clock
        was not trusted when they were done (staff check the dates in the library system)."""
        return self._rows("state=? OR (clock_untrusted=1 AND offline=1 AND state=?)", (STAFF, SYNCED))

    def untrusted_clock(self) -> list[JournalRow]:
        """Offline rows written on an untrusted clock, not yet closed by staff."""
        return self._rows("clock_untrusted=1 AND offline=1 AND state NOT IN (?, ?)", (RESOLVED, ABANDONED))

    def rows(self, states: Iterable[str] | None = None, limit: int | None = None) -> list[JournalRow]:
        if states:
            states = list(states)
            return self._rows(f"state IN ({','.join('?' * len(states))})", states, limit)
        return self._rows(limit=limit)

    def export(self) -> list[dict]:
        return [r.as_dict() for r in self._rows()]

    def counts(self) -> dict[str, int]:
        return dict(self._query("SELECT state, COUNT(*) FROM txn GROUP BY state"))

    @staticmethod
    def awaits_staff(row: JournalRow) -> bool:
        """Whether staff may close this row with :meth:`resolve` (a conflict, an unknown outcome,
        or an offline row sent without its dates because the clock was not trusted)."""
        return row.state in (STAFF, UNKNOWN) or (row.state == SYNCED and bool(row.clock_untrusted))

    def resolve(self, txn_id: int, note: str) -> None:
        """Staff closed a conflict (the note says what they did)."""
        row = self.get(txn_id)
        if row is None:
            raise JournalError(f"journal {self.path}: no transaction with id {txn_id}")
        if not self.awaits_staff(row):
            raise JournalError(f"transaction {txn_id} is {row.state}, not waiting for staff")
        self.record_outcome(txn_id, RESOLVED, note=note)

    def prune(self, max_age_s: float, now: float | None = None) -> int:
        """Delete settled rows older than ``max_age_s`` (never pending or staff-queue rows)."""
        now = time.time() if now is None else now
        with self._tx() as db:
            return db.execute(f"DELETE FROM txn WHERE state IN ({','.join('?' * len(SETTLED))}) AND updated < ?",
                              (*SETTLED, now - max_age_s)).rowcount

    # ---- offline card cache --------------------------------------------------------------
    def _card_hash(self, patron_id: str) -> str:
        return hashlib.sha256(f"{self._salt}:{patron_id}".encode()).hexdigest()

    def remember_card(self, patron_id: str, can_checkout: bool, now: float | None = None) -> None:
        """A card the library system recognised online: lets offline checkouts validate it later."""
        now = time.time() if now is None else now
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO card(card_hash, last_seen, can_checkout) VALUES (?,?,?)",
                       (self._card_hash(patron_id), now, int(can_checkout)))

    def card_status(self, patron_id: str, max_age_s: float, now: float | None = None) -> bool | None:
        """True/False (may borrow) for a card seen online within ``max_age_s``; None if not known."""
        now = time.time() if now is None else now
        rows = self._query("SELECT last_seen, can_checkout FROM card WHERE card_hash=?",
                           (self._card_hash(patron_id),))
        if not rows or now - rows[0][0] > max_age_s:
            return None
        return bool(rows[0][1])

    def forget_old_cards(self, max_age_s: float, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self._tx() as db:
            return db.execute("DELETE FROM card WHERE last_seen < ?", (now - max_age_s,)).rowcount


def dumps(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2, default=str)
