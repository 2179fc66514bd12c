"""Settling a lost reply with FOLIO's loans query (folio.md §7), mixed into FolioIls.

None of check-out, check-in and renewal is idempotent and FOLIO has no idempotency key, so after a
lost reply (sent, no answer; reset; 500/502/503/504) the item's open loan decides, and only
positive evidence settles:

* check-out: an open loan for this patron = it worked; for someone else = it failed; none = it did
  not happen (the caller may send it again).  An open loan whose borrower cannot be matched to the
  patron proves nothing: OutcomeUnknown;
* check-in: no open loan = the return is done (routing from the item's status); still open = it did
  not happen (resend with the same checkInDate);
* renewal: renewalCount higher or dueDate later than before = renewed; unchanged = not renewed.
When the loans cannot be read, OutcomeUnknown: the engine sends the row to the staff queue.
"""

from __future__ import annotations

from kiosk.appliance.privacy import mask
from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.folio import records as rec
from kiosk.ils.base import CheckinResult, CheckoutResult


class LostReplies:
    """The settle step of FolioIls (needs its ``_item``, ``_open_loans``, ``_user_id``, ``_lock``
    and ``_unsettled``)."""

    def _settle_checkout(self, patron_id: str, item_id: str, lost: Exception | None,
                         quiet: bool = False) -> CheckoutResult | None:
        """folio.md §7 "Check-out lost".  None: no open loan, the check-out did not happen."""
        try:
            item = self._item(item_id)
            loans = self._open_loans(str(item.get("id"))) if item else []
            uid = self._user_id(patron_id) if loans else None
        except (IlsUnavailable, OutcomeUnknown, ProtocolError) as exc:
            if quiet:
                return None
            raise OutcomeUnknown(f"check-out of item {mask(item_id)}: no reply, and its loans could not be "
                                 f"read ({exc}); the outcome is unknown") from (lost or exc)
        if loans and uid is None:        # whose loan it is cannot be told: no proof either way
            if quiet:
                return None
            raise OutcomeUnknown(f"check-out of item {mask(item_id)}: no reply; the item is on loan but patron "
                                 f"{mask(patron_id)} is not a single FOLIO user -- staff must check") from lost
        with self._lock:
            self._unsettled.pop(("checkout", item_id), None)
        if not loans:
            return None
        loan = loans[0]
        if uid is not None and str(loan.get("userId")) == uid:
            loan = dict(loan, item={"title": (item or {}).get("title", ""), "barcode": item_id,
                                    **(loan.get("item") or {})})
            return rec.checkout_record(loan, patron_id, item_id, resolved=True)
        return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id, title=str((item or {}).get("title", "")),
                              screen_message="Item is already checked out", reason_key="on_loan_to_other",
                              resolved=True)

    def _settle_checkin(self, item_id: str, lost: Exception | None) -> CheckinResult | None:
        """folio.md §7 "Check-in lost".  None: the loan is still open, the return did not happen."""
        try:
            item = self._item(item_id)
            loans = self._open_loans(str(item.get("id"))) if item else None
        except (IlsUnavailable, OutcomeUnknown, ProtocolError) as exc:
            raise OutcomeUnknown(f"check-in of item {mask(item_id)}: no reply, and its loans could not be read "
                                 f"({exc})") from (lost or exc)
        if item is None or loans:
            return None
        status = str(rec._get(item, "status", "name"))
        if status == "Checked out":     # no open loan, yet not in: no proof either way
            raise OutcomeUnknown(f"check-in of item {mask(item_id)}: no open loan but the item still reads "
                                 f"'Checked out' -- staff must check")
        with self._lock:
            self._unsettled.pop(("checkin", item_id), None)
        # the return is done; where the item goes now is in its status (folio.md §4)
        return rec.checkin_record({"item": item}, item_id)

    def _settle_renewal(self, patron_id: str, item_id: str, item: dict | None, before: dict | None,
                        lost: Exception) -> CheckoutResult | None:
        """Renewed = ``renewalCount`` higher or ``dueDate`` later than before.  None: unchanged."""
        if item is None or before is None:
            # no loan to renew before the call: a renewal cannot have happened (FOLIO refuses it)
            return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id, resolved=True,
                                  screen_message="Item is not on loan", reason_key="not_checked_out")
        try:
            after_loans = self._open_loans(str(item.get("id")))
        except (IlsUnavailable, OutcomeUnknown, ProtocolError) as exc:
            raise OutcomeUnknown(f"renewal of item {mask(item_id)}: no reply, and its loan could not be read "
                                 f"({exc})") from lost
        after = after_loans[0] if len(after_loans) == 1 else None
        if after is None or after.get("id") != before.get("id"):
            raise OutcomeUnknown(f"renewal of item {mask(item_id)}: no reply and the loan changed meanwhile "
                                 f"-- staff must check") from lost
        count_up = int(after.get("renewalCount") or 0) > int(before.get("renewalCount") or 0)
        due_before, due_after = rec.parse_time(before.get("dueDate")), rec.parse_time(after.get("dueDate"))
        later = bool(due_before and due_after and due_after > due_before)
        if count_up or later:
            after = dict(after, item={"title": item.get("title", ""), "barcode": item_id, **(after.get("item") or {})})
            return rec.checkout_record(after, patron_id, item_id, resolved=True, renewal=True)
        return None
