"""Receipt: print, email or none -- only the choices this library offers ([receipt] choices)."""

from __future__ import annotations

from kivy.properties import BooleanProperty, DictProperty, ListProperty, StringProperty

from kiosk.screens.base import KioskScreen, load_kv
from kiosk.ui.present import counts


class ReceiptScreen(KioskScreen):
    choices = ListProperty(["print", "email", "none"])
    mode = StringProperty("borrow")
    printer_ok = BooleanProperty(True)     # set by the app from the printer's own status
    tally = DictProperty({"done": 0, "refused": 0, "needs_staff": 0, "working": 0})

    def on_kv_post(self, _base) -> None:  # noqa: ANN001
        self.choices = list(self.app.settings.receipt.choices)

    def render(self, view) -> None:  # noqa: ANN001
        self.mode = view.mode or "borrow"
        self.tally = counts(view.items)


load_kv(__file__)
