"""Issue 18 item 4: trusted time on a Pi without a real-time clock, with a fake clock source.

A stale boot clock must not date offline transactions: they are flagged, replayed without their
dates (nothing backdated), listed for staff, and no due date from that clock reaches the screen.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pytest

from kiosk.appliance import clock as kclock
from kiosk.appliance.clock import STEP_TOLERANCE_S, TrustedClock
from kiosk.appliance.monitoring import health
from kiosk.circulation.journal import Journal
from kiosk.circulation.memory_ils import MemItem, MemoryIls, MemPatron
from kiosk.circulation.offline import OfflinePolicy
from kiosk.circulation.replay import Replayer
from kiosk.circulation.transact import Circulator

CARD = "23529000445172"
T0 = 1_800_000_000.0   # 2027-01-15


class Fake:
    """A wall clock, a monotonic clock, a boot id and a time service, all set by the test."""

    def __init__(self, wall: float = T0, synced: bool | None = True) -> None:
        self.t, self.mono, self.boot, self.synced = wall, 1000.0, "boot-1", synced
        self.asked = 0

    def wall(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.mono

    def boot_id(self) -> str:
        return self.boot

    def sync(self) -> tuple[bool | None, str]:
        self.asked += 1
        return self.synced, "fake"

    def clock(self, path) -> TrustedClock:  # noqa: ANN001
        return TrustedClock(path, sync_source=self.sync, wall=self.wall, monotonic=self.monotonic,
                            boot_id=self.boot_id, recheck_s=0)


@pytest.fixture(autouse=True)
def _forget():
    kclock.reset()
    yield
    kclock.reset()


def test_a_synchronised_clock_is_trusted_and_remembered(tmp_path):
    f = Fake()
    c = f.clock(tmp_path / "clock.json")
    assert c.state().trusted
    saved = json.loads((tmp_path / "clock.json").read_text())
    assert saved["wall"] == T0 and saved["boot_id"] == "boot-1"


def test_a_time_service_that_says_not_synchronised_is_not_trusted(tmp_path):
    f = Fake(synced=False)
    st = f.clock(tmp_path / "clock.json").state()
    assert not st.trusted and "not synchronised" in st.reason
    assert not (tmp_path / "clock.json").exists()     # an untrusted time is never remembered as good


def test_after_a_power_cut_a_clock_earlier_than_the_last_good_time_is_not_trusted(tmp_path):
    f = Fake()
    f.clock(tmp_path / "clock.json").state()           # yesterday: synchronised, remembered
    f.t, f.boot, f.mono, f.synced = T0 - 3 * 86400, "boot-2", 5.0, None   # rebooted, stale, no network
    st = f.clock(tmp_path / "clock.json").state()
    assert not st.trusted and "earlier than the last known good" in st.reason


def test_a_backward_step_within_one_boot_is_caught_by_the_monotonic_clock(tmp_path):
    f = Fake(synced=None)
    c = f.clock(tmp_path / "clock.json")
    assert c.state().trusted                            # no time service: nothing against it yet
    f.mono += 7200                                      # two hours really passed...
    f.t += 7200 - STEP_TOLERANCE_S - 600                # ...but the wall clock moved on far less
    st = c.state()
    assert not st.trusted and "stepped back" in st.reason
    f.synced = True                                     # NTP answers: believed again
    assert c.state().trusted


def test_timesyncd_flag_file_means_synchronised(tmp_path, monkeypatch):
    flag = tmp_path / "synchronized"
    flag.write_text("")
    monkeypatch.setattr(kclock, "TIMESYNCD_FLAG", flag)
    assert kclock.system_sync_state() == (True, "systemd-timesyncd")


def test_the_kernel_ntp_state_is_read_without_error():
    assert kclock.kernel_synchronised() in (True, False, None)


def _down_ils() -> MemoryIls:
    ils = MemoryIls([MemPatron(CARD, "Alice")], [MemItem(f"B{i}", title=f"Book {i}") for i in range(4)])
    ils.down = True
    return ils


def test_offline_work_on_an_untrusted_clock_is_flagged_and_replayed_without_dates(tmp_path):
    f = Fake(wall=T0 - 30 * 86400, synced=False)        # a month behind: the Pi's stale boot clock
    jn = Journal(tmp_path / "journal.sqlite3", clock=f.clock(tmp_path / "clock.json"))
    try:
        ils = _down_ils()
        ils.items["B2"].borrower = CARD                  # on loan: the offline return is for it
        circ = Circulator(ils, jn, OfflinePolicy(mode="returns+checkouts", validate_cards=False),
                          clock=f.wall)
        out = circ.checkout(CARD, "B1")
        assert out.acknowledged and out.journaled
        assert out.due_date is None and out.due == ""    # never a due date from an untrusted clock
        back = circ.checkin("B2")
        assert back.acknowledged
        rows = {r.item_id: r for r in jn.rows()}
        assert rows["B1"].clock_untrusted and rows["B2"].clock_untrusted and rows["B1"].due_date is None
        assert {r.id for r in jn.untrusted_clock()} == {rows["B1"].id, rows["B2"].id}

        ils.down = False
        report = Replayer(ils, jn).sync()
        assert report.synced == 2
        sent = {t.item_id: t for t in ils.log}
        assert sent["B1"].transaction_date is None and sent["B2"].transaction_date is None   # not backdated
        expected_due = datetime.fromtimestamp(f.t).date()
        assert ils.items["B1"].due.date() != expected_due  # the library system set the due date
        # listed for staff until they close them
        queue = {r.item_id for r in jn.staff_queue()}
        assert queue == {"B1", "B2"}
        jn.resolve(rows["B2"].id, "return date checked in the library system")
        assert {r.item_id for r in jn.staff_queue()} == {"B1"}
    finally:
        jn.close()


def test_on_a_trusted_clock_offline_work_keeps_its_dates(tmp_path):
    f = Fake(synced=True)
    jn = Journal(tmp_path / "journal.sqlite3", clock=f.clock(tmp_path / "clock.json"))
    try:
        ils = _down_ils()
        ils.items["B2"].borrower = CARD
        circ = Circulator(ils, jn, OfflinePolicy(mode="returns+checkouts", validate_cards=False),
                          clock=f.wall)
        assert circ.checkout(CARD, "B1").due_date is not None
        circ.checkin("B2")
        assert not any(r.clock_untrusted for r in jn.rows())
        ils.down = False
        Replayer(ils, jn).sync()
        assert all(t.transaction_date is not None for t in ils.log)
        assert jn.staff_queue() == []
    finally:
        jn.close()


OLD_SCHEMA = """
CREATE TABLE txn (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, item_id TEXT NOT NULL,
  patron_id TEXT, state TEXT NOT NULL, acked INTEGER NOT NULL DEFAULT 0, offline INTEGER NOT NULL DEFAULT 0,
  created REAL NOT NULL, txn_date TEXT NOT NULL, due_date TEXT, owner_pid INTEGER, owner TEXT,
  attempts INTEGER NOT NULL DEFAULT 0, reason_key TEXT, reason_text TEXT, title TEXT, due TEXT, note TEXT,
  updated REAL NOT NULL);
CREATE TABLE card (card_hash TEXT PRIMARY KEY, last_seen REAL NOT NULL, can_checkout INTEGER NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO txn (kind, item_id, state, acked, offline, created, txn_date, updated)
  VALUES ('checkin', 'OLD1', 'queued', 1, 1, 1.0, '2026-01-01T10:00:00', 1.0);
"""


def test_an_existing_journal_gets_the_new_column(tmp_path):
    path = tmp_path / "journal.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.close()
    with Journal(path) as jn:
        (row,) = jn.pending()
        assert row.item_id == "OLD1" and row.clock_untrusted is False   # written before: trusted as before
        jn.record_intent("checkin", "NEW1", clock_untrusted=True)
        assert jn.rows()[-1].clock_untrusted


def test_journal_list_shows_the_flag(tmp_path, capsys):
    from kiosk.cli import main

    f = Fake(synced=False)
    with Journal(tmp_path / "journal.sqlite3", clock=f.clock(tmp_path / "clock.json")) as jn:
        Circulator(_down_ils(), jn, OfflinePolicy(mode="returns")).checkin("B3")
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[storage]\ndata_dir = "{tmp_path}"\n')
    assert main(["journal", "list", "--config", str(cfg)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pending"][0]["clock_untrusted"] is True and out["clock_untrusted"] == [out["pending"][0]["id"]]


def test_health_and_doctor_report_the_clock(tmp_path, monkeypatch):
    f = Fake(synced=False)
    f.clock(tmp_path / "clock.json").state()
    entry = health()["checks"]["clock"]
    assert entry["ok"] is False and entry["state"] == "untrusted"
    assert health()["status"] != "ok"

    class Settings:
        data_dir = tmp_path

    monkeypatch.setattr(kclock, "system_sync_state", lambda: (False, "timedatectl"))
    ok, detail = kclock.doctor_check(Settings())
    assert not ok and "NOT trusted" in detail
    monkeypatch.setattr(kclock, "system_sync_state", lambda: (True, "timedatectl"))
    assert kclock.doctor_check(Settings())[0]


def test_the_book_drop_does_not_send_a_drop_time_read_from_an_untrusted_clock(tmp_path):
    from kiosk.afterhours.droplog import DropLog, NewDrop
    from kiosk.afterhours.returns import ReturnSender

    f = Fake(synced=False)
    jn = Journal(tmp_path / "journal.sqlite3", clock=f.clock(tmp_path / "clock.json"))
    log = DropLog(tmp_path / "bookdrop.sqlite3")
    ils = MemoryIls([MemPatron(CARD, "Alice")], [MemItem("B1", title="Book")])
    ils.items["B1"].borrower = CARD
    sender = ReturnSender(ils, jn, log, notify=lambda rec: None, set_online=lambda on: None, workers=1)
    try:
        (drop_id,) = log.add([NewDrop(f.t, "journaled", "B1")])
        jid = sender.journal_return("B1", f.t)
        log.update(drop_id, journal_id=jid)
        sender.send_now(drop_id)
        assert sender.wait_idle(10)
        assert [t.item_id for t in ils.log] == ["B1"] and ils.log[0].transaction_date is None
    finally:
        sender.close()
        log.close()
        jn.close()


def test_staff_are_alerted_when_the_clock_stays_untrusted():
    """Not at every boot (NTP usually answers within a minute), but when it lasts 15 minutes."""
    from kiosk.appliance.alerts import CLOCK_UNTRUSTED_AFTER_S, AlertWatcher
    from kiosk.appliance.monitoring import Metrics

    class Section:
        ils_down_after_min = queue_waiting_after_min = 10

    sent: list[str] = []

    class Alerter:
        def alert(self, kind, text):  # noqa: ANN001
            sent.append(kind)
            return True

    reg = Metrics()
    watcher = AlertWatcher(Section(), Alerter(), reg)
    reg.set("clock_trusted", 0)
    watcher.check(now=100)
    watcher.check(now=100 + CLOCK_UNTRUSTED_AFTER_S / 2)
    assert sent == []
    watcher.check(now=100 + CLOCK_UNTRUSTED_AFTER_S)
    watcher.check(now=200 + CLOCK_UNTRUSTED_AFTER_S)
    assert sent == ["clock_untrusted"]
    reg.set("clock_trusted", 1)
    watcher.check(now=300 + CLOCK_UNTRUSTED_AFTER_S)
    assert sent == ["clock_untrusted"]
