"""The demo library's SQLite database: schema, seeding, export and read queries.

Many kiosks talk to the demo library at once (one server thread per connection), and tests read
the same file while the server runs.  So every thread gets its own SQLite connection, the file is
in WAL mode (readers never wait for the writer), and every change runs inside ``BEGIN IMMEDIATE``
(:meth:`LibraryDb.transaction`), which serialises writers across threads *and* processes.

Circulation changes live in :mod:`kiosk.demo_ils.library`; this module only stores and reads.
Every transaction the library performs is written to the ``transactions`` table so tests can
assert that a checkout or a return happened exactly once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from kiosk.demo_ils import rules, seed
from kiosk.demo_ils.rules import HoldView, ItemView, LoanView, PatronView

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS patrons (
    card TEXT PRIMARY KEY, name TEXT NOT NULL, pin TEXT, category TEXT NOT NULL, expires TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active', block_note TEXT NOT NULL DEFAULT '', home_branch TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '000', scenario TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS items (
    barcode TEXT PRIMARY KEY, tag_uid TEXT NOT NULL UNIQUE, title TEXT NOT NULL, author TEXT NOT NULL,
    call_number TEXT NOT NULL, media TEXT NOT NULL, parts INTEGER NOT NULL DEFAULT 1,
    home_branch TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'available', transit_to TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '', price INTEGER NOT NULL DEFAULT 0, properties TEXT NOT NULL DEFAULT '',
    scenario TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS loans (
    id INTEGER PRIMARY KEY, card TEXT NOT NULL REFERENCES patrons(card),
    barcode TEXT NOT NULL REFERENCES items(barcode), issued_at TEXT NOT NULL, due_at TEXT NOT NULL,
    renewals INTEGER NOT NULL DEFAULT 0, returned_at TEXT, offline INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_loan_per_item ON loans(barcode) WHERE returned_at IS NULL;
CREATE INDEX IF NOT EXISTS loans_by_card ON loans(card, returned_at);
CREATE TABLE IF NOT EXISTS holds (
    id INTEGER PRIMARY KEY, card TEXT NOT NULL REFERENCES patrons(card),
    barcode TEXT NOT NULL REFERENCES items(barcode), pickup_branch TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', placed_at TEXT NOT NULL, waiting_since TEXT,
    filled_at TEXT, cancelled_at TEXT);
CREATE INDEX IF NOT EXISTS holds_by_item ON holds(barcode);
CREATE TABLE IF NOT EXISTS fines (
    id INTEGER PRIMARY KEY, card TEXT NOT NULL REFERENCES patrons(card), barcode TEXT, loan_id INTEGER,
    fee_type TEXT NOT NULL, amount INTEGER NOT NULL, paid INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, cancelled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, ok INTEGER NOT NULL,
    card TEXT, barcode TEXT, no_block INTEGER NOT NULL DEFAULT 0, transaction_date TEXT,
    message TEXT NOT NULL DEFAULT '', terminal TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS transactions_by_item ON transactions(barcode);
CREATE TABLE IF NOT EXISTS item_seen (
    barcode TEXT PRIMARY KEY, seen_at TEXT NOT NULL, terminal TEXT NOT NULL DEFAULT '',
    properties TEXT NOT NULL DEFAULT '');
"""

TABLES = ("item_seen", "transactions", "fines", "holds", "loans", "items", "patrons", "meta")
ACTIVE_HOLD = "filled_at IS NULL AND cancelled_at IS NULL"


def fmt(dt: datetime | None) -> str | None:
    """Datetimes are stored as local ISO text: sortable and readable in the sqlite3 shell."""
    return dt.strftime("%Y-%m-%d %H:%M:%S") if dt else None


def parse(text: str | None) -> datetime | None:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S") if text else None


class LibraryDb:
    """The library's SQLite file.  Thread-safe: one connection per thread, writers serialised."""

    def __init__(self, path: str | Path, clock: Callable[[], datetime] = datetime.now) -> None:
        self.path = Path(path)
        self.clock = clock
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._create_schema()

    # ------------------------------------------------------------------ connections/transactions
    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")   # WAL + NORMAL survives a killed process
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on error); nested use joins the outer one."""
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        # Threads of this process queue on a lock (fair and immediate); other processes (a test
        # reading the file, a second server) are held off by BEGIN IMMEDIATE + busy_timeout, whose
        # sleep-and-retry would add milliseconds per transaction under load.
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read-only transaction: several queries see one consistent state (WAL snapshot) without
        waiting for writers.  Never write inside it."""
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN DEFERRED")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def release(self) -> None:
        """Close the calling thread's connection (a server thread calls this when its kiosk leaves)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._all_lock:
            if conn in self._all:
                self._all.remove(conn)
        conn.close()

    def close(self) -> None:
        """Close every thread's connection (call when the server has stopped)."""
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.ProgrammingError:   # closed from another thread's perspective: fine
                pass
        self._local = threading.local()

    def _create_schema(self) -> None:
        conn = self.connection()
        conn.executescript(SCHEMA)

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        return self.connection().execute(sql, args).fetchall()

    # -------------------------------------------------------------------------------- seeding
    def is_seeded(self) -> bool:
        rows = self.query("SELECT value FROM meta WHERE key = 'seeded_at'")
        return bool(rows)

    def seed(self, reset: bool = False) -> bool:
        """Fill a new (or, with ``reset``, wipe and refill) database.  Returns True when it seeded."""
        with self.transaction() as conn:
            if reset:
                for table in TABLES:
                    conn.execute(f"DELETE FROM {table}")
            elif conn.execute("SELECT 1 FROM meta WHERE key = 'seeded_at'").fetchone():
                return False
            today = self.clock().date()
            lib = seed.build(today)
            self._insert(conn, "patrons", lib.patrons)
            self._insert(conn, "items", lib.items)
            self._insert(conn, "loans", lib.loans)
            self._insert(conn, "holds", lib.holds)
            self._insert(conn, "fines", lib.fines)
            conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                             [("seeded_at", fmt(self.clock())), ("schema_version", SCHEMA_VERSION)])
        return True

    @staticmethod
    def _insert(conn: sqlite3.Connection, table: str, rows: list[dict]) -> None:
        if not rows:
            return
        cols = list(rows[0])
        conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                         [tuple(r[c] for c in cols) for r in rows])

    # ------------------------------------------------------------------------ record builders
    def patron(self, card: str | None, now: datetime | None = None) -> PatronView | None:
        """The patron with this card, with counts and what they owe as of ``now``."""
        if not card:
            return None
        now = now or self.clock()
        row = self.connection().execute("SELECT * FROM patrons WHERE card = ?", (card,)).fetchone()
        if row is None:
            return None
        loans = self.loans_of(card)
        overdue = [ln for ln in loans if ln.due_at < now]
        return PatronView(
            card=row["card"], name=row["name"], category=row["category"],
            expires=date.fromisoformat(row["expires"]), pin=row["pin"], status=row["status"],
            block_note=row["block_note"], home_branch=row["home_branch"], loans=len(loans),
            overdue=len(overdue), fines=self.amount_owed(card, now),
            holds=len(self.query(f"SELECT 1 FROM holds WHERE card = ? AND {ACTIVE_HOLD}", (card,))))

    def patron_row(self, card: str) -> sqlite3.Row | None:
        return self.connection().execute("SELECT * FROM patrons WHERE card = ?", (card,)).fetchone()

    def item(self, barcode: str | None) -> ItemView | None:
        if not barcode:
            return None
        row = self.item_row(barcode)
        if row is None:
            return None
        return ItemView(barcode=row["barcode"], title=row["title"], media=row["media"],
                        home_branch=row["home_branch"], status=row["status"], transit_to=row["transit_to"],
                        parts=row["parts"])

    def item_row(self, barcode: str) -> sqlite3.Row | None:
        return self.connection().execute("SELECT * FROM items WHERE barcode = ?", (barcode,)).fetchone()

    @staticmethod
    def _loan(row: sqlite3.Row) -> LoanView:
        return LoanView(id=row["id"], card=row["card"], barcode=row["barcode"],
                        issued_at=parse(row["issued_at"]), due_at=parse(row["due_at"]),
                        renewals=row["renewals"])

    def loan_of_item(self, barcode: str) -> LoanView | None:
        """The active loan of an item, if it is on loan."""
        row = self.connection().execute(
            "SELECT * FROM loans WHERE barcode = ? AND returned_at IS NULL", (barcode,)).fetchone()
        return self._loan(row) if row else None

    def loans_of(self, card: str) -> list[LoanView]:
        """A patron's active loans, oldest first."""
        return [self._loan(r) for r in self.query(
            "SELECT * FROM loans WHERE card = ? AND returned_at IS NULL ORDER BY issued_at, id", (card,))]

    def holds_on(self, barcode: str) -> list[HoldView]:
        """Active holds on an item in queue order (trapped holds first, then oldest)."""
        rows = self.query(f"SELECT * FROM holds WHERE barcode = ? AND {ACTIVE_HOLD} "
                          "ORDER BY status = 'pending', placed_at, id", (barcode,))
        return [self._hold(r) for r in rows]

    def holds_of(self, card: str) -> list[HoldView]:
        rows = self.query(f"SELECT * FROM holds WHERE card = ? AND {ACTIVE_HOLD} ORDER BY placed_at, id",
                          (card,))
        return [self._hold(r) for r in rows]

    @staticmethod
    def _hold(row: sqlite3.Row) -> HoldView:
        return HoldView(id=row["id"], card=row["card"], barcode=row["barcode"],
                        pickup_branch=row["pickup_branch"], status=row["status"],
                        placed_at=parse(row["placed_at"]))

    # ----------------------------------------------------------------------------------- money
    def fines_of(self, card: str) -> list[sqlite3.Row]:
        """Unpaid, uncancelled fines (final ones; accruing overdue fines are computed, see below)."""
        return self.query("SELECT * FROM fines WHERE card = ? AND cancelled = 0 AND paid < amount "
                          "ORDER BY created_at, id", (card,))

    def accruing_fines(self, card: str, now: datetime) -> list[tuple[LoanView, int]]:
        """Overdue fines still growing on active loans, as of ``now`` (Koha's "accruing" fines)."""
        out = []
        for loan in self.loans_of(card):
            item = self.item(loan.barcode)
            amount = rules.overdue_fine(item.media, loan.due_at, now) if item else 0
            if amount:
                out.append((loan, amount))
        return out

    def amount_owed(self, card: str, now: datetime | None = None) -> int:
        now = now or self.clock()
        final = sum(r["amount"] - r["paid"] for r in self.fines_of(card))
        return final + sum(a for _, a in self.accruing_fines(card, now))

    # ------------------------------------------------------------------------ log and test helpers
    def log(self, kind: str, ok: bool, *, card: str | None = None, barcode: str | None = None,
            no_block: bool = False, transaction_date: datetime | None = None, message: str = "",
            terminal: str = "") -> None:
        """Record one circulation transaction (inside the caller's transaction)."""
        self.connection().execute(
            "INSERT INTO transactions (at, kind, ok, card, barcode, no_block, transaction_date, message, "
            "terminal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (fmt(self.clock()), kind, int(ok), card, barcode, int(no_block), fmt(transaction_date), message,
             terminal))

    def transactions(self, kind: str | None = None, *, ok: bool | None = None) -> list[dict]:
        sql, args = "SELECT * FROM transactions WHERE 1=1", []
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        if ok is not None:
            sql += " AND ok = ?"
            args.append(int(ok))
        return [dict(r) for r in self.query(sql + " ORDER BY id", tuple(args))]

    def transactions_for_item(self, barcode: str, kind: str | None = None) -> list[dict]:
        """Every transaction logged for an item, oldest first (optionally of one kind)."""
        return [t for t in self.transactions(kind) if t["barcode"] == barcode]

    def checkins_of(self, barcode: str) -> list[dict]:
        """Successful check-ins of an item (a loan was closed or the return accepted), oldest first."""
        return [t for t in self.transactions_for_item(barcode, "checkin") if t["ok"]]

    def checkouts_of(self, barcode: str) -> list[dict]:
        """Successful checkouts of an item (renewals are logged as kind "renewal"), oldest first."""
        return [t for t in self.transactions_for_item(barcode, "checkout") if t["ok"]]

    def loan_history(self, barcode: str) -> list[dict]:
        """All loans of an item, returned ones included (``returned_at`` None = still out)."""
        return [dict(r) for r in self.query("SELECT * FROM loans WHERE barcode = ? ORDER BY id", (barcode,))]

    # --------------------------------------------------------------------------------- export
    def last_seen(self, barcode: str) -> datetime | None:
        """When a staff station last reported the item on a shelf (SIP2 19 Item Status Update)."""
        rows = self.query("SELECT seen_at FROM item_seen WHERE barcode = ?", (barcode,))
        return parse(rows[0]["seen_at"]) if rows else None

    def export(self) -> dict:
        """What trainers and tests scan: patrons (card, PIN, status) and items (barcode, tag, holds)."""
        now = self.clock()
        patrons = []
        for row in self.query("SELECT * FROM patrons ORDER BY card"):
            p = self.patron(row["card"], now)
            reason = rules.patron_block_reason(p, now)
            category = rules.CATEGORIES[p.category]
            status = ("blocked" if p.status == "blocked" else "lost_card" if p.status == "lost_card"
                      else "expired" if p.expires < now.date() else "fines" if p.fines > category.max_fines
                      else "overdue" if p.overdue >= category.max_overdue
                      else "loan_limit" if p.loans >= category.max_loans else "ok")
            patrons.append(dict(
                card=p.card, pin=p.pin, name=p.name, status=status, category=p.category,
                can_checkout=status == "ok", block_reason=reason or "", expires=p.expires.isoformat(),
                home_branch=p.home_branch, loans=[ln.barcode for ln in self.loans_of(p.card)],
                overdue=p.overdue, loan_limit=category.max_loans, fines=rules.money(p.fines),
                holds=[{"barcode": h.barcode, "pickup": h.pickup_branch, "status": h.status}
                       for h in self.holds_of(p.card)],
                scenario=row["scenario"]))
        items = []
        for row in self.query("SELECT * FROM items ORDER BY barcode"):
            item = self.item(row["barcode"])
            loan = self.loan_of_item(item.barcode)
            holds = self.holds_on(item.barcode)
            circ = rules.circulation_status(item, loan, holds)
            status = row["status"] if row["status"] in ("lost", "missing", "withdrawn") else (
                "on_loan" if loan else {rules.CIRC_ON_HOLD_SHELF: "on_hold_shelf"}.get(circ, row["status"]))
            if status == "available" and not item.policy.for_loan:
                status = "not_for_loan"
            items.append(dict(
                barcode=item.barcode, tag_id=row["tag_uid"], title=item.title, author=row["author"],
                call_number=row["call_number"], media=item.media, media_type=item.policy.sip_media_type,
                parts=item.parts, home_branch=item.home_branch, status=status, circulation_status=circ,
                borrower=loan.card if loan else None, due=fmt(loan.due_at) if loan else None,
                renewals=loan.renewals if loan else 0, renewals_max=item.policy.max_renewals,
                holds=[{"card": h.card, "pickup": h.pickup_branch, "status": h.status} for h in holds],
                scenario=row["scenario"]))
        return {"library": {"institution_branches": rules.BRANCH_NAMES, "this_branch": rules.THIS_BRANCH,
                            "currency": rules.CURRENCY, "seeded_at": self._meta("seeded_at")},
                "patrons": patrons, "items": items}

    def _meta(self, key: str) -> str | None:
        row = self.connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None
