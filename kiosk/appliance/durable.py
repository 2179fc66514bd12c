"""A durable SQLite store: the one way the kiosk writes what it must never lose.

Journal mode: :func:`journal_mode_for` chooses it from the SQLite the interpreter links.  WAL only
where SQLite has the WAL-reset bug fixed (https://sqlite.org/wal.html#walresetbug: a data race,
3.7.0 through 3.51.2, that can corrupt a database or lose committed writes when two connections
use the same WAL database -- the kiosk always has several); elsewhere (e.g. 3.40.1 on Debian /
Raspberry Pi OS bookworm) the rollback journal in TRUNCATE mode.  Either way with
``synchronous=FULL``, so a ``COMMIT`` returns only once it is on disk (fsync) and a power cut or
``kill -9`` after it cannot undo it.  One connection behind a re-entrant lock keeps writers in
order across worker threads; ``BEGIN IMMEDIATE`` takes the write lock up front so two processes
on the same file never deadlock half-way through a transaction.  The offline journal, the book
drop's log and the station store are built on :class:`DurableDb`; the staff lock-out and the
statistics on :class:`ShortTransaction`.

A store on an SD card can be damaged in place (a worn card returns other bytes than were written).
SQLite then still accepts many writes while reads of the damaged pages fail, so an acknowledgement
would be a promise the kiosk cannot keep.  Hence: an integrity check (``PRAGMA quick_check`` on a
fresh read-only connection, bounded in time) when a store that already existed is opened and
whenever a caller asks (:meth:`DurableDb.verify`); any SQLite "corrupt" / "not a database" answer
marks the store damaged; a damaged store refuses everything (:class:`StorageDamaged`, a
JournalError) and, where the owner asks for it (``keep_damaged_aside``), the damaged file is renamed
to ``<name>.damaged-<UTC time>`` (with its ``-journal`` or ``-wal``) for staff -- never deleted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

from kiosk.errors import JournalError

log = logging.getLogger(__name__)

INTEGRITY_DEADLINE_S = 10.0      # a quick_check that takes longer is abandoned (not a verdict)
WRITER_BUSY_TIMEOUT_S = 30.0     # > INTEGRITY_DEADLINE_S: in rollback mode a check's read lock holds a COMMIT back
MODE_SWITCH_WAIT_S = 0.5         # leaving WAL needs the file to ourselves; past this it stays WAL (logged)
_DAMAGE_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
_DAMAGE_WORDS = ("malformed", "not a database", "corrupt")
COMPANION_SUFFIXES = ("-journal", "-wal", "-shm")   # files SQLite keeps next to a database


class StorageDamaged(JournalError):
    """A durable store's file is damaged: nothing may be acknowledged on it (exit code 4)."""

    def __init__(self, message: str, *, kept_at: Path | None = None) -> None:
        super().__init__(message)
        self.kept_at = kept_at


def is_damage(exc: BaseException) -> bool:
    """Does this SQLite error say the file itself is damaged (rather than busy, full or read-only)?"""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in _DAMAGE_CODES:
        return True
    return any(w in str(exc).lower() for w in _DAMAGE_WORDS)


def integrity_problems(path: str | os.PathLike, *, deadline_s: float = INTEGRITY_DEADLINE_S,
                       max_errors: int = 10) -> list[str] | None:
    """``PRAGMA quick_check`` of the file at ``path`` on a fresh read-only connection.

    Returns ``[]`` when the file is sound, the problems SQLite found when it is not, and None when
    the check could not give a verdict (it took longer than ``deadline_s``, or the file could not
    be opened for a reason other than damage).  A fresh connection reads what is on the disk now,
    not pages an open connection has cached.  Slow on a big file: call it off the UI thread.
    """
    path = Path(path)
    header = header_problem(path)
    if header:
        return [header]
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        return [str(exc)] if is_damage(exc) else None
    stop_at = time.monotonic() + deadline_s
    conn.set_progress_handler(lambda: int(time.monotonic() > stop_at), 10_000)
    try:
        rows = conn.execute(f"PRAGMA quick_check({int(max_errors)})").fetchall()
    except sqlite3.Error as exc:
        if is_damage(exc):
            return [str(exc)]
        log.warning("integrity check of %s gave no verdict: %s", path, exc)
        return None
    finally:
        conn.close()
    problems = [str(r[0]) for r in rows if r and r[0] != "ok"]
    return problems


def header_problem(path: Path) -> str | None:
    """Check the file's 100-byte header as it is on disk.  In WAL mode a reader takes page 1 from the
    write-ahead log when it is there, so a header damaged on the card can hide until the next
    checkpoint -- or until a power cut leaves a file SQLite refuses to open (fileformat.html §1.3)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        return None if not path.exists() else f"header unreadable: {exc}"
    if not head:
        return None
    if len(head) < 100 or head[:16] != b"SQLite format 3\x00":
        return "file is not a database (header damaged)"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1) or head[18] not in (1, 2) or head[19] not in (1, 2) \
            or head[21:24] != bytes((64, 32, 32)):
        return "database header damaged (page size, versions or payload fractions out of range)"
    return None


def keep_aside(path: Path, now: float | None = None) -> Path | None:
    """Rename a damaged store (and its ``-journal``, ``-wal``, ``-shm``) to ``<name>.damaged-<UTC time>``.

    Never deletes: staff or a recovery tool may still get rows out of it.  The rollback journal
    goes with its file: a hot journal holds that file's old pages, for that file alone.  Returns
    the new path of the main file (None if there was no file to move)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    moved = None
    for suffix in ("", *COMPANION_SUFFIXES):
        src = Path(str(path) + suffix)
        if src.exists():
            os.replace(src, Path(str(target) + suffix))
            if not suffix:
                moved = target
    _fsync_dir(path.parent)
    return moved


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class DurableDb:
    """Base for a thread-safe store in one SQLite file.

    Subclasses set ``WHAT`` (how errors name the file, e.g. "journal") and pass their schema;
    they use :meth:`_tx` for changes (durable when the ``with`` block ends) and :meth:`_query`
    for reads.  Every SQLite or OS error surfaces as :class:`JournalError`.
    """

    WHAT = "store"

    def __init__(self, path: str | os.PathLike, schema: str, *, keep_damaged_aside: bool = False,
                 check_deadline_s: float = INTEGRITY_DEADLINE_S, check_at_open: bool = True) -> None:
        """Open (or create) the store.

        A file that already held data is checked first (:func:`integrity_problems`).  When it is
        damaged: with ``keep_damaged_aside`` (the kiosk itself) the file is moved aside and this
        object stays open but refuses everything (``self.damaged`` says why), so the owner can go
        out of service; without it (commands, tools) :class:`StorageDamaged` is raised here.
        ``check_at_open=False`` leaves the full check to the owner's worker thread (the kiosk app
        opens its journal on Kivy's main thread); a file SQLite cannot even open still counts.
        """
        self.path = Path(path)
        self.keep_damaged_aside = keep_damaged_aside
        self.damaged: str | None = None
        self.kept_at: Path | None = None
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self.journal_mode: str | None = None   # what set_journal_mode gave this connection
        existed = self.path.is_file() and self.path.stat().st_size > 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                                       timeout=WRITER_BUSY_TIMEOUT_S)
            self.journal_mode = set_journal_mode(self._db)
            self._db.execute("PRAGMA synchronous=FULL")
            if existed and not check_at_open:
                problem = header_problem(self.path)
                if problem:
                    raise _Damaged(problem)
            elif existed:
                problems = integrity_problems(self.path, deadline_s=check_deadline_s)
                if problems:
                    raise _Damaged("; ".join(problems[:3]))
            self._db.executescript(schema)
        except (sqlite3.Error, _Damaged) as exc:
            if isinstance(exc, _Damaged) or is_damage(exc):
                self._mark_damaged(str(exc), raise_=not keep_damaged_aside)
                return
            raise JournalError(f"cannot open the {self.WHAT} {self.path}: {exc}") from exc
        except OSError as exc:
            raise JournalError(f"cannot open the {self.WHAT} {self.path}: {exc}") from exc

    # ---- damage --------------------------------------------------------------------------
    def _mark_damaged(self, reason: str, *, raise_: bool = True) -> None:
        """Stop using the file for good; move it aside when asked; tell the owner (``on_damaged``)."""
        first = self.damaged is None
        if first:
            self.damaged = reason
            with self._lock:
                if self._db is not None:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.close()
                    self._db = None
                if self.keep_damaged_aside:
                    try:
                        self.kept_at = keep_aside(self.path)
                    except OSError as exc:
                        log.error("cannot move the damaged %s %s aside: %s", self.WHAT, self.path, exc)
            log.error("the %s %s is damaged (%s)%s; nothing more is acknowledged on it", self.WHAT,
                      self.path, reason, f"; kept as {self.kept_at}" if self.kept_at else "")
            self.on_damaged()
        if raise_:
            raise self._damage_error()

    def _damage_error(self) -> StorageDamaged:
        where = f" (kept as {self.kept_at})" if self.kept_at else ""
        return StorageDamaged(f"the {self.WHAT} {self.path} is damaged{where}: {self.damaged}. Nothing is "
                              "acknowledged on it; see docs/circulation.md, 'A damaged journal'",
                              kept_at=self.kept_at)

    def on_damaged(self) -> None:
        """Called once when damage is found (subclasses report it: health, alerts)."""

    def verify(self, deadline_s: float = INTEGRITY_DEADLINE_S) -> bool | None:
        """Check the file on disk now: True sound, None no verdict; damage raises StorageDamaged."""
        if self.damaged:
            raise self._damage_error()
        problems = integrity_problems(self.path, deadline_s=deadline_s)
        if problems:
            self._mark_damaged("; ".join(problems[:3]))
        return None if problems is None else True

    def _failed(self, exc: sqlite3.Error) -> JournalError:
        if is_damage(exc):
            with contextlib.suppress(StorageDamaged):
                self._mark_damaged(str(exc))
            return self._damage_error()
        return JournalError(f"{self.WHAT} {self.path}: {exc}")

    # ---- use -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self.damaged or self._db is None:
                raise self._damage_error() if self.damaged else JournalError(f"the {self.WHAT} is closed")
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")   # synchronous=FULL: durable when this returns
            except sqlite3.Error as exc:
                if db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise self._failed(exc) from exc

    def _query(self, sql: str, args: Iterable = ()) -> list[tuple]:
        with self._lock:
            if self.damaged or self._db is None:
                raise self._damage_error() if self.damaged else JournalError(f"the {self.WHAT} is closed")
            try:
                return self._db.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            if self._db is not None:
                self._db.close()

    def __enter__(self):  # noqa: ANN204 - returns the subclass
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Damaged(Exception):
    """Internal: the integrity check at open found problems."""


# SQLite releases with the WAL-reset bug fixed: 3.51.3 and later, and the backports 3.44.6 (3.44.x)
# and 3.50.7 (3.50.x).  https://sqlite.org/wal.html#walresetbug
_WAL_RESET_FIXED = (((3, 44, 6), (3, 45, 0)), ((3, 50, 7), (3, 51, 0)), ((3, 51, 3), (999, 0, 0)))


def journal_mode_for(version: tuple[int, ...] | None = None) -> str:
    """The journal mode for the durable stores on this SQLite (``sqlite3.sqlite_version_info``):
    ``"wal"`` or ``"truncate"``.

    Why: every SQLite from 3.7.0 through 3.51.2 has the WAL-reset bug
    (https://sqlite.org/wal.html#walresetbug), a data race between connections to one WAL database
    that can corrupt it or lose committed writes.  The kiosk always has several connections to its
    stores (the read-only integrity check before every offline acknowledgement, the CLI tools,
    other processes), and "nothing is lost" (GUIDE rule 2) cannot rest on tight timing.  So WAL
    only on a fixed SQLite (>= 3.51.3, or the backports 3.44.6 <= v < 3.45 and 3.50.7 <= v < 3.51).

    Otherwise the rollback journal in TRUNCATE mode, which is just as durable with
    ``synchronous=FULL``: the journal is fsync'd before the database file is written, the database
    file is fsync'd, and the commit point -- truncating the journal to zero bytes -- is fsync'd too
    when the pager's fullSync is set (synchronous=FULL; pager.c pager_end_transaction(), "otherwise
    the journal might resurrect following a power loss and cause the last transaction to roll
    back"; https://sqlite.org/pragma.html#pragma_journal_mode and #pragma_synchronous).  TRUNCATE
    rather than DELETE: DELETE's commit point is unlinking the journal, and SQLite fsyncs the
    directory after that only under synchronous=EXTRA (a journal could come back after a power
    cut); TRUNCATE also spares a directory entry made and removed per commit.  The price: a reader
    holds a COMMIT back while it reads (and waits while one is written); the busy timeouts cover
    it (WRITER_BUSY_TIMEOUT_S > INTEGRITY_DEADLINE_S).
    """
    v = tuple(sqlite3.sqlite_version_info if version is None else version)[:3]
    v = v + (0,) * (3 - len(v))
    return "wal" if any(lo <= v < hi for lo, hi in _WAL_RESET_FIXED) else "truncate"


def set_journal_mode(conn: sqlite3.Connection, wanted: str | None = None, *, attempts: int = 100,
                     switch_wait_s: float = MODE_SWITCH_WAIT_S) -> str:
    """Give ``conn`` the journal mode :func:`journal_mode_for` chose; returns the mode it has now.

    WAL is a property of the file (persistent); the rollback modes belong to each connection, so
    TRUNCATE is set on every connection (no lock needed).  Leaving WAL (a file written before this
    choice, or by an older kiosk) needs the file to ourselves for a moment -- SQLite checkpoints the
    WAL into the file, then removes it -- and answers "database is locked" at once while another
    connection has it open: tried again for ``switch_wait_s``, then the file stays WAL for now
    (logged; the next open tries again), never an error for the patron.  Entering WAL (a fixed
    SQLite) keeps the old behaviour: while another connection is creating the same file SQLite can
    answer "locked" at once instead of waiting out the busy timeout; that race lasts a moment.
    """
    wanted = (wanted or journal_mode_for()).lower()
    leave_wal_until = None
    for attempt in range(attempts):
        try:
            current = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if current == wanted:
                return current
            mode = str(conn.execute(f"PRAGMA journal_mode={wanted.upper()}").fetchone()[0]).lower()
            if mode == wanted:
                if current == "wal":
                    log.info("SQLite %s has the WAL-reset bug: %s switched from WAL to the %s journal",
                             sqlite3.sqlite_version, _db_name(conn), wanted)
                return mode
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or (wanted == "wal" and attempt == attempts - 1):
                raise
            mode = None
        # "locked", or SQLite kept the old mode: another connection has the file right now
        if wanted != "wal":
            leave_wal_until = leave_wal_until or time.monotonic() + switch_wait_s
            if time.monotonic() >= leave_wal_until or attempt == attempts - 1:
                with contextlib.suppress(sqlite3.Error):
                    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                        log.warning("%s stays in WAL mode for now (SQLite %s has the WAL-reset bug): another "
                                    "connection has it open; it is switched to the %s journal at a later open",
                                    _db_name(conn), sqlite3.sqlite_version, wanted)
                        return "wal"
                if attempt == attempts - 1:
                    break
        time.sleep(0.02)
    raise sqlite3.OperationalError(f"cannot set journal_mode={wanted} on {_db_name(conn)}")


def _db_name(conn: sqlite3.Connection) -> str:
    with contextlib.suppress(sqlite3.Error, IndexError, TypeError):
        return str(conn.execute("PRAGMA database_list").fetchone()[2]) or "a store"
    return "a store"


class ShortTransaction:
    """``with ShortTransaction(path) as db:`` -- one connection, one transaction, always closed.

    For small stores written now and then from any process (the staff lock-out counter, the
    statistics table): nothing is held open between calls.  ``durable=False`` trades the fsync of
    ``synchronous=FULL`` for speed where losing the last row to a power cut is acceptable
    (statistics) -- in WAL mode only: there ``synchronous=NORMAL`` still cannot corrupt the file,
    while in a rollback journal mode it can, rarely (https://sqlite.org/pragma.html#pragma_synchronous),
    and the statistics are evidence of earlier work when a journal goes missing (journal_check).
    ``immediate`` takes the write lock up front, for read-modify-write sequences that must not
    interleave across processes.
    """

    def __init__(self, path: str | os.PathLike, *, durable: bool = True, immediate: bool = True) -> None:
        self.conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            relaxed = set_journal_mode(self.conn) == "wal" and not durable
            self.conn.execute(f"PRAGMA synchronous={'NORMAL' if relaxed else 'FULL'}")
        except BaseException:
            self.conn.close()
            raise
        self._begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute(self._begin)
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        try:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.conn.close()
