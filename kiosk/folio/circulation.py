"""Check-out, check-in and renewal over FOLIO, never sent twice blindly; mixed into FolioIls.

The three calls are mod-circulation's ``POST /circulation/check-out-by-barcode``,
``/check-in-by-barcode`` and ``/renew-by-barcode``, made at this kiosk's service point.

No doubles (folio.md §7): none of them is idempotent and FOLIO has no idempotency key, so a call
is never sent twice blindly.  All three go through one loop, :meth:`Circulation._send_or_settle`:
send once; a lost reply (sent, no answer; reset; 500/502/503/504) is settled with the item's open
loan (:mod:`kiosk.folio.settle`), and only when that shows the call did *not* happen is it sent
once more.  When the loans cannot be read, :class:`OutcomeUnknown` goes up and the engine puts the
row in the staff queue.  A check-out or check-in whose outcome stayed unknown is remembered, and
the next call for that item settles first (the engine's own retry cannot double it either); a
check-in sent again keeps its first ``checkInDate``.

Apart from :mod:`kiosk.folio.ils` (the reads: patrons, items, the service point) because this is
the one part that writes, and the one with the no-doubles rule to keep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from kiosk.appliance.privacy import mask
from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.folio import records as rec
from kiosk.folio.http import Reply
from kiosk.folio.refusals import is_renew_without_loan, missing_permission, refusal
from kiosk.folio.settle import LostReplies
from kiosk.ils.base import CheckinResult, CheckoutResult, RenewAllResult

log = logging.getLogger(__name__)

CHECK_OUT = "/circulation/check-out-by-barcode"
CHECK_IN = "/circulation/check-in-by-barcode"
RENEW = "/circulation/renew-by-barcode"
AMBIGUOUS_STATUS = (500, 502, 503, 504)
# folio.md §7: check-out runs ~20 lookups and writes in sequence; allow a generous wait before a
# circulation call is called ambiguous (reads keep [ils] timeout_s).
MIN_POST_TIMEOUT_S = 30.0

Result = TypeVar("Result", CheckoutResult, CheckinResult)


def _ambiguous(reply: Reply) -> bool:
    """A 5xx from the gateway or mod-circulation: the call may or may not have run (folio.md §7)."""
    return reply.status in AMBIGUOUS_STATUS


class Circulation(LostReplies):
    """The circulation calls of FolioIls (needs its ``http``, ``post_timeout_s``, ``_denied``,
    ``_item``, ``_open_loans``, ``_user_id``, ``_pin_refusal``, ``service_point_id``, ``_now``,
    ``_lock`` and ``_unsettled``: (kind, item) -> the body of a call whose outcome is unknown)."""

    def _post(self, path: str, body: dict, what: str) -> Reply:
        """A circulation call: sent once.  OutcomeUnknown for a lost reply or a 5xx (which may or may
        not have reached mod-circulation, folio.md §7); the caller settles it."""
        reply = self.http.call("POST", path, body=body, timeout_s=self.post_timeout_s)
        if reply.status in (400, 401, 403) and (missing_permission(reply.text) or reply.status != 400):
            raise self._denied(reply, what)
        return reply

    def _send_or_settle(self, call: str, path: str, body: dict, item_id: str, *,
                        settle: Callable[[Exception | None], Result | None],
                        answer: Callable[[Reply, bool], Result], not_done: str,
                        remember: str | None = None,
                        ambiguous: Callable[[Reply], bool] = _ambiguous) -> Result:
        """Send ``body`` to ``path``; a lost reply is settled, and only "it did not happen" sends it
        once more.  ``settle(lost)`` returns the settled result, or None for "did not happen";
        ``answer(reply, resolved)`` reads a reply (``resolved``: it came for the second sending).
        ``remember`` (``checkout``/``checkin``) keeps a lost call's body until it is settled: the
        next call for the item settles first.  ``not_done`` ends the message of a second loss."""
        key = (remember, item_id) if remember else None
        if key is not None:
            with self._lock:
                earlier = key in self._unsettled
            if earlier:                      # an earlier call's outcome is still unknown
                settled = settle(None)
                if settled is not None:
                    return settled
        for attempt in range(2):
            try:
                reply = self._post(path, body, f"the {call} of item {mask(item_id)}")
                if ambiguous(reply):
                    raise OutcomeUnknown(f"FOLIO {call}: HTTP {reply.status} {reply.text[:100]}")
            except OutcomeUnknown as lost:
                log.warning("%s of item %s: no reply (%s); settling with the loans query", call, mask(item_id), lost)
                if key is not None:
                    with self._lock:
                        self._unsettled[key] = body     # a resend keeps what was sent (checkInDate)
                settled = settle(lost)
                if settled is not None:
                    return settled
                if attempt == 1:
                    raise OutcomeUnknown(f"{call} of item {mask(item_id)}: no reply twice{not_done}") from lost
                log.info("item %s: the lost %s did not happen; sending it again", mask(item_id), call)
                continue
            if key is not None:
                with self._lock:
                    self._unsettled.pop(key, None)
            return answer(reply, attempt == 1)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ check-out
    def checkout(self, patron_id: str, item_id: str, *, pin: str | None = None, no_block: bool = False,
                 transaction_date: datetime | None = None, nb_due_date: datetime | None = None,
                 fee_acknowledged: bool = False) -> CheckoutResult:
        refused = self._pin_refusal(patron_id, item_id, pin)
        if refused is not None:
            return refused
        body = {"itemBarcode": item_id, "userBarcode": patron_id, "servicePointId": self.service_point_id()}
        if no_block and transaction_date is not None:
            # an offline checkout replayed: the loan starts when the patron took the item (FOLIO
            # computes the due date itself; the kiosk's promised date cannot be imposed)
            body["loanDate"] = rec.format_time(min(transaction_date, self._now()))
        return self._send_or_settle(
            "check-out", CHECK_OUT, body, item_id, remember="checkout",
            settle=lambda lost: self._settle_checkout(patron_id, item_id, lost),
            answer=lambda reply, resolved: self._checkout_answer(reply, patron_id, item_id, resolved),
            not_done="; it has not happened so far (no open loan)")

    def _checkout_answer(self, reply: Reply, patron_id: str, item_id: str, resolved: bool) -> CheckoutResult:
        if reply.status in (200, 201):      # 200: the loan exists, a side effect failed (folio.md §3)
            return rec.checkout_record(reply.json_dict(), patron_id, item_id, resolved=resolved)
        if reply.status == 422:
            r = refusal(reply.body)
            if r.has("on_loan_to_other"):
                # "already checked out": to this very patron it is a success (a check-out whose
                # reply was lost, or an item already on the patron's card) -- folio.md §7
                mine = self._settle_checkout(patron_id, item_id, None, quiet=True)
                if mine is not None and mine.ok:
                    return mine
            return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id, screen_message=r.text,
                                  reason_key=r.reason_key, resolved=resolved, title=self._title_of(item_id))
        raise ProtocolError(f"FOLIO check-out: unexpected HTTP {reply.status} {reply.text[:160]}")

    def _title_of(self, item_id: str) -> str:
        """FOLIO's 422 carries errors only, no item (SIP2's refusal names the title): the patron's
        "not borrowed" list should still say which book, so the title is read from inventory.  Best
        effort: a refusal is never turned into an error for want of a title."""
        try:
            item = self._item(item_id)
        except (IlsUnavailable, ProtocolError, OutcomeUnknown):
            return ""
        return str((item or {}).get("title") or "")

    # ------------------------------------------------------------------ check-in
    def checkin(self, item_id: str, *, no_block: bool = False, transaction_date: datetime | None = None,
                return_date: datetime | None = None) -> CheckinResult:
        now = self._now()
        when = min(return_date or transaction_date or now, now)       # never a future date
        with self._lock:
            earlier = self._unsettled.get(("checkin", item_id))
        body = earlier or {"itemBarcode": item_id, "servicePointId": self.service_point_id(),
                           "checkInDate": rec.format_time(when)}
        return self._send_or_settle(
            "check-in", CHECK_IN, body, item_id, remember="checkin",
            settle=lambda lost: self._settle_checkin(item_id, lost),
            answer=lambda reply, resolved: self._checkin_answer(reply, item_id),
            not_done="; the loan is still open")

    def _checkin_answer(self, reply: Reply, item_id: str) -> CheckinResult:
        if reply.status == 200:
            return rec.checkin_record(reply.json_dict(), item_id)
        if reply.status == 422:
            r = refusal(reply.body)
            return CheckinResult(ok=False, item_id=item_id, screen_message=r.text, reason_key=r.reason_key)
        raise ProtocolError(f"FOLIO check-in: unexpected HTTP {reply.status} {reply.text[:160]}")

    # ------------------------------------------------------------------ renewal
    def renew(self, patron_id: str, item_id: str, *, pin: str | None = None, no_block: bool = False,
              transaction_date: datetime | None = None) -> CheckoutResult:
        refused = self._pin_refusal(patron_id, item_id, pin)
        if refused is not None:
            return refused
        try:     # the "before" state to compare with if the reply is lost (folio.md §7)
            item = self._item(item_id)
            before_loans = self._open_loans(str(item.get("id"))) if item else []
        except OutcomeUnknown as exc:
            raise IlsUnavailable(f"renewal of item {mask(item_id)} not sent: its loan could not be read") from exc
        before = before_loans[0] if len(before_loans) == 1 else None
        body = {"itemBarcode": item_id, "userBarcode": patron_id, "servicePointId": self.service_point_id()}
        return self._send_or_settle(
            "renewal", RENEW, body, item_id,
            # the renew-without-loan 500 is a refusal, not an ambiguous outcome (folio.md §5)
            ambiguous=lambda reply: _ambiguous(reply) and not is_renew_without_loan(reply.status, reply.body),
            settle=lambda lost: self._settle_renewal(patron_id, item_id, item, before, lost),
            answer=lambda reply, resolved: self._renew_answer(reply, patron_id, item_id, resolved),
            not_done="")

    def _renew_answer(self, reply: Reply, patron_id: str, item_id: str, resolved: bool) -> CheckoutResult:
        if reply.status in (200, 201):
            return rec.checkout_record(reply.json_dict(), patron_id, item_id, resolved=resolved, renewal=True)
        if reply.status == 422 or is_renew_without_loan(reply.status, reply.body):
            r = refusal(reply.body)
            return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id, screen_message=r.text,
                                  reason_key=r.reason_key, resolved=resolved)
        raise ProtocolError(f"FOLIO renewal: unexpected HTTP {reply.status} {reply.text[:160]}")

    def renew_all(self, patron_id: str, *, pin: str | None = None) -> RenewAllResult:
        patron = self.patron_information(patron_id, pin)
        if not patron.valid or patron.pin_ok is False:
            return RenewAllResult(ok=False, screen_message=patron.screen_message or "Invalid patron")
        renewed, unrenewed = [], []
        for loan in patron.loans:
            r = self.renew(patron_id, loan.item_id)
            (renewed if r.ok else unrenewed).append(loan.item_id)
        return RenewAllResult(ok=True, renewed=tuple(renewed), unrenewed=tuple(unrenewed),
                              screen_message=f"{len(renewed)} renewed, {len(unrenewed)} not renewed")
