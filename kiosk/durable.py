"""A durable SQLite store: the one way the kiosk writes what it must never lose.

WAL mode with ``synchronous=FULL`` means a ``COMMIT`` returns only once the write-ahead log is on
disk (fsync), so a power cut or ``kill -9`` after it cannot undo it.  One connection behind a
re-entrant lock keeps writers in order across worker threads; ``BEGIN IMMEDIATE`` takes the write
lock up front so two processes on the same file never deadlock half-way through a transaction.
The offline journal and the book drop's log are both built on it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from kiosk.errors import JournalError


class DurableDb:
    """Base for a thread-safe store in one SQLite file.

    Subclasses set ``WHAT`` (how errors name the file, e.g. "journal") and pass their schema;
    they use :meth:`_tx` for changes (durable when the ``with`` block ends) and :meth:`_query`
    for reads.  Every SQLite or OS error surfaces as :class:`JournalError`.
    """

    WHAT = "store"

    def __init__(self, path: str | os.PathLike, schema: str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                                       timeout=30.0)
            _set_wal(self._db)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(schema)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"cannot open the {self.WHAT} {self.path}: {exc}") from exc
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")   # synchronous=FULL: durable when this returns
            except sqlite3.Error as exc:
                raise JournalError(f"{self.WHAT} {self.path}: {exc}") from exc

    def _query(self, sql: str, args: Iterable = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"{self.WHAT} {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()

    def __enter__(self):  # noqa: ANN204 - returns the subclass
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _set_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch to WAL (persistent in the file, so a no-op once done).

    While another connection is creating the same file, SQLite can answer "database is locked" at
    once instead of waiting out the busy timeout; that race only lasts a moment, so try again.
    """
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02)


class ShortTransaction:
    """``with ShortTransaction(path) as db:`` -- one connection, one transaction, always closed.

    For small stores written now and then from any process (the staff lock-out counter, the
    statistics table): nothing is held open between calls.  ``durable=False`` trades the fsync of
    ``synchronous=FULL`` for speed where losing the last row to a power cut is acceptable
    (statistics); WAL keeps the file consistent either way.  ``immediate`` takes the write lock up
    front, for read-modify-write sequences that must not interleave across processes.
    """

    def __init__(self, path: str | os.PathLike, *, durable: bool = True, immediate: bool = True) -> None:
        self.conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            _set_wal(self.conn)
            self.conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
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
