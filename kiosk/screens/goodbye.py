"""Goodbye: a thank-you that carries no patron data (the session is already wiped)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.screens.base import KioskScreen, load_kv


class GoodbyeScreen(KioskScreen):
    mode = StringProperty("")
    receipt = StringProperty("")
    note_key = StringProperty("")          # why the session ended, when the patron did not end it

    def render(self, view) -> None:  # noqa: ANN001
        if view.state == "ended":
            self.mode = view.mode or ""
            self.receipt = view.receipt or ""
            self.note_key = view.message_key if view.message_key in ("timed_out", "cancelled") else ""


load_kv(__file__)
