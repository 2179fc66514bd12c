"""Out of service: the kiosk cannot serve patrons (no library system and no offline policy,
a hardware fault, or staff took it out of service)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.screens.base import KioskScreen, load_kv


class OutOfServiceScreen(KioskScreen):
    message_key = StringProperty("")

    def render(self, view) -> None:  # noqa: ANN001
        self.message_key = view.message_key or ""


load_kv(__file__)
