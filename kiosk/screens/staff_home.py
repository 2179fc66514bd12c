"""Staff home: tiles for the staff tools, restart / shut down, and the way back to patrons."""

from __future__ import annotations

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.screens.base import load_kv
from kiosk.screens.staff_base import StaffPage


class StaffHomeScreen(StaffPage):
    power = BooleanProperty(False)        # the restart / shut down choice is showing
    pending = NumericProperty(0)
    staff_queue = NumericProperty(0)
    online = BooleanProperty(True)
    returns_only = BooleanProperty(False)
    result = StringProperty("")

    def refresh(self) -> None:
        self.power = False
        self.result = ""
        staff = self.staff
        self.returns_only = staff.returns_only
        self.online = bool(self.app.service.online)
        self.console.journal_listing(self._listed)

    def _listed(self, listing) -> None:  # noqa: ANN001
        self.pending = len(listing.pending)
        self.staff_queue = len(listing.staff)

    def restart(self) -> None:
        self.result = self.console.restart().detail

    def shutdown(self) -> None:
        self.result = self.console.shutdown().detail

    def wipe(self) -> None:
        self.power = False
        self.result = ""


load_kv(__file__)
