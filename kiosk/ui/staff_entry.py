"""How staff get into a KioskApp between patron sessions: the hidden gesture or a staff card opens
the PIN pad; the PIN is checked off the main thread (scrypt is slow on purpose).

A mixin of :class:`kiosk.app.KioskApp`; the staff pages themselves are kiosk/screens/staff_*.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kiosk.circulation.view import ENDED, IDLE, OUT_OF_SERVICE
from kiosk.ui.door import on_ui

log = logging.getLogger("kiosk.app")


class StaffEntry:
    """Opening and leaving staff mode."""

    def enter_staff(self, card: str | None = None) -> None:
        """Open the staff PIN pad -- only between patron sessions."""
        if self.view is not None and self.view.state not in (IDLE, OUT_OF_SERVICE, ENDED):
            return
        self._staff_card = card
        self.staff_active = True
        self.screen("staff")
        self.root_widget.ids.sm.current = "staff"

    def staff_card_waiting(self) -> bool:
        return self._staff_card is not None

    def leave_staff(self) -> None:
        self.staff_active = False
        self._staff_card = None
        if self.staff_mode is not None:
            self.staff_mode.ended()
        if self.view is not None:
            self.render(self.view)

    def check_staff_pin(self, pin: str | None, callback: Callable[[bool, str], None]) -> None:
        """The staff-PIN hook: checked on a worker thread (scrypt is slow on purpose); the verdict
        comes back on the main thread as ``callback(ok, reason)``."""
        card = self._staff_card

        def work() -> None:
            try:
                from kiosk.staff.auth import StaffAuthenticator

                result = StaffAuthenticator.from_settings(self.settings).authenticate(card=card, pin=pin)
                ok, reason = bool(result.ok), str(result.reason)
            except Exception:  # noqa: BLE001
                log.exception("staff PIN check failed")
                ok, reason = False, "not_configured"
            log.info("staff PIN check: %s", "accepted" if ok else reason)
            on_ui(callback, ok, reason)

        threading.Thread(target=work, name="staff-pin", daemon=True).start()

