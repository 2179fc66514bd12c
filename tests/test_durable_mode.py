"""The durable stores' journal mode: WAL only on an SQLite without the WAL-reset bug.

https://sqlite.org/wal.html#walresetbug: 3.7.0 through 3.51.2 can corrupt a WAL database or lose
committed writes when several connections use it; fixed in 3.51.3, backported to 3.44.6 and 3.50.7.
Elsewhere (this machine, Raspberry Pi OS bookworm: 3.40.1) the stores use the rollback journal in
TRUNCATE mode with synchronous=FULL.  See kiosk/appliance/durable.py, journal_mode_for().
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from kiosk.appliance import durable
from kiosk.appliance.durable import ShortTransaction, journal_mode_for
from kiosk.circulation import journal as j
from kiosk.circulation.journal import Journal


@pytest.mark.parametrize(("version", "mode"), [
    ((3, 7, 0), "truncate"),
    ((3, 40, 1), "truncate"),     # Debian / Raspberry Pi OS bookworm, this machine's Python
    ((3, 44, 5), "truncate"),
    ((3, 44, 6), "wal"),          # backport
    ((3, 44, 9), "wal"),
    ((3, 45, 0), "truncate"),     # 3.45 .. 3.50.6 were never fixed
    ((3, 46, 1), "truncate"),     # Debian trixie
    ((3, 50, 6), "truncate"),
    ((3, 50, 7), "wal"),          # backport
    ((3, 51, 0), "truncate"),
    ((3, 51, 2), "truncate"),     # the last release with the bug
    ((3, 51, 3), "wal"),
    ((3, 52, 0), "wal"),
    ((3, 53, 0), "wal"),
    ((4, 0, 0), "wal"),
    ((3, 51), "truncate"),        # a short version tuple reads as x.y.0
])
def test_mode_chosen_per_sqlite_version(version, mode):
    assert journal_mode_for(version) == mode


def test_the_linked_sqlite_decides_by_default(monkeypatch):
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 40, 1))
    assert journal_mode_for() == "truncate"
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 51, 3))
    assert journal_mode_for() == "wal"


def _mode_on_disk(path) -> str:  # noqa: ANN001
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]   # "wal" persists in the file; else "delete"
    finally:
        conn.close()


def test_a_new_journal_here_uses_the_mode_chosen_for_this_sqlite(tmp_path):
    with Journal(tmp_path / "j.sqlite3") as journal:
        assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == journal_mode_for()
        assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2   # FULL
        journal.record_intent("checkin", "B1", state=j.QUEUED, acked=True, offline=True)
    if sqlite3.sqlite_version_info < (3, 44, 6):          # this machine (3.40.1): the rollback journal
        assert journal_mode_for() == "truncate"
        assert _mode_on_disk(tmp_path / "j.sqlite3") != "wal"
        assert (tmp_path / "j.sqlite3-journal").stat().st_size == 0   # truncated at each commit
        assert not (tmp_path / "j.sqlite3-wal").exists()


@pytest.mark.parametrize(("version", "mode"), [((3, 40, 1), "truncate"), ((3, 51, 3), "wal")])
def test_every_store_follows_the_choice(tmp_path, monkeypatch, version, mode):
    """DurableDb (journal, drop log, station store) and ShortTransaction (lock-out, statistics)."""
    from kiosk.afterhours.droplog import DropLog
    from kiosk.station.store import StationStore

    monkeypatch.setattr(sqlite3, "sqlite_version_info", version)
    with Journal(tmp_path / "j.sqlite3") as journal:
        assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == mode
    with DropLog(tmp_path / "drop.sqlite3") as drops:
        assert drops._db.execute("PRAGMA journal_mode").fetchone()[0] == mode
    with StationStore(tmp_path / "station.sqlite3") as station:
        assert station._db.execute("PRAGMA journal_mode").fetchone()[0] == mode
    for durable_ in (True, False):
        with ShortTransaction(tmp_path / "stats.sqlite3", durable=durable_) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == mode
            # synchronous=NORMAL is safe from corruption in WAL only: a rollback journal keeps FULL
            assert db.execute("PRAGMA synchronous").fetchone()[0] == (2 if durable_ or mode != "wal" else 1)


def _write_wal_journal_and_die(path) -> None:  # noqa: ANN001
    """A kiosk on a WAL-mode journal (as every kiosk before this change) killed with rows still
    only in its write-ahead log."""
    code = ("import os, sqlite3, sys; sqlite3.sqlite_version_info = (3, 51, 3)\n"
            "from kiosk.circulation.journal import Journal\n"
            "jn = Journal(sys.argv[1])\n"
            "assert jn._db.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'\n"
            "jn._db.execute('PRAGMA wal_autocheckpoint=0')\n"
            "for i in range(30):\n"
            "    jn.record_intent('checkin', f'B{i}', state='queued', acked=True, offline=True)\n"
            "os.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr


def test_an_old_wal_journal_is_converted_at_open_with_its_rows(tmp_path):
    path = tmp_path / "journal.sqlite3"
    _write_wal_journal_and_die(path)
    assert os.path.getsize(str(path) + "-wal") > 0            # the rows are in the write-ahead log
    with Journal(path) as journal:
        assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == journal_mode_for()
        assert [r.item_id for r in journal.rows() if r.state == j.QUEUED] == [f"B{i}" for i in range(30)]
        journal.record_intent("checkin", "B30", state=j.QUEUED, acked=True, offline=True)
    if journal_mode_for() == "truncate":
        assert not os.path.exists(str(path) + "-wal")          # checkpointed into the file, removed
        assert _mode_on_disk(path) != "wal"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)    # the rows are in the main file now
    assert conn.execute("SELECT COUNT(*) FROM txn WHERE state='queued'").fetchone()[0] == 31
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


@pytest.fixture
def sqlite_with_the_bug(monkeypatch):  # noqa: ANN201
    """The rollback-journal paths run on any machine: as on an SQLite with the WAL-reset bug
    (this one, 3.40.1, has it anyway), never skipped where a fixed SQLite is linked."""
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 40, 1))


def test_a_wal_journal_another_connection_holds_stays_wal_for_now(tmp_path, caplog, sqlite_with_the_bug):
    """Leaving WAL needs the file alone.  Busy: it stays WAL (logged) and works; the next open switches."""
    path = tmp_path / "journal.sqlite3"
    _write_wal_journal_and_die(path)
    other = sqlite3.connect(path)
    other.execute("SELECT COUNT(*) FROM txn").fetchone()      # another process has it open (WAL)
    try:
        t0 = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="kiosk.appliance.durable"), Journal(path) as journal:
            assert time.monotonic() - t0 < 5                  # a bounded wait, not the 30 s busy timeout
            assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            journal.record_intent("checkin", "B30", state=j.QUEUED, acked=True, offline=True)
        assert "stays in WAL mode" in caplog.text
    finally:
        other.close()
    with Journal(path) as journal:                               # alone now: switched
        assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "truncate"
        assert len([r for r in journal.rows() if r.state == j.QUEUED]) == 31


def test_acknowledging_offline_works_around_a_reader_and_a_writer(tmp_path, sqlite_with_the_bug):
    """In rollback mode a reader holds a COMMIT back and a writing connection holds the check back
    while it commits; the busy timeouts cover both, so an offline return is still acknowledged."""
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        journal.record_intent("checkin", "B0", state=j.QUEUED, acked=True, offline=True)
        # 1. another process reading (e.g. `kiosk journal list`) when the commit comes
        reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM txn").fetchone()[0] == 1   # holds a read lock
        threading.Timer(0.5, reader.execute, ("COMMIT",)).start()
        t0 = time.monotonic()
        journal.record_intent("checkin", "B1", state=j.QUEUED, acked=True, offline=True)  # verifies too
        assert time.monotonic() - t0 >= 0.3                   # it did wait for the reader
        reader.close()
        # 2. another writer holding its write lock while the check before acknowledging runs
        writer = Journal(path, recover=False)
        with writer._tx() as db:                              # BEGIN IMMEDIATE: RESERVED lock
            db.execute("INSERT INTO meta(key, value) VALUES ('x', 'y')")
            assert journal.verify() is True                    # the read-only check still reads
        writer.close()
        assert journal._last_verified > 0
        assert [r.item_id for r in journal.rows()] == ["B0", "B1"]


def test_a_damaged_store_is_kept_aside_with_its_rollback_journal(tmp_path):
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        journal.record_intent("checkin", "B0", state=j.QUEUED, acked=True, offline=True)
    companion = durable.COMPANION_SUFFIXES
    assert "-journal" in companion and "-wal" in companion
    for suffix in companion:                                  # whatever SQLite left next to it
        with open(str(path) + suffix, "ab"):
            pass
    kept = durable.keep_aside(path)
    assert kept is not None and kept.exists() and not path.exists()
    for suffix in companion:
        assert not os.path.exists(str(path) + suffix), suffix  # nothing left to mix with a new file
        assert os.path.exists(str(kept) + suffix), suffix


def test_a_transaction_cut_off_mid_write_is_rolled_back_at_open_and_checked(tmp_path, caplog, sqlite_with_the_bug):
    """kill -9 while a transaction has already written to the file: the rollback journal is hot.
    The store's own (read-write) connection rolls it back at open, so the read-only integrity
    check after it still gives a verdict (a read-only connection cannot roll back a hot journal)."""
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        for i in range(200):
            journal.record_intent("checkin", f"B{i}", state=j.QUEUED, acked=True, offline=True)
    code = ("import os, sqlite3, sys; sqlite3.sqlite_version_info = (3, 40, 1)\n"
            "from kiosk.circulation.journal import Journal\n"
            "db = Journal(sys.argv[1])._db\n"
            "db.execute('PRAGMA cache_size=2'); db.execute('BEGIN IMMEDIATE')\n"   # a tiny cache spills
            "db.execute(\"UPDATE txn SET note = hex(randomblob(300))\")\n"
            "os.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    assert os.path.getsize(str(path) + "-journal") > 0                      # hot
    with caplog.at_level(logging.WARNING, logger="kiosk.appliance.durable"), Journal(path) as journal:
        rows = journal.rows()
        assert len(rows) == 200 and {r.note for r in rows} == {None}         # the cut-off update is undone
        assert journal.verify() is True
    assert "no verdict" not in caplog.text
