"""The staff console without Kivy: settings, connection test, diagnostics, journal, statistics,
after-hours report, restart and shut down (commands injected: nothing is ever powered off)."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from kiosk import config
from kiosk.circulation import journal as J
from kiosk.circulation.journal import Journal
from kiosk.hardware import open_devices
from kiosk.ils.base import IlsStatus
from kiosk.staff.console import RESTART_EXIT_CODE, StaffConsole, editable_config_path
from kiosk.staff.stats import Stats


@pytest.fixture
def settings(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(f"""
[kiosk]
mode = "staffed"
language = "en"
[ils]
host = "127.0.0.1"
port = 6001
[storage]
data_dir = "{tmp_path / 'data'}"
[hardware]
simulate = false
[printer]
driver = "sim"
""")
    return config.load(path)


class FakeService:
    def __init__(self, journal):  # noqa: ANN001
        self.journal = journal
        self.online = True


class Recorder:
    def __init__(self) -> None:
        self.results: list = []

    def __call__(self, result) -> None:  # noqa: ANN001
        self.results.append(result)


def make(settings, **kw):  # noqa: ANN001,ANN003,ANN201
    return StaffConsole(settings, **kw)


def test_settings_are_validated_written_and_taken_over(settings):
    console = make(settings)
    assert console.config_path == Path(settings.source)      # production: the kiosk's own file
    got = Recorder()
    console.save_settings({**console.current_values(), "kiosk.language": "de", "receipt.choices": ["print"]},
                          got).result(5)
    r = got.results[-1]
    assert r.ok and r.changed == ("kiosk.language", "receipt.choices") and not r.restart_needed
    data = tomllib.loads(Path(settings.source).read_text())
    assert data["kiosk"]["language"] == "de" and data["receipt"]["choices"] == ["print"]
    assert settings.kiosk.language == "de"                    # the running kiosk took it over
    console.save_settings({"ils.port": 7000}, got).result(5)
    assert got.results[-1].ok and got.results[-1].restart_needed      # the pool is built at start
    assert settings.ils.port == 7000
    before = Path(settings.source).read_text()
    console.save_settings({"receipt.choices": []}, got).result(5)
    bad = got.results[-1]
    assert not bad.ok and "[receipt] choices" in bad.error and str(settings.source) not in bad.error
    console.save_settings({"ils.port": "seven"}, got).result(5)
    assert not got.results[-1].ok and "[ils] port" in got.results[-1].error
    assert Path(settings.source).read_text() == before        # a rejected change writes nothing
    assert settings.receipt.choices == ["print"]


def test_demo_settings_go_to_a_copy_not_the_repository_file(tmp_path):
    demo = config.load(config.CONFIG_DIR / "demo.toml")
    demo.storage.data_dir = str(tmp_path / "data")
    path = editable_config_path(demo)
    assert path.parent == tmp_path / "data" and path.read_bytes() == (config.CONFIG_DIR / "demo.toml").read_bytes()


def test_connection_test_uses_the_form_values_and_reports_failures(settings):
    seen = []

    class Ils:
        def __init__(self, s):  # noqa: ANN001
            seen.append((s.ils.host, s.ils.port, s.ils.tls))

        def status(self) -> IlsStatus:
            return IlsStatus(online=True, library_name="Demo")

        def close(self) -> None:
            pass

    got = Recorder()
    console = make(settings, ils_factory=Ils)
    console.test_connection({"ils.host": "sip.example.org", "ils.port": "6443", "ils.tls": True}, got).result(5)
    assert got.results[-1].ok and "Demo" in got.results[-1].detail
    assert seen == [("sip.example.org", 6443, True)]
    assert settings.ils.host == "127.0.0.1"                   # testing changes nothing
    console.test_connection({"ils.port": 70000}, got).result(5)
    assert not got.results[-1].ok and "port" in got.results[-1].detail

    def refuses(s):  # noqa: ANN001
        raise ConnectionRefusedError("connection refused")

    make(settings, ils_factory=refuses).test_connection({}, got).result(5)
    assert not got.results[-1].ok and "refused" in got.results[-1].detail


def test_diagnostics_readings_print_and_lights_on_the_open_devices(settings, tmp_path):
    settings.hardware.simulate = True
    devices = open_devices(settings)
    try:
        console = make(settings, devices=devices)
        console.note_card("23529000445172")
        devices.tag_reader.place("30000001")
        devices.tag_reader.poll_once()
        got = Recorder()
        console.run_diagnostics(got).result(30)
        checks, readings = got.results[-1]
        names = {c.name: c for c in checks}
        assert {"card_reader", "tag_reader", "printer", "library_system"} <= set(names)
        assert not names["library_system"].ok                # nothing listens on port 6001
        assert readings.last_card == "**********5172" and "30000001" in readings.tags
        console.test_print(got).result(5)
        assert got.results[-1].ok and devices.printer.receipts[-1].title == "Test print"
        console.test_lights(got, step_s=0).result(5)
        assert got.results[-1].ok
        assert ("ready", "on") in devices.indicators.history and ("beep", "ok") in devices.indicators.history
        devices.printer.paper = "out"
        assert console.readings().printer == "paper out"
    finally:
        devices.close()


def test_journal_lists_masked_entries_and_resolves_with_a_note(settings):
    journal = Journal(settings.data_dir / "journal.sqlite3")
    try:
        queued = journal.record_intent("checkin", "30000001", state=J.QUEUED, acked=True, offline=True)
        conflict = journal.record_intent("checkout", "30000002", patron_id="23529000445172")
        journal.record_outcome(conflict, J.STAFF, reason_key="unconfirmed_checkout")
        console = make(settings, service=FakeService(journal))
        got = Recorder()
        console.journal_listing(got).result(5)
        listing = got.results[-1]
        assert [e.id for e in listing.pending] == [queued] and [e.id for e in listing.staff] == [conflict]
        assert listing.staff[0].patron == "**********5172"     # never the full card number
        console.resolve(conflict, "  ", got).result(5)
        assert not got.results[-1].ok                          # a note is required
        console.resolve(conflict, "Checked at the desk", got).result(5)
        assert got.results[-1].ok
        row = journal.get(conflict)
        assert row.state == J.RESOLVED and row.note == "Checked at the desk"
        console.resolve(queued, "x", got).result(5)
        assert not got.results[-1].ok and "not waiting for staff" in got.results[-1].detail
    finally:
        journal.close()


def test_statistics_per_day_and_per_hour(settings):
    stats = Stats.for_settings(settings)
    today = date(2026, 11, 28)
    at = datetime(2026, 11, 28, 10, 15)
    for _ in range(3):
        stats.record_event("checkout", True, at)
    stats.record_event("checkin", True, at - timedelta(days=1))
    stats.record_event("checkout", False, at, reason_key="on_hold_for_other")
    got = Recorder()
    make(settings).statistics(got, today=today).result(5)
    r = got.results[-1]
    assert len(r.days) == 7 and r.days[-1].day == today and r.days[-1].counts.checkouts == 3
    assert r.days[-2].counts.returns == 1 and r.totals.refusals == 1
    assert r.hours[10].counts.checkouts == 3 and r.reasons == {"on_hold_for_other": 1}


def test_restart_and_shutdown_never_power_off_outside_a_systemd_pi(settings):
    exits, commands = [], []
    console = make(settings, exit_app=exits.append, run_command=commands.append, is_systemd=False, is_pi=True)
    console.restart()
    assert exits == [RESTART_EXIT_CODE]
    console.shutdown()
    assert exits[-1] == 0 and commands == []                   # the demo just stops the app
    pi = make(settings, exit_app=exits.append, run_command=commands.append, is_systemd=True, is_pi=True)
    assert pi.shutdown().ok and commands == [("systemctl", "poweroff")]

    def refused(argv):  # noqa: ANN001
        raise PermissionError("Interactive authentication required")

    failed = make(settings, exit_app=exits.append, run_command=refused, is_systemd=True, is_pi=True).shutdown()
    assert not failed.ok and "authentication" in failed.detail


def test_morning_report_from_the_drop_log(settings):
    from kiosk.afterhours.droplog import DropLog, NewDrop

    log = DropLog(settings.data_dir / "bookdrop.sqlite3")
    now = datetime.now().timestamp()
    log.add_event("mode", "staffed (hours)", ts=now - 7200)
    log.add_event("mode", "returns only (hours)", ts=now - 3600)
    (a, b) = log.add([NewDrop(now - 1800, "checked_in", "30000001", "U1", "", None, "", ""),
                      NewDrop(now - 100, "unreadable", None, "", "", "no_tag", "", "")])
    log.update(a, alert="hold_here", sort_bin="C")

    class Drop:
        drop_log = log

    got = Recorder()
    console = make(settings, bookdrop=Drop())
    assert abs(console.night_start().timestamp() - (now - 3600)) < 1
    console.morning_report(got).result(5)
    report = got.results[-1]
    assert [ln.item_id for ln in report.holds] == ["30000001"] and len(report.failures) == 1
    make(settings).morning_report(got).result(5)
    assert got.results[-1] is None                             # no book drop on this kiosk
