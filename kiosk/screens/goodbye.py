"""Goodbye: a thank-you that carries no patron data (the session is already wiped)."""

from __future__ import annotations

from kivy.properties import ListProperty, NumericProperty, StringProperty

from kiosk.screens.base import KioskScreen, load_kv
from kiosk.ui.i18n import tr
from kiosk.ui.present import left_over


class GoodbyeScreen(KioskScreen):
    mode = StringProperty("")
    receipt = StringProperty("")
    note_key = StringProperty("")          # why the session ended, when the patron did not end it
    done = NumericProperty(0)              # items borrowed / returned in the session
    left = ListProperty([])                # "<title>: <what to do>" for items that need the desk

    def render(self, view) -> None:  # noqa: ANN001
        if view.state == "ended":
            self.mode = view.mode or ""
            self.receipt = view.receipt or ""
            self.note_key = view.message_key if view.message_key in ("timed_out", "cancelled") else ""
            self.done = sum(1 for i in view.items if i.state == "done")
            self.left = left_over(view, self.app.lang)
        elif view.state in ("idle", "out_of_service"):
            self.left = []                 # the next patron sees none of this

    def farewell(self, lang: str) -> str:
        """The one line that says what to take: nothing to take when nothing was borrowed
        (cancelled at the card step, or every item refused)."""
        if self.mode == "borrow" and self.done:
            return tr("Please take your items and your card.", lang)
        if self.mode == "return" and self.done:
            return tr("Your items are back with the library.", lang)
        return tr("See you soon.", lang)


load_kv(__file__)
