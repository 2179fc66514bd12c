"""Staff mode on the touchscreen, driven with synthetic touches (each test in its own process).

Enter with the staff PIN, change a setting (written, validated, a bad value refused with its
message), run the diagnostics, resolve a staff-queue entry, read the statistics, leave by idle
timeout; and the PIN lock-out surviving an app restart.  Set KIOSK_STAFF_SHOTS=DIR to keep
800x480 screenshots of every staff page.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from datetime import datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui
PIN = "2468"
SHOTS = os.environ.get("KIOSK_STAFF_SHOTS")


def _shot(k, name: str) -> None:  # noqa: ANN001
    """Screenshot (on request), and every page keeps its touch targets at least 44x44 px."""
    from kiosk.ui.palette import TOUCH_MIN
    from kiosk.ui.widgets import too_small

    k.driver.settle()                # laid out, however many frames that takes on a loaded machine
    assert not too_small(k.app.root_widget, TOUCH_MIN), (name, too_small(k.app.root_widget, TOUCH_MIN))
    if SHOTS:
        k.driver.screenshot(Path(SHOTS) / f"{name}.png")


def _enter(k, pin: str = PIN) -> None:  # noqa: ANN001
    """The staff entry (gesture or staff card) opens the PIN pad; the PIN is typed with taps."""
    d, app = k.driver, k.app
    app.enter_staff()
    d.until_screen("staff")
    for digit in pin:
        d.tap(d.button(digit))
    # A person's OK taps are further apart than the buttons' debounce (kiosk/ui/widgets.py
    # DEBOUNCE_S): five tries in a row took ~11 frames each, 0.35-0.37 s at 30 fps, and a
    # try's OK landing inside the last one's debounce was dropped (a red CI run).
    from kiosk.ui.widgets import DEBOUNCE_S

    d.pump(DEBOUNCE_S)
    d.tap(d.button("OK"))
    d.until(lambda: not app.screen("staff").checking, 10, "the PIN check")


def _texts(k) -> str:  # noqa: ANN001
    return "\n".join(k.driver.texts())


@pytest.mark.sip2_only("edits [ils] port, a SIP2 key, on the settings page; the FOLIO keys' page and its "
                       "connection test: tests/test_folio_staff_ui.py")
def test_staff_tools_end_to_end(gui_kiosk):
    from kivy.uix.label import Label

    from kiosk.circulation import journal as J
    from kiosk.staff.auth import hash_secret
    from kiosk.staff.stats import Stats
    from kiosk.ui.widgets import Pressable

    with gui_kiosk({"staff.pin_hash": hash_secret(PIN)}) as k:
        d, app = k.driver, k.app
        stats = Stats.for_settings(k.settings)
        now = datetime.now()
        for ok, kind in ((True, "checkout"), (True, "checkout"), (True, "checkout"), (True, "checkin"),
                         (False, "checkout")):
            stats.record_event(kind, ok, now, reason_key=None if ok else "on_hold_for_other")
        journal = app.service.journal
        # an offline checkout whose outcome needs staff: the due date promised to the patron shows
        conflict = journal.record_intent("checkout", "30000042", patron_id="23529000445172", offline=True,
                                         acked=True, due_date="2030-01-15T23:59:00")
        journal.record_outcome(conflict, J.STAFF, reason_key="unconfirmed_checkout")

        _enter(k)
        d.until_screen("staff_home")
        d.until(lambda: app.screen("staff_home").staff_queue == 1, 10, "journal counts")
        _shot(k, "staff-home")

        # -- settings: a good change is written and taken over; a bad one is refused, file untouched
        d.tap(d.button("Settings"))
        d.until_screen("staff_settings")
        page = app.screen("staff_settings")
        console = app.staff_mode.console
        d.tap(d.button("Test connection"))
        d.until(lambda: page.connection.startswith("Connected"), 15, "the connection test")
        d.tap(d.button("Kiosk"))
        d.settle()                                      # the section is laid out (not "0.1 s of frames")
        d.tap(d.button("Deutsch"))
        d.tap(d.button("Receipt and look"))
        d.settle()                                      # the section is laid out
        d.tap(d.button("E-mail"))                       # receipt: print + no receipt left
        d.tap(d.button("Save"))
        d.until(lambda: page.message.startswith("Saved."), 10, "saved")
        written = tomllib.loads(console.config_path.read_text())
        assert written["kiosk"]["language"] == "de" and written["receipt"]["choices"] == ["print", "none"]
        assert app.settings.kiosk.language == "de"
        assert console.config_path.parent == k.settings.data_dir        # the demo never edits config/
        _shot(k, "staff-settings")
        before = console.config_path.read_text()
        d.tap(d.button("Print"))
        d.tap(d.button("No receipt"))                   # nothing left: not a valid receipt setting
        d.pump(0.4)                                     # the same button again: after the debounce
        d.tap(d.button("Save"))
        d.until(lambda: page.message.startswith("Not saved"), 10, "refused")
        assert "[receipt] choices" in page.message and page.message in _texts(k)
        assert console.config_path.read_text() == before
        _shot(k, "staff-settings-refused")
        d.tap(d.button("Library system"))
        d.settle()                                      # the section is laid out
        d.tap(d.button(page.form["ils.port"]))          # the on-screen keyboard
        assert page.editing == "ils.port", (page.section, page.editing)
        d.settle()
        while page.edit_text:
            d.tap(d.button("Delete"))
            d.pump(0.36)                                # a key repeats only after the debounce
        for ch in "6012":                             # distinct keys: no debounce wait
            d.tap(d.button(ch))
        _shot(k, "staff-settings-keyboard")
        d.tap(d.button("Done"))
        assert page.form["ils.port"] == "6012"
        d.tap(d.button("Staff home"))

        # -- diagnostics: the doctor's checks on the open devices, live readings, test print
        d.until_screen("staff_home")
        d.tap(d.button("Diagnostics"))
        d.until_screen("staff_diagnostics")
        diag = app.screen("staff_diagnostics")
        d.until(lambda: not diag.checking, 20, "the checks")
        text = _texts(k)
        for name in ("Card reader", "RFID pad", "Receipt printer", "Library system"):
            assert name in text
        assert "All 10 checks passed." in text, text   # 7 devices, journal, clock, library
        k.devices.card_reader.tap("23529000445172")
        k.devices.tag_reader.place("30000077")
        d.until(lambda: "**********5172" in diag.last_card and "30000077" in diag.tags, 10, "live readings")
        assert "23529000445172" not in _texts(k)
        assert app.service.view().state == "idle"       # the tapped card did not start a session
        printed = len(k.devices.printer.receipts)
        d.tap(d.button("Test print"))
        d.until(lambda: len(k.devices.printer.receipts) == printed + 1, 10, "the test print")
        _shot(k, "staff-diagnostics")
        k.devices.tag_reader.clear()
        d.tap(d.button("Staff home"))

        # -- journal: the staff-queue entry (masked card), resolved with a note
        d.tap(d.button("Journal"))
        d.until_screen("staff_journal")
        d.until(lambda: "30000042" in _texts(k), 10, "the staff queue")
        text = _texts(k)
        assert "**********5172" in text and "23529000445172" not in text
        assert "Loan not confirmed" in text
        assert "1/15/30 (promised)" in text and "Due date" in text      # QA: staff saw no due date
        _shot(k, "staff-journal")
        d.tap(d.button("Resolve"))
        d.tap(d.button("Checked at the desk"))
        d.until(lambda: journal.get(conflict).state == J.RESOLVED, 10, "resolved")
        assert journal.get(conflict).note == "Checked at the desk"
        d.until(lambda: "Nothing needs staff." in _texts(k), 10, "the emptied queue")
        d.tap(d.button("Staff home"))

        # -- statistics: per day and per hour
        d.tap(d.button("Statistics"))
        d.until_screen("staff_stats")
        stats_page = app.screen("staff_stats")
        d.until(lambda: "3 loans" in stats_page.totals, 10, "statistics")
        assert "1 return," in stats_page.totals and "1 refusal" in stats_page.totals       # plural forms
        _shot(k, "staff-stats")
        d.tap(d.button("Per hour"))
        assert f"{now.hour:02d}:00" in _texts(k)
        _shot(k, "staff-stats-hours")
        d.tap(d.button("Staff home"))
        d.tap(d.button("Night returns"))
        d.until_screen("morning_report")
        d.until(lambda: "not run" in app.screen("morning_report").summary, 10, "no book drop yet")
        d.tap(d.button("Staff home"))

        # -- leaving, and the idle logout
        d.tap(d.button("Back to patron screens"))
        d.until_screen("home")
        assert not app.staff_mode.logged_in
        _enter(k)
        d.until_screen("staff_home")
        # 1 s from the next touch on a staff page.  (Set before the PIN, it also timed out the PIN
        # pad -- the same setting -- whenever two key taps of a loaded machine were 1 s apart, and
        # a logout could come and go before the test looked for the staff home page.)
        app.settings.staff.idle_logout_s = 1
        heading = next(w for w in d.find(lambda w: isinstance(w, Label) and w.text and w.opacity > 0 and w.width > 0)
                       if not isinstance(w.parent, Pressable))
        d.tap(heading)                                  # a touch on the page, on no button
        d.until_screen("home", 10)                      # then nobody touched anything for 1 s
        assert not app.staff_active and not app.staff_mode.logged_in


RESTARTED_APP = textwrap.dedent("""
    import sys
    from pathlib import Path
    from kiosk import config
    from kiosk.ui.harness import prepare_settings, running_app
    settings = config.load(Path(config.CONFIG_DIR) / "demo.toml")
    prepare_settings(settings, data_dir=Path(sys.argv[1]),
                     overrides={"staff.pin_hash": sys.argv[2], "hardware.simulate": True, "ils.port": 9,
                                "ils.timeout_s": 1.0})
    with running_app(settings) as k:
        k.app.enter_staff()
        k.driver.until_screen("staff")
        for digit in sys.argv[3]:
            k.driver.tap(k.driver.button(digit))
        k.driver.tap(k.driver.button("OK"))
        staff = k.app.screen("staff")
        k.driver.until(lambda: not staff.checking, 10)
        print("RESULT", staff.authenticated, staff.message, k.driver.screen)
""")


def test_pin_lockout_after_five_wrong_pins_survives_a_restart(gui_kiosk):
    from kiosk.staff.auth import hash_secret

    pin_hash = hash_secret(PIN)
    with gui_kiosk({"staff.pin_hash": pin_hash}) as k:
        d, app = k.driver, k.app
        staff = app.screen("staff")
        for attempt in range(5):
            _enter(k, "1111")
            assert not staff.authenticated
            assert staff.message == ("wrong" if attempt < 4 else "locked")
        assert "Too many attempts. Try again later." in _texts(k)
        _shot(k, "staff-locked")
        _enter(k, PIN)                                   # the right PIN does not help while locked
        assert not staff.authenticated and staff.message == "locked" and d.screen == "staff"
        data_dir = k.settings.data_dir
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy", KIVY_WINDOW="sdl2")
    env.pop("DISPLAY", None)
    proc = subprocess.run([sys.executable, "-c", RESTARTED_APP, str(data_dir), pin_hash, PIN],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RESULT False locked staff" in proc.stdout, proc.stdout[-2000:]


def test_a_failed_check_shows_its_whole_repair_hint_in_the_staff_language(gui_kiosk):
    """kiosk/hardware/doctor.py HINTS, translated in staff.po, wrapped (not cut) under the check."""
    from kiosk.hardware.doctor import HINTS
    from kiosk.staff.auth import hash_secret
    from kiosk.ui.i18n import tr

    with gui_kiosk({"staff.pin_hash": hash_secret(PIN), "kiosk.language": "de"}) as k:
        d, app = k.driver, k.app
        k.devices.indicators.close()               # the lights stop answering
        _enter(k)
        d.until_screen("staff_home")
        d.tap(d.button(tr("Diagnostics", "de")))
        d.until_screen("staff_diagnostics")
        diag = app.screen("staff_diagnostics")
        d.until(lambda: not diag.checking, 20, "the checks")
        d.settle()
        hint = tr(HINTS["indicators"], "de")
        assert hint != HINTS["indicators"] and "gpiodetect" in hint      # translated, commands kept
        text = _texts(k)
        assert "1 von 10 Prüfungen" in text and hint in text, text
        note = next(w for w in d.find(lambda w: type(w).__name__ == "NoteRow"))
        label = note.ids.note
        assert label.texture_size[0] <= label.width + 1 and label.texture_size[1] > label.font_size * 1.5
        _shot(k, "staff-diagnostics-problem")


def test_a_goodbye_timing_out_behind_a_staff_page_leaves_the_page_alone(gui_kiosk):
    """A staff member opens staff mode while the last patron's goodbye is still showing.  When the
    goodbye times out (the next patron's defaults come back, every patron screen is wiped), the
    settings page keeps its keyboard, the text half typed and the connection test's answer; the
    PIN pad keeps its digits.  Staff mode wipes its own pages when it ends (CI once saw the page's
    answer blanked one frame after it arrived)."""
    from kiosk.circulation import view as v
    from kiosk.staff.auth import hash_secret

    with gui_kiosk({"staff.pin_hash": hash_secret(PIN)}) as k:
        d, app = k.driver, k.app
        card = next(p["card"] for p in k.server.db.export()["patrons"]
                    if p["status"] == "ok" and p["can_checkout"])
        app.service.card_presented(card)
        app.service.wait_idle(20)
        app.service.finish("none")
        app.service.wait_idle(20)
        d.until(lambda: app.view.state == v.ENDED, 10, "the goodbye")

        def goodbye_times_out() -> None:
            app.service.tick(app.service.monotonic() + 3600)
            app.service.wait_idle(20)
            d.until(lambda: app.view.state == v.IDLE, 10, "the next patron's idle screen")
            d.settle()

        app.enter_staff()
        d.until_screen("staff")
        for digit in PIN[:2]:
            d.tap(d.button(digit))
        goodbye_times_out()
        staff = app.screen("staff")
        assert staff.entry == PIN[:2] and d.screen == "staff", (staff.entry, d.screen)
        for digit in PIN[2:]:
            d.tap(d.button(digit))
        d.tap(d.button("OK"))
        d.until(lambda: not staff.checking, 10, "the PIN check")
        d.until_screen("staff_home")

        app.service.card_presented(card)                 # a second patron, and their goodbye
        app.service.wait_idle(20)
        app.service.finish("none")
        app.service.wait_idle(20)
        d.until(lambda: app.view.state == v.ENDED, 10, "the second goodbye")
        d.tap(d.button("Settings"))
        d.until_screen("staff_settings")
        page = app.screen("staff_settings")
        d.settle()
        d.tap(d.button("Test connection"))
        d.until(lambda: page.connection.startswith(("Connected", "No connection")), 20, "the connection test")
        field, shown = ("ils.tenant", page.tenant) if page.folio else ("ils.host", page.host)
        d.tap(d.button(shown))
        d.settle()
        d.tap(d.button("x"))
        assert page.editing == field and page.edit_text.endswith("x")
        goodbye_times_out()
        assert d.screen == "staff_settings"
        assert page.editing == field and page.edit_text.endswith("x"), (page.editing, page.edit_text)
        assert page.connection.startswith("Connected"), page.connection
        app.leave_staff()                                # staff mode's end is what wipes its pages
        d.settle()
        assert page.editing == "" and page.connection == "" and staff.entry == ""
