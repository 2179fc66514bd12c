"""Hardware diagnostics: the ``kiosk doctor`` checks on the app's open devices, live readings
(last card read -- masked --, tags on the pad, printer), a test print and a lights test."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.screens.base import load_kv
from kiosk.screens.staff_base import NoteRow, StaffPage, clear_and_fill
from kiosk.ui.i18n import N_, tr

CHECK_NAMES = {
    "card_reader": N_("Card reader"), "tag_reader": N_("RFID pad"), "scanner": N_("Barcode scanner"),
    "printer": N_("Receipt printer"), "indicators": N_("Lights and buzzer"), "slot_sensor": N_("Slot sensor"),
    "door_lock": N_("Slot lock"), "library_system": N_("Library system"),
    "journal": N_("Journal"), "clock": N_("Clock"),     # storage checks (kiosk doctor, issue 13/18)
}
READINGS_S = 1.0


def plain_detail(detail: str, lang: str) -> str:
    """The doctor's detail in the staff's language (kiosk.hardware.doctor.plain_detail)."""
    from kiosk.hardware.doctor import plain_detail as plain

    return plain(detail, lambda text, **fields: tr(text, lang, **fields))


class DiagRow(BoxLayout):
    """One check: a tick or a cross in the pass/fail colour, the device, and what it said
    (wrapped, never cut off)."""

    ok = BooleanProperty(True)
    name = StringProperty("")
    detail = StringProperty("")


class StaffDiagnosticsScreen(StaffPage):
    summary = StringProperty("")
    last_card = StringProperty("")
    tags = StringProperty("")
    printer = StringProperty("")
    action = StringProperty("")
    checking = BooleanProperty(False)
    _ev = None

    def refresh(self) -> None:
        self.run_checks()
        if self._ev is None:
            self._ev = Clock.schedule_interval(lambda _dt: self.console.refresh_readings(self._readings), READINGS_S)

    def on_leave(self, *_a) -> None:
        if self._ev is not None:
            self._ev.cancel()
            self._ev = None

    def run_checks(self) -> None:
        self.checking = True
        self.summary = tr("Checking...", self.app.lang)
        self.console.run_diagnostics(self._checked)

    def _checked(self, result) -> None:  # noqa: ANN001
        checks, readings = result
        self.checking = False
        lang = self.app.lang
        rows = []
        for c in checks:
            # "Passed", not "OK": the patron catalog's "OK" is a button ("Aceptar").
            # Fixed phrases and hints are in the staff catalog (kiosk/hardware/doctor.py N_());
            # a detail with device data (an address, an error) is shown as the device reported it.
            rows.append(DiagRow(ok=c.ok, name=tr(CHECK_NAMES.get(c.name, c.name), lang),
                                detail=plain_detail(c.detail, lang)))
            if not c.ok and c.hint:
                rows.append(NoteRow(text=tr(c.hint, lang)))
        clear_and_fill(self.ids.checks, rows)
        failed = sum(1 for c in checks if not c.ok)
        self.summary = (tr("All {n} checks passed.", lang, n=len(checks)) if not failed
                        else tr("{n} of {total} checks found a problem.", lang, n=failed, total=len(checks)))
        self._readings(readings)

    def _readings(self, r) -> None:  # noqa: ANN001
        lang = self.app.lang
        self.last_card = (tr("{card} at {time}", lang, card=r.last_card, time=r.last_card_at.strftime("%H:%M:%S"))
                          if r.last_card else tr("Tap a card to test the reader.", lang))
        self.tags = ", ".join(r.tags) if r.tags else tr("Nothing on the pad.", lang)
        self.printer = tr(r.printer, lang) if r.printer else "\u2014"   # the console's N_() words

    def test_print(self) -> None:
        self.action = tr("Printing...", self.app.lang)
        self.console.test_print(self._done)

    def test_lights(self) -> None:
        self.action = tr("Watch the lights...", self.app.lang)
        self.console.test_lights(self._done)

    def _done(self, result) -> None:  # noqa: ANN001
        lang = self.app.lang
        self.action = tr("Done.", lang) if result.ok else tr("Failed: {error}", lang, error=result.detail)

    def wipe(self) -> None:
        self.last_card = ""
        self.action = ""


load_kv(__file__)
