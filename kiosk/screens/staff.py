"""Staff entry: a staff card or the hidden gesture, then the staff PIN.

Only the entry point lives here (issue 7); the staff tools themselves come later.  The PIN is
checked by ``app.check_staff_pin`` on a worker thread (scrypt is deliberately slow), with the
lockout kept by :mod:`kiosk.staff.auth`.  The screen leaves staff mode on its own after a short
idle time (reference hardware-and-deployment.md §6.2: auto-logout).
"""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from kiosk.screens.base import KioskScreen, load_kv
from kiosk.ui import lists  # noqa: F401  (Keypad, used by staff.kv)

STAFF_IDLE_S = 60


class StaffScreen(KioskScreen):
    patron_page = False            # a PIN half typed survives a goodbye timing out behind it
    entry = StringProperty("")
    authenticated = BooleanProperty(False)
    checking = BooleanProperty(False)
    message = StringProperty("")
    _idle_ev = None

    def on_enter(self, *_a) -> None:
        self.wipe()
        self._restart_idle()
        if self.app.staff_card_waiting():
            # A staff card was tapped: it may be enough on its own ([staff] require = card_or_pin).
            self.checking = True
            self.app.check_staff_pin(None, self.on_checked)

    def on_leave(self, *_a) -> None:
        # The login itself is forgotten when staff mode ends (app.leave_staff wipes this screen).
        self.entry, self.checking, self.message = "", False, ""
        if self._idle_ev is not None:
            self._idle_ev.cancel()

    def _restart_idle(self) -> None:
        if self._idle_ev is not None:
            self._idle_ev.cancel()
        idle = getattr(getattr(self.app.settings, "staff", None), "idle_logout_s", STAFF_IDLE_S)
        self._idle_ev = Clock.schedule_once(lambda _dt: self.app.leave_staff(), idle)

    def wipe(self) -> None:
        self.entry = ""
        self.authenticated = False
        self.checking = False
        self.message = ""

    def on_key(self, key: str) -> None:
        self._restart_idle()
        if key == "back":
            self.entry = self.entry[:-1]
        elif key == "ok" and self.entry and not self.checking:
            pin, self.entry = self.entry, ""
            self.checking = True
            self.app.check_staff_pin(pin, self.on_checked)
        elif key not in ("ok", "back") and len(self.entry) < 12:
            self.entry += key

    def on_checked(self, ok: bool, reason: str) -> None:
        """Called on the main thread with the authenticator's verdict."""
        self.checking = False
        self.authenticated = ok
        self.message = "" if ok or reason == "pin_required" else reason
        if ok and self.app.staff_mode is not None:
            self.app.staff_mode.open_tools()          # the staff home page (kiosk/screens/staff_home.py)


load_kv(__file__)
