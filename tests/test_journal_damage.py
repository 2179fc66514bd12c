"""Issue 13 item 3 (and issue 18 item 3): a damaged, lost, read-only or full journal is detected,
reported, and never trusted with an acknowledgement.

The damage is done the way an SD card does it: bytes overwritten in place, in the middle of the
file's pages or in its header, behind SQLite's back.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import exitcodes
from kiosk.appliance.durable import StorageDamaged, header_problem, integrity_problems
from kiosk.appliance.monitoring import health, metrics
from kiosk.circulation import journal as j
from kiosk.circulation import journal_check
from kiosk.circulation.journal import Journal
from kiosk.circulation.memory_ils import MemItem, MemoryIls, MemPatron
from kiosk.circulation.offline import OfflinePolicy
from kiosk.circulation.transact import Circulator
from kiosk.errors import JournalError

CARD = "23529000445172"


@pytest.fixture(autouse=True)
def _fresh_state():
    journal_check.reset()
    yield
    journal_check.reset()


def fill(path: Path, rows: int = 400) -> None:
    """A journal of several pages, closed cleanly (WAL checkpointed into the main file)."""
    with Journal(path) as jn:
        for i in range(rows):
            jid = jn.record_intent("checkin", f"B{i:05d}", now=1_000_000.0 + i)
            jn.record_outcome(jid, j.DONE, acked=True, title=f"A title long enough to fill pages {i}" * 2)


def damage_pages(path: Path) -> None:
    """Overwrite the start of two pages in the middle of the file (their b-tree headers)."""
    size = path.stat().st_size
    page = 4096
    with open(path, "r+b") as fh:
        for n in (size // page // 2, size // page // 2 + 1):
            fh.seek(n * page)
            fh.write(b"\xa5" * 64)
        fh.flush()
        os.fsync(fh.fileno())


def damage_header(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.write(b"NOT SQLITE AT ALL")


def ils_down() -> MemoryIls:
    ils = MemoryIls([MemPatron(CARD, "Alice")], [MemItem(f"X{i}", title="t") for i in range(5)])
    ils.down = True
    return ils


@pytest.mark.parametrize("damage", [damage_pages, damage_header])
def test_damage_while_open_is_found_before_an_offline_return_is_acknowledged(tmp_path, damage):
    path = tmp_path / "journal.sqlite3"
    fill(path)
    jn = Journal(path, keep_damaged_aside=True)
    try:
        damage(path)                       # the SD card, behind the open connection's back
        circ = Circulator(ils_down(), jn, OfflinePolicy(mode="returns"))
        if damage is damage_header and jn.journal_mode != "wal":
            # A rollback journal writes page 1 (its change counter) through to the file at every
            # commit, from the connection's cache: the header is whole again, and the return is
            # acknowledged only because the file then reads back sound from disk.  (In WAL mode
            # page 1 goes to the write-ahead log and the damaged header stays until a checkpoint.)
            out = circ.checkin("X1")
            assert out.acknowledged and not jn.damaged
            assert header_problem(path) is None and integrity_problems(path) == []
            ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            assert ro.execute("SELECT item_id, state FROM txn WHERE id=?", (out.journal_id,)).fetchone() \
                == ("X1", j.QUEUED)
            ro.close()
            return
        with pytest.raises(JournalError):
            out = circ.checkin("X1")
            # today: "done, journaled" although the journal cannot be read back
            assert not out.acknowledged, out
        assert jn.damaged
    finally:
        jn.close()
    # kept aside, never deleted; the path is free for a new journal
    kept = list(tmp_path.glob("journal.sqlite3.damaged-*"))
    assert [p.name for p in kept if not p.name.endswith(("-wal", "-shm"))]
    assert not path.exists()
    assert health()["checks"]["journal_storage"]["state"] == "damaged"
    assert metrics.get("journal_damaged") == 1


@pytest.mark.parametrize("damage", [damage_pages, damage_header])
def test_damage_before_open_refuses_at_open(tmp_path, damage):
    path = tmp_path / "journal.sqlite3"
    fill(path)
    damage(path)
    with pytest.raises(StorageDamaged):
        Journal(path)
    assert path.exists()                    # a command does not move the kiosk's file
    # the app keeps it aside and gets a journal that refuses everything
    jn = Journal(path, keep_damaged_aside=True)
    assert jn.damaged and jn.kept_at and jn.kept_at.exists()
    with pytest.raises(StorageDamaged):
        jn.record_intent("checkin", "X1", state=j.QUEUED, acked=True, offline=True)
    with pytest.raises(StorageDamaged):
        jn.pending_count()
    jn.close()


def _kiosk(*args: str, data: Path) -> subprocess.CompletedProcess:
    cfg = data / "kiosk.toml"
    cfg.write_text(f'[storage]\ndata_dir = "{data}"\n[ils]\nhost = "127.0.0.1"\nport = 9\ntimeout_s = 0.5\n')
    return subprocess.run([sys.executable, "-m", "kiosk", *args, "--config", str(cfg)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("action", ["list", "export", "sync"])
def test_journal_commands_exit_4_on_a_damaged_journal(tmp_path, action):
    fill(tmp_path / "journal.sqlite3")
    damage_pages(tmp_path / "journal.sqlite3")
    r = _kiosk("journal", action, data=tmp_path)
    assert r.returncode == exitcodes.EXIT_STORAGE, (r.returncode, r.stdout, r.stderr)
    assert "damaged" in r.stderr and "Traceback" not in r.stderr


def test_doctor_check_reports_damage(tmp_path):
    fill(tmp_path / "journal.sqlite3")
    assert journal_check.doctor_check(tmp_path)[0]
    damage_pages(tmp_path / "journal.sqlite3")
    ok, detail = journal_check.doctor_check(tmp_path)
    assert not ok and "damaged" in detail


def _earlier_work(data: Path) -> None:
    conn = sqlite3.connect(data / "stats.sqlite3")
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, at REAL NOT NULL, day TEXT NOT NULL, hour INTEGER "
                 "NOT NULL, kind TEXT NOT NULL, ok INTEGER NOT NULL, offline INTEGER NOT NULL DEFAULT 0, "
                 "reason_key TEXT)")
    conn.execute("INSERT INTO events (at, day, hour, kind, ok, offline) VALUES (1, '2026-01-01', 9, 'checkin', 1, 1)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("was", ["missing", "empty"])
def test_a_lost_journal_after_earlier_work_is_reported_not_silently_recreated(tmp_path, was):
    _earlier_work(tmp_path)
    path = tmp_path / "journal.sqlite3"
    if was == "empty":
        path.write_bytes(b"")
    with Journal(path) as jn:
        loss = jn.loss()
        assert loss and "statistics" in " ".join(loss["evidence"])
    assert health()["checks"]["journal_storage"]["state"] == "lost"
    assert health()["status"] != "ok"
    assert metrics.get("journal_lost") == 1
    ok, detail = journal_check.doctor_check(tmp_path)
    assert not ok and "acknowledge-loss" in detail
    # reported again after a restart, until staff acknowledge it
    journal_check.reset()
    with Journal(path) as jn:
        assert health()["checks"]["journal_storage"]["state"] == "lost"
        jn.acknowledge_loss("checked the library system's loans for the outage")
    assert health()["checks"]["journal_storage"]["ok"]
    assert journal_check.doctor_check(tmp_path)[0]


def test_a_new_kiosk_starts_its_journal_quietly(tmp_path):
    with Journal(tmp_path / "journal.sqlite3") as jn:
        assert jn.loss() is None
    assert journal_check.doctor_check(tmp_path)[0]
    assert health()["checks"]["journal_storage"]["ok"]


# -- read-only and full file systems (issue 18 item 3) -----------------------------------------------

def test_a_read_only_journal_refuses_to_acknowledge(tmp_path):
    """SQLITE_READONLY on every write (what a query_only connection answers; root ignores file modes)."""
    path = tmp_path / "journal.sqlite3"
    fill(path, rows=3)
    jn = Journal(path)
    try:
        jn._db.execute("PRAGMA query_only=1")
        circ = Circulator(ils_down(), jn, OfflinePolicy(mode="returns"))
        with pytest.raises(JournalError):
            out = circ.checkin("X1")
            assert not out.acknowledged
    finally:
        jn.close()


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 256 KiB tmpfs (root only, like the kiosk's data partition in miniature)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the query_only and injected-error tests cover the path")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_read_only_file_system_refuses_to_acknowledge(tiny_tmpfs, tmp_path):
    """The data partition mounted read-only (a bind mount: the kernel answers EROFS)."""
    fill(tiny_tmpfs / "journal.sqlite3", rows=3)
    view = tmp_path / "ro"
    view.mkdir()
    subprocess.run(["mount", "--bind", str(tiny_tmpfs), str(view)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
        with pytest.raises(OSError) as err:       # EROFS itself, for a plain write
            (view / "probe").write_text("x")
        assert err.value.errno == errno.EROFS
        jn = None
        with pytest.raises(JournalError):
            jn = Journal(view / "journal.sqlite3")  # refused at open, or at the first write
            circ = Circulator(ils_down(), jn, OfflinePolicy(mode="returns"))
            out = circ.checkin("X1")
            assert not out.acknowledged
        if jn is not None:
            jn.close()
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


_FULL_CHILD = r"""
import sys, json
from kiosk.circulation.journal import Journal
from kiosk.circulation.memory_ils import MemItem, MemoryIls
from kiosk.circulation.offline import OfflinePolicy
from kiosk.circulation.transact import Circulator
from kiosk.errors import JournalError
jn = Journal(sys.argv[1])
ils = MemoryIls([], [MemItem(f"X{i}", title="t" * 200) for i in range(100000)])
ils.down = True
circ = Circulator(ils, jn, OfflinePolicy(mode="returns"))
acked, refused = 0, 0
for i in range(100000):
    try:
        out = circ.checkin(f"X{i}" + "-" * 400)
    except JournalError as exc:
        refused += 1
        break
    if out.acknowledged:
        acked += 1
print(json.dumps({"acked": acked, "refused": refused}))
"""


def test_a_full_file_system_refuses_to_acknowledge(tiny_tmpfs):
    """Returns until ENOSPC: the first that does not fit is refused, and every one acknowledged
    before it reads back afterwards."""
    path = tiny_tmpfs / "journal.sqlite3"
    out = subprocess.run([sys.executable, "-c", _FULL_CHILD, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["refused"] == 1 and res["acked"] > 0
    subprocess.run(["mount", "-o", "remount,size=1m", str(tiny_tmpfs)], check=True)
    with Journal(path, recover=False) as jn:
        assert jn.pending_count() == res["acked"]    # every acknowledgement is really there


def test_enospc_and_erofs_at_the_sqlite_layer_become_journal_errors(tmp_path, monkeypatch):
    """Whatever OS error the write meets surfaces as JournalError and nothing is acknowledged."""
    path = tmp_path / "journal.sqlite3"
    jn = Journal(path)
    try:
        circ = Circulator(ils_down(), jn, OfflinePolicy(mode="returns"))
        for code, text in ((errno.ENOSPC, "database or disk is full"), (errno.EROFS, "attempt to write a readonly database")):
            real = jn._db

            class Failing:
                """The connection as SQLite behaves when the kernel answers ENOSPC / EROFS on write."""

                def __init__(self, conn, text=text):
                    self.conn, self.text = conn, text

                def execute(self, sql, *a):
                    if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "COMMIT")):
                        raise sqlite3.OperationalError(self.text)
                    return self.conn.execute(sql, *a)

                def __getattr__(self, name):
                    return getattr(self.conn, name)

            jn._db = Failing(real)
            try:
                with pytest.raises(JournalError):
                    out = circ.checkin(f"X{code % 5}")
                    assert not out.acknowledged
            finally:
                jn._db = real
        assert jn.pending_count() == 0
    finally:
        jn.close()


# -- the kiosk: out of service, and staff alerted --------------------------------------------------

def _service(tmp_path, journal, ils):
    from kiosk import config
    from kiosk.circulation.service import KioskService

    settings = config.load(None, ["kiosk.offline_policy=returns", f"storage.data_dir={tmp_path}"])
    return KioskService(settings, ils, journal, None)


def test_the_kiosk_goes_out_of_service_on_a_journal_damaged_at_start(tmp_path):
    from kiosk.circulation import view as v

    path = tmp_path / "journal.sqlite3"
    fill(path)
    damage_pages(path)
    jn = Journal(path, keep_damaged_aside=True)       # as kiosk/app.py opens it
    svc = _service(tmp_path, jn, ils_down())
    try:
        assert svc.view().state == v.OUT_OF_SERVICE
        svc.start(v.RETURN)
        svc.item_seen("X1")
        svc.wait_idle(5)
        assert svc.view().state == v.OUT_OF_SERVICE and not svc.view().items
    finally:
        svc.close()
        jn.close()


def test_damage_under_a_running_kiosk_sends_the_item_to_the_desk_and_the_kiosk_out_of_service(tmp_path):
    from kiosk.circulation import view as v

    path = tmp_path / "journal.sqlite3"
    fill(path)
    jn = Journal(path, keep_damaged_aside=True)
    svc = _service(tmp_path, jn, ils_down())
    try:
        svc.wait_idle(5)        # the start's integrity check ran on the whole journal (service.py)
        damage_pages(path)      # ... and the damage comes after it, under a running kiosk
        svc.start(v.RETURN)
        svc.item_seen("X1")
        svc.wait_idle(5)
        line = svc.view().items[0]
        assert line.state == v.NEEDS_STAFF and not line.journaled    # never "done"
        svc.finish("none")
        svc.tick(svc.clock() + 60)
        svc.wait_idle(5)
        assert svc.view().state == v.OUT_OF_SERVICE
    finally:
        svc.close()
        jn.close()


def test_the_periodic_check_finds_damage_between_patrons(tmp_path):
    from kiosk.circulation import outages
    from kiosk.circulation import view as v

    path = tmp_path / "journal.sqlite3"
    fill(path)
    jn = Journal(path, keep_damaged_aside=True)
    svc = _service(tmp_path, jn, ils_down())
    try:
        damage_header(path)
        svc.tick(svc.clock() + outages.INTEGRITY_CHECK_INTERVAL_S + 1)
        svc.wait_idle(5)
        assert jn.damaged and svc.view().state == v.OUT_OF_SERVICE
    finally:
        svc.close()
        jn.close()


def test_staff_are_alerted_once_when_the_journal_is_damaged(tmp_path):
    from kiosk.appliance.alerts import AlertWatcher
    from kiosk.appliance.monitoring import Metrics

    class Section:
        ils_down_after_min = queue_waiting_after_min = 10

    class Alerter:
        def __init__(self):
            self.sent = []

        def alert(self, kind, text):
            self.sent.append(kind)
            return True

    reg, alerter = Metrics(), Alerter()
    watcher = AlertWatcher(Section(), alerter, reg)
    watcher.check(now=0)
    reg.set("journal_damaged", 1)
    watcher.check(now=1)
    watcher.check(now=2)
    assert alerter.sent == ["journal_damaged"]


def test_the_app_checks_the_journal_on_a_worker_not_at_open(tmp_path):
    """kiosk/app.py opens the journal on Kivy's main thread: only the header is read there; the
    service checks the whole file at once on its worker and goes out of service."""
    from kiosk.circulation import view as v

    path = tmp_path / "journal.sqlite3"
    fill(path)
    damage_pages(path)
    jn = Journal(path, keep_damaged_aside=True, check_at_open=False)
    assert not jn.damaged
    svc = _service(tmp_path, jn, ils_down())
    try:
        svc.wait_idle(10)
        assert jn.damaged and svc.view().state == v.OUT_OF_SERVICE
    finally:
        svc.close()
        jn.close()
