"""Goodbye: a thank-you that carries no patron data (the session is already wiped)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.screens.base import KioskScreen, load_kv


class GoodbyeScreen(KioskScreen):
    mode = StringProperty("")
    receipt = StringProperty("")

    def render(self, view) -> None:  # noqa: ANN001
        if view.state == "ended":
            self.mode = view.mode or ""
            self.receipt = view.receipt or ""


load_kv(__file__)
