"""Identify: tap or scan a library card, or type its number; then the PIN when the library asks.

The digits typed here are the only patron data this screen keeps itself; ``wipe()`` drops them
when a session ends, and they are never logged.
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.screens.base import KioskScreen, load_kv
from kiosk.ui import lists  # noqa: F401  (Keypad, used by identify.kv)

MAX_DIGITS = 20


class IdentifyScreen(KioskScreen):
    entry = StringProperty("")
    needs_pin = BooleanProperty(False)
    message_key = StringProperty("")
    busy = BooleanProperty(False)

    def render(self, view) -> None:  # noqa: ANN001
        needs_pin = bool(view.needs_pin)
        if needs_pin != self.needs_pin or view.state != "identifying":
            self.entry = ""
        self.needs_pin = needs_pin
        self.message_key = view.message_key or ""
        self.busy = bool(view.busy)
        if view.patron is None and view.state in ("idle", "ended"):
            self.wipe()

    def wipe(self) -> None:
        self.entry = ""
        self.message_key = ""

    def on_key(self, key: str) -> None:
        self.app.intent("touch")
        if key == "back":
            self.entry = self.entry[:-1]
        elif key == "ok":
            if not self.entry:
                return
            value, self.entry = self.entry, ""
            if self.needs_pin:
                self.app.intent("pin_entered", value)
            else:
                self.app.intent("card_presented", value)
        elif len(self.entry) < MAX_DIGITS:
            self.entry += key

    @staticmethod
    def shown(entry: str, needs_pin: bool) -> str:
        """PIN digits are never drawn; card digits are, so the patron can check them."""
        return " ".join("\u2022" * len(entry)) if needs_pin else entry


load_kv(__file__)
