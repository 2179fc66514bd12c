"""Patron PINs over FOLIO, and the kiosk's own lock-out for them, mixed into FolioIls.

FOLIO checks a PIN with ``POST /patron-pin/verify`` (200 = match; 422 = wrong PIN *or* none set,
folio.md §2) and keeps no count of wrong ones: no lock-out, no rate limit.  A kiosk in a public
hall would then let anyone try every PIN of a found card, so the kiosk keeps the count itself:
after PIN_MAX_FAILS wrong PINs for one card within PIN_WINDOW_S, that card's PIN is not checked
(and so never accepted) at this kiosk for PIN_LOCK_S.  FOLIO's check-out and renewal take no PIN
at all, so a PIN given with them is verified here first (as edge-sip2 does).

Apart from :mod:`kiosk.folio.ils` because it is a policy of the kiosk's, not a FOLIO call: the
times and counts live here, next to the one call they guard.
"""

from __future__ import annotations

import logging

from kiosk.appliance.privacy import mask
from kiosk.errors import IlsUnavailable
from kiosk.ils.base import CheckoutResult

log = logging.getLogger(__name__)

PIN_MAX_FAILS = 5
PIN_WINDOW_S = 900.0
PIN_LOCK_S = 900.0
PIN_LOCKED_TEXT = "Too many wrong PINs: please ask at the desk"


class PatronPins:
    """The PIN step of FolioIls (needs its ``http``, ``_denied``, ``_user_id``, ``_lock``,
    ``monotonic`` and ``_pin_fails``: user UUID -> times of wrong PINs)."""

    def pin_locked(self, user_id: str) -> bool:
        now = self.monotonic()
        with self._lock:
            fails = [t for t in self._pin_fails.get(user_id, ()) if now - t < max(PIN_WINDOW_S, PIN_LOCK_S)]
            self._pin_fails[user_id] = fails
            recent = [t for t in fails if now - t < PIN_WINDOW_S]
            return len(recent) >= PIN_MAX_FAILS and now - fails[-1] < PIN_LOCK_S

    def _pin_ok(self, user_id: str, pin: str) -> bool:
        """POST /patron-pin/verify: 200 = match; 422 = wrong PIN *or* none set (folio.md §2).
        FOLIO has no lock-out here, so the kiosk keeps one (PIN_MAX_FAILS): a locked card's PIN is
        not even sent."""
        if self.pin_locked(user_id):
            log.warning("PIN check of user %s refused: too many wrong PINs at this kiosk", mask(user_id))
            return False
        ok = self._verify_pin(user_id, pin)
        with self._lock:
            if ok:
                self._pin_fails.pop(user_id, None)
            else:
                self._pin_fails.setdefault(user_id, []).append(self.monotonic())
        return ok

    def _verify_pin(self, user_id: str, pin: str) -> bool:
        reply = self.http.call("POST", "/patron-pin/verify", body={"id": user_id, "pin": pin},
                               accept="text/plain")
        if reply.status in (200, 204):
            return True
        if reply.status == 422:
            return False
        if reply.status in (400, 401, 403):
            raise self._denied(reply, "the PIN check")
        raise IlsUnavailable(f"FOLIO PIN check: HTTP {reply.status} {reply.text[:160]}")

    def _pin_refusal(self, patron_id: str, item_id: str, pin: str | None) -> CheckoutResult | None:
        """FOLIO's check-out and renewal take no PIN: it is verified first (as edge-sip2 does)."""
        if pin is None:
            return None
        uid = self._user_id(patron_id)
        if uid is None or self._pin_ok(uid, pin):
            return None          # an unknown card is refused by the circulation call itself
        return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id, screen_message="Invalid PIN",
                              reason_key="wrong_pin")
