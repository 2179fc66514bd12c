"""The journal: durable commits, crash recovery, privacy of card numbers, staff queue."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.circulation import journal as j
from kiosk.circulation.journal import Journal
from kiosk.errors import JournalError

CARD = "23529000445172"


def test_journal_mode_and_synchronous_full(tmp_path):
    """WAL only on an SQLite without the WAL-reset bug, else TRUNCATE (tests/test_durable_mode.py)."""
    from kiosk.appliance.durable import journal_mode_for

    with Journal(tmp_path / "j.sqlite3") as journal:
        assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == journal_mode_for()
        assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2   # FULL


def test_intent_is_committed_before_the_call_returns(tmp_path):
    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        jid = journal.record_intent("checkout", "B1", patron_id=CARD)
        other = sqlite3.connect(path)           # another connection sees it: it is committed
        assert other.execute("SELECT state, patron_id FROM txn WHERE id=?", (jid,)).fetchone() == ("sending", CARD)
        journal.record_outcome(jid, j.DONE, acked=True, title="T")
        state, patron = other.execute("SELECT state, patron_id FROM txn WHERE id=?", (jid,)).fetchone()
        other.close()
    assert state == "done" and patron.endswith(CARD[-4:]) and CARD not in patron   # settled: masked


def test_rows_left_mid_send_by_a_dead_process_become_unknown(tmp_path):
    path = tmp_path / "j.sqlite3"
    code = ("import sys; from kiosk.circulation.journal import Journal; jn = Journal(sys.argv[1]); "
            "a = jn.record_intent('checkout', 'B1', patron_id='P1'); "
            "b = jn.record_intent('checkin', 'B2', state='queued', acked=True, offline=True); "
            "jn.mark_replaying([b])")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    with Journal(path) as journal:
        rows = {r.item_id: r for r in journal.rows()}
        assert rows["B1"].state == j.UNKNOWN and not rows["B1"].acked
        assert rows["B2"].state == j.UNKNOWN and rows["B2"].acked
        assert "interrupted" in rows["B1"].note
        assert [r.item_id for r in journal.pending()] == ["B1", "B2"]


def test_rows_of_a_live_process_are_not_touched(tmp_path):
    with Journal(tmp_path / "j.sqlite3") as journal:
        jid = journal.record_intent("checkout", "B1", patron_id="P1")
        with Journal(tmp_path / "j.sqlite3") as second:      # same (live) pid: not a crash
            assert second.get(jid).state == j.SENDING


def test_card_cache_keeps_no_card_numbers(tmp_path):
    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        journal.remember_card(CARD, True, now=1000.0)
        assert journal.card_status(CARD, 86400, now=2000.0) is True
        assert journal.card_status(CARD, 500, now=2000.0) is None          # too old
        assert journal.card_status("other", 86400, now=2000.0) is None
        journal.remember_card("BLOCKED1", False, now=1000.0)
        assert journal.card_status("BLOCKED1", 86400, now=1000.0) is False
        assert journal.forget_old_cards(10, now=2000.0) == 2
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert CARD.encode() not in raw


def test_staff_queue_and_resolve(tmp_path):
    with Journal(tmp_path / "j.sqlite3") as journal:
        a = journal.record_intent("checkin", "B1")
        journal.record_outcome(a, j.STAFF, reason_key="return_unconfirmed")
        b = journal.record_intent("checkin", "B2")
        journal.record_outcome(b, j.DONE)
        assert [r.id for r in journal.staff_queue()] == [a]
        journal.resolve(a, "found on the trolley, checked in at the desk")
        assert journal.staff_queue() == [] and journal.get(a).state == j.RESOLVED
        with pytest.raises(JournalError):
            journal.resolve(b, "nothing to resolve")
        with pytest.raises(JournalError):
            journal.resolve(999, "no such row")


def test_offline_checkout_count_per_patron(tmp_path):
    with Journal(tmp_path / "j.sqlite3") as journal:
        for item in ("B1", "B2"):
            jid = journal.record_intent("checkout", item, patron_id="P1")
            journal.record_outcome(jid, j.QUEUED, acked=True, offline=True)
        jid = journal.record_intent("checkout", "B3", patron_id="P2")
        journal.record_outcome(jid, j.QUEUED, acked=True, offline=True)
        assert journal.offline_checkouts_for("P1") == 2 and journal.offline_checkouts_for("P9") == 0
        journal.record_outcome(jid, j.SYNCED)
        assert journal.offline_checkouts_for("P2") == 0


def test_unusable_path_is_a_journal_error(tmp_path):
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(JournalError):
        Journal(tmp_path / "dir.sqlite3")


_WRITER = r"""
import sys
from kiosk.circulation.journal import Journal
jn = Journal(sys.argv[1])
i = 0
while True:
    jid = jn.record_intent("checkin", f"B{i}", state="queued", acked=True, offline=True)
    sys.stdout.write(f"{jid}\n"); sys.stdout.flush()      # printed only after the commit returned
    i += 1
"""


@pytest.mark.parametrize("kills", [8])
def test_every_committed_row_survives_kill_9(tmp_path, kills):
    path = tmp_path / "j.sqlite3"
    acknowledged: list[int] = []
    for k in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
        deadline = time.monotonic() + 0.25 + 0.05 * k
        lines = []
        while time.monotonic() < deadline:
            lines.append(proc.stdout.readline())
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()
        proc.wait()
        acknowledged += [int(x) for x in (lines + rest.splitlines()) if x.strip()]
    with Journal(path) as journal:
        ids = {r.id for r in journal.rows()}
    assert acknowledged and set(acknowledged) <= ids
    assert json.dumps(sorted(acknowledged)) == json.dumps(sorted(set(acknowledged)))   # ids never reused


def test_a_reused_pid_does_not_hide_an_orphaned_row(tmp_path):
    """After a reboot the new kiosk may get the crashed one's pid: the start time tells them apart."""
    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        jid = journal.record_intent("checkout", "B1", patron_id="P1")
        journal._db.execute("UPDATE txn SET owner=? WHERE id=?", (f"{os.getpid()}:1:old-boot", jid))
    with Journal(path) as journal:
        assert journal.get(jid).state == j.UNKNOWN


def test_prune_keeps_pending_and_staff_rows(tmp_path):
    with Journal(tmp_path / "j.sqlite3") as journal:
        states = [j.DONE, j.SYNCED, j.QUEUED, j.STAFF, j.UNKNOWN, j.ABANDONED]
        ids = {}
        for n, state in enumerate(states):
            ids[state] = journal.record_intent("checkin", f"B{n}", now=1000.0)
            journal.record_outcome(ids[state], state)
        journal._db.execute("UPDATE txn SET updated = 1000.0")
        assert journal.prune(86400, now=1000.0 + 2 * 86400) == 3
        assert {r.state for r in journal.rows()} == {j.QUEUED, j.STAFF, j.UNKNOWN}


def _open_and_write(path: str, i: int, start, errors: str) -> None:  # noqa: ANN001 - a multiprocessing Event
    """One process creating and writing the store; any error goes to a file the parent reads."""
    from kiosk.appliance.durable import ShortTransaction

    start.wait(30)
    try:
        with ShortTransaction(path, durable=False) as db:
            db.execute("CREATE TABLE IF NOT EXISTS t (i INTEGER)")
            db.execute("INSERT INTO t VALUES (?)", (i,))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        with open(f"{errors}.{i}", "w") as f:
            f.write(repr(exc))


def test_many_processes_creating_a_store_at_once_all_succeed(tmp_path):
    """The kiosk and a staff tool may create the same store at the same moment: no 'database is locked'.

    Plain forked processes, each joined with a deadline and killed past it: the multiprocessing
    Pool this test used hung the whole suite once (Pool.terminate waiting on a worker stuck on the
    task queue's lock), where a test must fail instead.  In WAL mode, without set_journal_mode's
    retry this fails about one run in two; in TRUNCATE mode it is the busy timeout that covers it."""
    import multiprocessing as mp

    from kiosk.appliance.durable import ShortTransaction

    ctx = mp.get_context("fork")
    for round_ in range(10):
        path = str(tmp_path / f"store{round_}.sqlite3")
        errors = str(tmp_path / f"errors{round_}")
        start = ctx.Event()
        procs = [ctx.Process(target=_open_and_write, args=(path, i, start, errors)) for i in range(8)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(30)
        hung = [p for p in procs if p.is_alive()]
        for p in hung:
            p.kill()
        assert not hung, f"{len(hung)} of 8 processes did not finish creating the store in 30 s"
        assert [p.exitcode for p in procs] == [0] * 8
        reported = sorted(tmp_path.glob(f"errors{round_}.*"))
        assert reported == [], [r.read_text() for r in reported]
        with ShortTransaction(path) as db:
            assert db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 8
