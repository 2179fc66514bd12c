"""The book-drop controller end to end: simulated slot hardware, the real library-system client (SIP2, or FOLIO under KIOSK_TEST_PROTOCOL=folio), the demo library.

Every test drives ``BookDrop`` through the same inputs the hardware gives (light barrier, tags) and
checks the outcome where it matters: the hatch lock, the lights, the journal, the drop log, and the
demo library system's own database (loan closed once, at the drop time).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from kiosk.afterhours import slot as S
from kiosk.afterhours.droplog import DropLog, NewDrop
from kiosk.afterhours.report import build_report
from kiosk.circulation import journal as J
from kiosk.demo_ils.db import fmt
from kiosk.errors import HardwareError
from kiosk.hardware.records import TagRead
from tests.bookdrop_rig import Rig, on_loan, returned_at, write_config


@pytest.fixture
def library(demo_library):
    """SIP2, or FOLIO under KIOSK_TEST_PROTOCOL=folio (tests/conftest.py): the same demo library."""
    return demo_library


@pytest.fixture
def rig(tmp_path, library):
    r = Rig(tmp_path, library, start=time.time() - 3 * 3600)   # "last night": three hours ago
    yield r
    r.close()


def test_item_accepted_checked_in_at_drop_time_with_lock_lights_and_journal(rig, library):
    (barcode,) = on_loan(library)
    rig.drop.request_open()
    rig.tick()
    assert rig.devices.door_lock.states[-1] == "unlocked" and rig.drop.view().state == S.DOOR_OPEN
    dropped = rig.clock.now
    rig.drop_item(TagRead("E0040000000000A1", barcode))
    view = rig.drop.view()
    assert view.state == S.ACCEPTED and view.message_key == "item_accepted"
    assert view.items[0].state == S.CHECKED_IN and view.items[0].title
    assert ("beep", "ok") in rig.devices.indicators.history
    # in the library: the loan is closed exactly once, at the drop time (three hours ago)
    assert returned_at(library, barcode) == [fmt(datetime.fromtimestamp(dropped))]
    assert len(library.db.checkins_of(barcode)) == 1
    # in the journal: one check-in, dated at the drop, confirmed
    rows = [r for r in rig.journal.rows() if r.item_id == barcode]
    assert [(r.kind, r.state, r.acked) for r in rows] == [("checkin", J.DONE, True)]
    # the hatch locks again when nobody drops anything
    rig.tick(rig.settings.bookdrop.lock_open_s + 1)
    assert rig.drop.view().state == S.READY and rig.devices.door_lock.is_locked


def test_real_sim_devices_drive_the_slot(rig, library):
    """The sim light barrier and tag reader (their own threads) feed the controller."""
    (barcode,) = on_loan(library)
    rig.drop.request_open()
    rig.devices.tag_reader.place(barcode)
    rig.devices.tag_reader.wait_idle()
    rig.devices.slot_sensor.drop_item(0.05)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and rig.drop.view().state != S.ACCEPTED:
        time.sleep(0.05)
        rig.drop.wait_idle(5)
    assert rig.drop.view().items[0].item_id == barcode
    assert len(library.db.checkins_of(barcode)) == 1


def test_holds_and_transfers_are_routed_and_recorded(rig, library):
    (hold_here,) = on_loan(library, hold_pickup="MAIN")
    (hold_east,) = on_loan(library, hold_pickup="EAST")
    (east_item,) = on_loan(library, home="EAST")
    for barcode in (hold_here, hold_east, east_item):
        rig.drop.request_open()
        rig.drop_item(TagRead("U" + barcode, barcode))
        rig.tick(2)
    recs = {r.item_id: r for r in rig.drop.drop_log.between(0)}
    if library.protocol == "folio":
        # A protocol difference: FOLIO's check-in has no sort bin (SIP2's CL) and names the
        # destination service point, which routes returned items (docs/folio.md, "The service point");
        # SIP2's CT carries the branch code.
        sort_bin, east = "", "East Branch"
    else:
        sort_bin, east = "C", "EAST"
    assert (recs[hold_here].alert, recs[hold_here].sort_bin) == ("hold_here", sort_bin)
    assert (recs[hold_east].alert, recs[hold_east].destination) == ("hold_elsewhere", east)
    assert (recs[east_item].alert, recs[east_item].destination) == ("transfer", east)
    report = build_report(rig.drop.drop_log, datetime.fromtimestamp(rig.clock.now - 3600))
    assert [ln.item_id for ln in report.holds] == [hold_here]
    assert sorted(ln.item_id for ln in report.transfers) == sorted([hold_east, east_item])
    assert report.counts["checked_in"] == 3 and not report.failures


def test_unreadable_unknown_and_foreign_items_are_reported_not_accepted(tmp_path, library):
    rig = Rig(tmp_path, library, time.time() - 3600, extra='own_isils = ["DE-1"]')
    try:
        rig.drop.request_open()
        rig.drop_item()                                          # nothing read at all
        rig.tick(1)                                              # the read window passes
        assert rig.drop.view().state == S.REFUSED and rig.drop.view().message_key == "item_unreadable"
        rig.tick(2)
        rig.drop_item(TagRead("BAD1", None, error="CRC error"))
        assert rig.drop.view().items[0].state == S.UNREADABLE
        rig.tick(2)
        rig.drop_item(TagRead("F1", "77777", owner_isil="DE-99"))  # another library's tag
        assert rig.drop.view().items[0].state == S.NOT_OURS
        rig.tick(2)
        rig.drop_item(TagRead("N1", "NO-SUCH-ITEM"))              # our tag, unknown to the library
        assert rig.drop.view().items[0].state == S.NOT_OURS
        assert rig.drop.view().message_key == "item_not_ours"
        assert ("beep", "error") in rig.devices.indicators.history
        report = build_report(rig.drop.drop_log, datetime.fromtimestamp(0))
        assert len(report.failures) == 4 and report.counts["unreadable"] == 2
        staff = rig.journal.staff_queue()
        assert [r.item_id for r in staff] == ["NO-SUCH-ITEM"]      # the library refused: staff queue
    finally:
        rig.close()


def test_library_down_accepted_offline_then_replayed_backdated(rig, library):
    barcodes = on_loan(library, 3)
    library.stop()
    times = []
    for b in barcodes:
        rig.drop.request_open()
        times.append(rig.clock.now)
        rig.drop_item(TagRead("U" + b, b))
        rig.tick(1.5)                                            # past checkin_wait_s: shown accepted
        assert rig.drop.view().items[0].state == S.QUEUED
        rig.tick(30)
    assert rig.drop.view().online is False and rig.drop.view().pending_sync == 3
    assert all(r.state == J.QUEUED for r in rig.journal.rows())  # durable, acknowledged, waiting
    back = library.restarted()
    try:
        rig.clock.advance(3600)                                  # the library is back an hour later
        rig.tick()
        rig.drop.sync()
        assert rig.drop.wait_idle(20)
        rig.tick()
        for b, t in zip(barcodes, times, strict=True):
            assert returned_at(back, b) == [fmt(datetime.fromtimestamp(t))]   # the drop time, not now
            assert len(back.db.checkins_of(b)) == 1
        assert rig.drop.view().pending_sync == 0 and rig.drop.view().online
        assert {r.state for r in rig.journal.rows()} == {J.SYNCED}
    finally:
        back.stop()


def test_faults_lock_the_hatch(rig, library, monkeypatch):
    rig.drop.request_open()
    rig.tick()
    assert not rig.devices.door_lock.is_locked

    def broken(*a, **kw):
        raise HardwareError("indicator board not answering")
    monkeypatch.setattr(rig.devices.indicators, "beep", broken)
    (barcode,) = on_loan(library)
    rig.drop_item(TagRead("U1", barcode))
    view = rig.drop.view()
    assert view.state == S.FAULT and view.fault.startswith("hardware") and rig.devices.door_lock.is_locked
    assert len(library.db.checkins_of(barcode)) == 1               # the item itself was still taken in
    rig.drop.request_open()
    rig.tick()
    assert rig.devices.door_lock.is_locked                         # no unlock while faulted
    rig.drop.reset_fault()
    rig.tick()
    assert rig.drop.view().state == S.READY


def test_journal_failure_refuses_and_stops(rig, library, monkeypatch):
    from kiosk.errors import JournalError

    def full_disk(*a, **kw):
        raise JournalError("disk full")
    monkeypatch.setattr(rig.journal, "record_intent", full_disk)
    (barcode,) = on_loan(library)
    rig.drop.request_open()
    rig.drop_item(TagRead("U1", barcode))
    view = rig.drop.view()
    assert view.state == S.FAULT and view.fault.startswith("journal") and rig.devices.door_lock.is_locked
    assert ("beep", "ok") not in rig.devices.indicators.history   # never "accepted" without a journal
    report = build_report(rig.drop.drop_log, datetime.fromtimestamp(0))
    assert [ln.item_id for ln in report.pending] == [barcode]      # the morning shift sees it
    # staff fix the disk and reset the fault: the item is journaled and checked in, once
    monkeypatch.undo()
    rig.drop.reset_fault()
    rig.tick()
    rig.drop.sync()
    assert rig.drop.wait_idle(20)
    rig.tick()
    assert rig.drop.view().state == S.READY
    assert [r.state for r in rig.drop.drop_log.between(0)] == [S.CHECKED_IN]
    assert len(library.db.checkins_of(barcode)) == 1


def test_bin_capacity_stops_accepting_until_emptied(tmp_path, library):
    rig = Rig(tmp_path, library, time.time() - 3600, extra="bin_capacity = 2")
    try:
        for b in on_loan(library, 2):
            rig.drop.request_open()
            rig.drop_item(TagRead("U" + b, b))
            rig.tick(2)
        view = rig.drop.view()
        assert view.state == S.BIN_FULL and view.bin_full and view.message_key == "bin_full"
        rig.drop.request_open()
        rig.tick()
        assert rig.devices.door_lock.is_locked
        rig.drop.bin_emptied()
        rig.tick()
        assert rig.drop.view().state == S.READY and rig.drop.view().bin_count == 0
    finally:
        rig.close()


def test_staffed_mode_locks_and_staff_override_switches(tmp_path, library):
    rig = Rig(tmp_path, library, time.time() - 3600, mode="staffed")
    try:
        assert rig.drop.view().state == S.IDLE and rig.drop.view().mode.mode == "staffed"
        rig.drop.request_open()
        rig.tick()
        assert rig.devices.door_lock.is_locked
        rig.drop.set_mode_override("returns")
        rig.tick()
        view = rig.drop.view()
        assert view.state == S.READY and view.mode.reason == "staff" and view.message_key == "returns_only"
        rig.drop.set_mode_override(None)
        rig.tick()
        assert rig.drop.view().state == S.IDLE
    finally:
        rig.close()


def test_restart_completes_a_pass_interrupted_between_drop_log_and_journal(tmp_path, library):
    (barcode,) = on_loan(library)
    settings = write_config(tmp_path, library)
    dropped = time.time() - 7200
    with DropLog(settings.data_dir / "bookdrop.sqlite3") as log:     # a crash right after this commit
        log.add([NewDrop(dropped, S.LINE_READING, barcode, "U1")])
    rig = Rig(tmp_path, library, time.time())
    try:
        rig.drop.sync()
        assert rig.drop.wait_idle(20)
        rig.tick()
        (rec,) = rig.drop.drop_log.between(0)
        assert rec.state == S.CHECKED_IN and rec.journal_id is not None
        assert returned_at(library, barcode) == [fmt(datetime.fromtimestamp(dropped))]
        assert len([r for r in rig.journal.rows() if r.item_id == barcode]) == 1
    finally:
        rig.close()


def test_lock_window_never_exceeds_the_lock_drivers_limit(tmp_path, library):
    rig = Rig(tmp_path, library, time.time(), extra="lock_open_s = 60.0")
    try:
        assert rig.drop.cfg.lock_open_s == rig.devices.door_lock.max_unlock_s
        rig.drop.request_open()
        rig.tick()
        assert rig.drop.view().seconds_left == int(rig.devices.door_lock.max_unlock_s)
    finally:
        rig.close()


def test_cli_sync_sends_what_the_night_left_and_reports(tmp_path, library, capsys):
    import json

    from kiosk.cli import main

    barcodes = on_loan(library, 2)
    rig = Rig(tmp_path, library, time.time() - 5 * 3600)
    library.stop()
    drop_times = []
    for b in barcodes:
        rig.drop.request_open()
        drop_times.append(rig.clock.now)
        rig.drop_item(TagRead("U" + b, b))
        rig.tick(2)
    rig.close()
    back = library.restarted()
    try:
        since = datetime.fromtimestamp(drop_times[0] - 60).isoformat(timespec="seconds")
        assert main(["report", "returns", "--config", rig.settings.source, "--since", since, "--sync",
                     "--format", "json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert (data["counts"]["checked_in"], data["counts"]["waiting"]) == (2, 0)
        for b, t in zip(barcodes, drop_times, strict=True):
            assert returned_at(back, b) == [fmt(datetime.fromtimestamp(t))]
    finally:
        back.stop()
    # and with the library system away, --sync says so (exit 3) and still prints the report
    assert main(["report", "returns", "--config", rig.settings.source, "--since", since, "--sync",
                 "--format", "json"]) == 3
    assert json.loads(capsys.readouterr().out)["counts"]["drops"] == 2


def test_opening_hours_switch_modes_and_the_morning_report_reaches_staff(tmp_path, library):
    """auto mode: staffed until 18:00, a return slot overnight, staffed at 09:00 -- and at opening
    the night's report goes out through the [alerts] webhook (no titles in it)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    posts: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    hook = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    today = datetime.now().date()
    monday = today - timedelta(days=today.weekday() + 7)                    # last week's Monday
    before_closing = datetime.combine(monday, datetime.min.time()).replace(hour=17, minute=59)
    rig = Rig(tmp_path, library, before_closing.timestamp(), mode="auto",
              extra=f'[alerts]\nwebhook_url = "http://127.0.0.1:{hook.server_port}/hook"\n')
    try:
        view = rig.drop.view()
        assert (view.state, view.mode.mode, view.mode.reason) == (S.IDLE, "staffed", "hours")
        rig.tick(90)                                                          # 18:00:30
        view = rig.drop.view()
        assert (view.state, view.mode.mode) == (S.READY, "returns")
        assert view.mode.until == datetime.combine(monday + timedelta(days=1), datetime.min.time()).replace(hour=9)
        (barcode,) = on_loan(library, hold_pickup="MAIN")
        rig.drop.request_open()
        rig.drop_item(TagRead("U1", barcode))
        assert rig.drop.view().items[0].alert == "hold_here"
        rig.tick(15 * 3600)                                                   # 09:00:30 next day
        assert rig.drop.view().state == S.IDLE and rig.devices.door_lock.is_locked
        deadline = time.monotonic() + 10
        while not posts and time.monotonic() < deadline:
            time.sleep(0.05)
        (post,) = posts
        assert post["kind"] == "afterhours_report"
        assert barcode in post["text"] and "Holds to shelve (1)" in post["text"]
        title = library.db.item(barcode).title
        assert title not in post["text"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not rig.drop.drop_log.events(0.0, kind="report_sent"):
            time.sleep(0.05)
        assert len(rig.drop.drop_log.events(0.0, kind="report_sent")) == 1
    finally:
        rig.close()
        hook.shutdown()


def test_a_re_read_of_an_item_just_returned_is_not_a_second_return(rig, library):
    (barcode,) = on_loan(library)
    rig.drop.request_open()
    rig.drop_item(TagRead("U1", barcode))
    rig.tick(60)
    rig.drop.request_open()
    rig.drop_item(TagRead("U1", barcode))          # the same tag seen again a minute later
    view = rig.drop.view()
    assert [ln.state for ln in view.items] == [S.DUPLICATE, S.CHECKED_IN]
    assert view.state == S.ACCEPTED and view.bin_count == 1
    assert len([r for r in rig.journal.rows() if r.item_id == barcode]) == 1
    assert len(library.db.transactions_for_item(barcode, "checkin")) == 1
