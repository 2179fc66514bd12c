"""One circulation transaction done safely: journaled before it is sent, resolved when ambiguous.

:class:`Circulator` is what the session service, the CLI and the after-hours drop call for a single
checkout, check-in or renewal.  The rules (docs/circulation.md):

* the intent is committed to the journal before anything is sent, its outcome after;
* ``IlsUnavailable`` means nothing was sent: the offline policy decides (queue it durably and say
  "done", or refuse with ``offline_not_allowed``);
* ``OutcomeUnknown`` (sent, no reply) for a checkout is resolved with Item Information: charged
  (to this patron) = it happened; available = it did not, and only then is it sent again.  A check-in
  may simply be resent (a "not checked out" answer means the item is in);
* before a new transaction on an item, journaled transactions for that item are replayed first,
  so an offline return can never be sent after a newer checkout of the same item.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime

from kiosk.appliance.privacy import mask
from kiosk.circulation import journal as j
from kiosk.circulation.offline import OfflineIdentity, OfflinePolicy
from kiosk.circulation.reasons import checkin_alert, checkin_reason, checkout_reason
from kiosk.circulation.replay import Replayer
from kiosk.circulation.view import CHECKIN, CHECKOUT, DONE, NEEDS_STAFF, REFUSED, RENEW, due_text
from kiosk.errors import IlsUnavailable, JournalError, OutcomeUnknown, ProtocolError
from kiosk.ils.base import (
    MINE,
    OTHER,
    UNPROVEN,
    UNREACHABLE,
    CheckinResult,
    CheckoutResult,
    Ils,
    ItemInfo,
    Resolution,
    Unresolved,
    checkin_bare_refusal,
    judge_return,
    resolve_checkout,
)

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Outcome:
    """The result of one transaction as the patron (and the screen) should see it."""

    item_id: str
    action: str
    state: str                       # done / refused / needs_staff
    title: str = ""
    due_date: datetime | None = None
    due: str = ""
    reason_key: str | None = None
    reason_text: str = ""
    journaled: bool = False          # done offline (durably journaled)
    alert: str | None = None
    sort_bin: str = ""
    destination: str = ""
    security: bool | None = None     # the security bit to set: True on, False off, None leave alone
    journal_id: int | None = None
    online: bool = True              # the library system answered
    protocol_error: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def acknowledged(self) -> bool:
        """The patron may be told "done": confirmed by the library, or durably journaled."""
        return self.state == DONE

    def line_changes(self) -> dict:
        """The :class:`~kiosk.circulation.view.ItemLine` fields this outcome sets (the title only
        when the library system named one: an offline outcome keeps what the line had)."""
        changes = dict(state=self.state, action=self.action, due_date=self.due_date, due=self.due,
                       reason_key=self.reason_key, reason_text=self.reason_text, journaled=self.journaled,
                       alert=self.alert, sort_bin=self.sort_bin, destination=self.destination,
                       journal_id=self.journal_id)
        if self.title:
            changes["title"] = self.title
        return changes


def _iso(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat()


def _due_text(r: CheckoutResult | ItemInfo) -> str:
    return due_text(r.due_date, r.due)




class Circulator:
    """Journaled, policy-aware checkout / check-in / renewal over any :class:`Ils`.  Thread-safe."""

    def __init__(self, ils: Ils, journal: j.Journal, policy: OfflinePolicy | None = None,
                 clock=time.time) -> None:
        self.ils = ils
        self.journal = journal
        self.policy = policy or OfflinePolicy()
        self.clock = clock
        self.replayer = Replayer(ils, journal)
        self._offline_lock = threading.Lock()   # the offline checkout limit is read-then-write

    # ---- helpers -------------------------------------------------------------------------
    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock())

    def _flush_item(self, item_id: str) -> bool:
        """Replay journaled transactions of this item first: they happened before this one.

        False when some are still waiting (the library system went away again): the new
        transaction must then not overtake them, so it is journaled behind them or refused.
        """
        if not self.journal.has_pending(item_id):
            return True
        try:
            self.replayer.sync(item_id=item_id)
        except (IlsUnavailable, OutcomeUnknown, ProtocolError) as exc:
            log.info("item %s: journaled transactions not replayed yet (%s)", mask(item_id), exc)
        return not self.journal.has_pending(item_id)

    def _item_info(self, item_id: str) -> ItemInfo | None:
        try:
            return self.ils.item_information(item_id)
        except (IlsUnavailable, OutcomeUnknown, ProtocolError) as exc:
            log.warning("item %s: item information failed while resolving: %s", mask(item_id), exc)
            return None

    # ---- identification offline ----------------------------------------------------------
    def identify_offline(self, patron_id: str, pin: str | None) -> OfflineIdentity:
        """Who this card is while the library system is unreachable (kiosk/circulation/offline.py);
        the journal knows the cards seen online lately."""
        return self.policy.identify(patron_id, pin, lambda: self.journal.card_status(
            patron_id, self.policy.card_cache_days * 86400.0, now=self.clock()))

    # ---- checkout ------------------------------------------------------------------------
    def checkout(self, patron_id: str, item_id: str, *, pin: str | None = None,
                 allow_offline: bool = True) -> Outcome:
        """Check an item out to a patron.  ``allow_offline=False`` e.g. for an unvalidated card."""
        in_order = self._flush_item(item_id)
        for attempt in range(2):   # the second attempt only after Item Information said "not out"
            now = self._now()
            jid = self.journal.record_intent(CHECKOUT, item_id, patron_id=patron_id, txn_date=_iso(now),
                                             now=self.clock())
            if not in_order:
                return self._checkout_offline(jid, patron_id, item_id, now, allow_offline,
                                              "earlier transactions of this item are still journaled",
                                              sent=False)
            try:
                r = self.ils.checkout(patron_id, item_id, pin=pin)
            except IlsUnavailable as exc:
                out = self._checkout_offline(jid, patron_id, item_id, now, allow_offline, str(exc))
                # NotSip2 (the port answers, but not in SIP2) is also a protocol error: the CLI exits 2.
                return replace(out, protocol_error=True) if isinstance(exc, ProtocolError) else out
            except (OutcomeUnknown, ProtocolError) as exc:
                protocol = isinstance(exc, ProtocolError)
                self.journal.record_outcome(jid, j.UNKNOWN, note=f"no valid reply: {exc}")
                if isinstance(exc, Unresolved):   # the adapter already asked once: never twice
                    found = Resolution(exc.verdict, exc.info, str(exc))
                else:
                    found = resolve_checkout(self.ils, item_id, patron_id, pin)
                info = found.info
                if found.verdict == UNREACHABLE or info is None:
                    return self._checkout_unresolved(jid, patron_id, item_id, allow_offline, protocol)
                if found.verdict == MINE:
                    self.journal.record_outcome(jid, j.DONE, acked=True, title=info.title,
                                                due=_due_text(info), note="resolved: charged to the patron")
                    return Outcome(item_id, CHECKOUT, DONE, title=info.title, due_date=info.due_date,
                                   due=_due_text(info), security=False, journal_id=jid,
                                   protocol_error=protocol)
                if found.verdict == OTHER:
                    self.journal.record_outcome(jid, j.REFUSED, reason_key="on_loan_to_other",
                                                note="resolved: the library system names another borrower")
                    return Outcome(item_id, CHECKOUT, REFUSED, title=info.title, reason_key="on_loan_to_other",
                                   journal_id=jid, protocol_error=protocol)
                if found.verdict == UNPROVEN:
                    # Nothing proves the outcome: staff check it; never "refused", never resent.
                    self.journal.record_outcome(jid, j.STAFF, reason_key="unconfirmed_checkout",
                                                reason_text=f"no reply, not resent: {found.detail}")
                    return Outcome(item_id, CHECKOUT, NEEDS_STAFF, title=info.title, reason_key="check_at_desk",
                                   reason_text=found.detail, journal_id=jid, protocol_error=protocol)
                self.journal.record_outcome(jid, j.ABANDONED, note=f"resolved: {found.detail}; resending")
                if attempt == 1:
                    return Outcome(item_id, CHECKOUT, NEEDS_STAFF, reason_key="ils_timeout",
                                   reason_text=str(exc), journal_id=jid, protocol_error=protocol)
                continue
            return self._checkout_answered(jid, item_id, r)
        raise AssertionError("unreachable")

    def _checkout_answered(self, jid: int, item_id: str, r: CheckoutResult) -> Outcome:
        due = _due_text(r)
        if r.ok:
            self.journal.record_outcome(jid, j.DONE, acked=True, title=r.title, due=due,
                                        reason_text=r.screen_message or None)
            security = None if r.security_inhibit or r.desensitize is False else False
            return Outcome(item_id, CHECKOUT, DONE, title=r.title, due_date=r.due_date, due=due,
                           reason_text=r.screen_message, security=security, journal_id=jid,
                           extra={"renewal": r.renewal, "fee_amount": r.fee_amount})
        key = checkout_reason(r)
        self.journal.record_outcome(jid, j.REFUSED, reason_key=key, reason_text=r.screen_message)
        return Outcome(item_id, CHECKOUT, REFUSED, title=r.title, reason_key=key, reason_text=r.screen_message,
                       journal_id=jid)

    def _checkout_offline(self, jid: int, patron_id: str, item_id: str, now: datetime,
                          allow_offline: bool, why: str, sent: bool = True) -> Outcome:
        if not (self.policy.checkouts and allow_offline) and not sent:
            self.journal.record_outcome(jid, j.NOT_SENT, reason_key="offline_not_allowed", note=why)
            return Outcome(item_id, CHECKOUT, REFUSED, reason_key="offline_not_allowed", journal_id=jid,
                           online=False)
        if not (self.policy.checkouts and allow_offline):
            # "Unreachable" should mean nothing was sent; the row is still checked at the next
            # replay (Item Information) in case a connection failed after the request left.
            self.journal.record_outcome(jid, j.UNKNOWN, reason_key="offline_not_allowed",
                                        note=f"library system unreachable: {why}")
            return Outcome(item_id, CHECKOUT, REFUSED, reason_key="offline_not_allowed", journal_id=jid,
                           online=False)
        due_date = self._offline_due(now)
        with self._offline_lock:
            if self.journal.offline_checkouts_for(patron_id) >= self.policy.max_items_per_patron:
                self.journal.record_outcome(jid, j.UNKNOWN, reason_key="offline_limit",
                                            note=f"library system unreachable: {why}")
                return Outcome(item_id, CHECKOUT, REFUSED, reason_key="offline_limit", journal_id=jid,
                               online=False)
            # The durable point: once this commit returns, the screen may say "done".
            self.journal.record_outcome(jid, j.QUEUED, acked=True, offline=True,
                                        due_date=_iso(due_date) if due_date else None, note=f"offline: {why}")
        return Outcome(item_id, CHECKOUT, DONE, due_date=due_date, due=due_date.date().isoformat() if due_date else "",
                       journaled=True, security=False, journal_id=jid, online=False)

    def _offline_due(self, now: datetime) -> datetime | None:
        return self.policy.promised_due(now, clock_trusted=self.journal.clock_trusted())

    def _checkout_unresolved(self, jid: int, patron_id: str, item_id: str, allow_offline: bool,
                             protocol: bool) -> Outcome:
        """Sent, no reply, and Item Information unreachable too."""
        if self.policy.checkouts and allow_offline:
            with self._offline_lock:
                if self.journal.offline_checkouts_for(patron_id) < self.policy.max_items_per_patron:
                    due_date = self._offline_due(self._now())
                    # Acknowledged as an offline checkout; replay resolves it (Item Information)
                    # before it would ever send it again.
                    self.journal.record_outcome(jid, j.UNKNOWN, acked=True, offline=True,
                                                due_date=_iso(due_date) if due_date else None)
                    return Outcome(item_id, CHECKOUT, DONE, due_date=due_date,
                                   due=due_date.date().isoformat() if due_date else "",
                                   journaled=True, security=False, journal_id=jid, online=False,
                                   protocol_error=protocol)
        return Outcome(item_id, CHECKOUT, NEEDS_STAFF, reason_key="ils_timeout", journal_id=jid, online=False,
                       protocol_error=protocol)

    # ---- check-in ------------------------------------------------------------------------
    def checkin(self, item_id: str, *, return_date: datetime | None = None,
                allow_offline: bool = True) -> Outcome:
        """Return an item.  ``return_date`` backdates it (the after-hours drop time)."""
        in_order = self._flush_item(item_id)
        now = return_date or self._now()
        jid = self.journal.record_intent(CHECKIN, item_id, txn_date=_iso(now), now=self.clock())
        last_exc: Exception | None = None
        ambiguous = False
        if not in_order:   # never overtake this item's journaled transactions
            last_exc = IlsUnavailable("earlier transactions of this item are still journaled")
        for _ in range(2 if in_order else 0):   # a check-in is idempotent: resend once after no reply
            try:
                if return_date is not None and self.journal.clock_trusted():   # never backdate from a bad clock
                    r = self.ils.checkin(item_id, transaction_date=return_date, return_date=return_date)
                else:
                    r = self.ils.checkin(item_id)
            except IlsUnavailable as exc:
                last_exc = exc
                break
            except (OutcomeUnknown, ProtocolError) as exc:
                last_exc, ambiguous = exc, True
                continue
            return self._checkin_answered(jid, item_id, r, ambiguous, allow_offline)
        protocol = isinstance(last_exc, ProtocolError)
        if self.policy.returns and allow_offline:
            # The durable point for an offline return.
            self.journal.record_outcome(jid, j.QUEUED if not ambiguous else j.UNKNOWN, acked=True, offline=True,
                                        note=f"offline: {last_exc}")
            return Outcome(item_id, CHECKIN, DONE, journaled=True, security=True, journal_id=jid, online=False,
                           protocol_error=protocol)
        if ambiguous:
            self.journal.record_outcome(jid, j.UNKNOWN, note=f"no reply: {last_exc}")
            return Outcome(item_id, CHECKIN, NEEDS_STAFF, reason_key="ils_timeout", journal_id=jid,
                           online=False, protocol_error=protocol)
        self.journal.record_outcome(jid, j.NOT_SENT, reason_key="offline_not_allowed", note=str(last_exc))
        return Outcome(item_id, CHECKIN, REFUSED, reason_key="offline_not_allowed", journal_id=jid, online=False,
                       protocol_error=protocol)

    def _checkin_answered(self, jid: int, item_id: str, r: CheckinResult, ambiguous: bool,
                          allow_offline: bool = True) -> Outcome:
        if checkin_bare_refusal(r):
            return self._checkin_by_item_information(jid, item_id, r, allow_offline)
        state, key = checkin_reason(r)
        alert = checkin_alert(r)
        if state == DONE and r.not_on_loan and ambiguous and not alert:
            # Our first, unanswered check-in may have been the one that triggered a hold or a
            # transfer: the routing must not be lost, so ask where the item should go now.
            info = self._item_info(item_id)
            if info is not None:
                alert = {"08": "hold_here", "10": "transfer"}.get(info.circulation_status)
        jstate = {DONE: j.DONE, REFUSED: j.REFUSED, NEEDS_STAFF: j.REFUSED}[state]
        self.journal.record_outcome(jid, jstate, acked=state == DONE, title=r.title, reason_key=key,
                                    reason_text=r.screen_message or None)
        security = None if r.resensitize is False else True
        if state != DONE:
            security = None
        return Outcome(item_id, CHECKIN, state, title=r.title, reason_key=key, reason_text=r.screen_message,
                       alert=alert, sort_bin=r.sort_bin, destination=r.destination, security=security,
                       journal_id=jid)

    def _checkin_by_item_information(self, jid: int, item_id: str, r: CheckinResult,
                                     allow_offline: bool) -> Outcome:
        """ok=0 with no alert and no message (Evergreen, Sierra: "already in") proves nothing by
        itself: Item Information decides -- on the shelf -> done; hold shelf / in transit -> done
        with its routing; still charged or a status that proves neither -> staff."""
        info = self._item_info(item_id)
        if info is None:
            # Answered, but where the item is could not be asked: journal it (the replay asks).
            if self.policy.returns and allow_offline:
                self.journal.record_outcome(jid, j.UNKNOWN, acked=True, offline=True,
                                            note="check-in answered ok=0 without a reason; Item Information "
                                                 "failed: the replay checks the item")
                return Outcome(item_id, CHECKIN, DONE, title=r.title, journaled=True, security=True,
                               journal_id=jid, online=False)
            self.journal.record_outcome(jid, j.UNKNOWN, note="check-in answered ok=0 without a reason; "
                                                            "Item Information failed")
            return Outcome(item_id, CHECKIN, NEEDS_STAFF, title=r.title, reason_key="ils_timeout",
                           journal_id=jid, online=False)
        title = r.title or info.title
        is_in, alert = judge_return(info)
        if is_in:
            self.journal.record_outcome(jid, j.DONE, acked=True, title=title,
                                        note=f"ok=0 without a reason; Item Information: status "
                                             f"{info.circulation_status}, the item is in")
            security = None if r.resensitize is False else True
            return Outcome(item_id, CHECKIN, DONE, title=title, alert=alert, security=security, journal_id=jid)
        why = ("the library system did not check it in: the item is still on loan" if is_in is False else
               f"the library system did not check it in (item status {info.circulation_status or 'blank'})")
        self.journal.record_outcome(jid, j.REFUSED, title=title, reason_key="check_at_desk", reason_text=why)
        return Outcome(item_id, CHECKIN, NEEDS_STAFF, title=title, reason_key="check_at_desk", reason_text=why,
                       journal_id=jid)

    # ---- renewal -------------------------------------------------------------------------
    def renew(self, patron_id: str, item_id: str, *, pin: str | None = None) -> Outcome:
        """Renew a loan.  Never offline, never resent blindly (a double renewal is a real harm)."""
        in_order = self._flush_item(item_id)
        jid = self.journal.record_intent(RENEW, item_id, patron_id=patron_id, txn_date=_iso(self._now()),
                                         now=self.clock())
        if not in_order:
            self.journal.record_outcome(jid, j.NOT_SENT, reason_key="offline_not_allowed",
                                        note="earlier transactions of this item are still journaled")
            return Outcome(item_id, RENEW, REFUSED, reason_key="offline_not_allowed", journal_id=jid, online=False)
        try:
            r = self.ils.renew(patron_id, item_id, pin=pin)
        except IlsUnavailable as exc:
            self.journal.record_outcome(jid, j.NOT_SENT, reason_key="offline_not_allowed", note=str(exc))
            return Outcome(item_id, RENEW, REFUSED, reason_key="offline_not_allowed", journal_id=jid, online=False,
                           protocol_error=isinstance(exc, ProtocolError))
        except (OutcomeUnknown, ProtocolError) as exc:
            self.journal.record_outcome(jid, j.UNKNOWN, note=f"no reply: {exc}")
            return Outcome(item_id, RENEW, NEEDS_STAFF, reason_key="ils_timeout", journal_id=jid, online=False,
                           protocol_error=isinstance(exc, ProtocolError))
        due = _due_text(r)
        if r.ok:
            self.journal.record_outcome(jid, j.DONE, acked=True, title=r.title, due=due)
            return Outcome(item_id, RENEW, DONE, title=r.title, due_date=r.due_date, due=due, journal_id=jid)
        key = checkout_reason(r)
        self.journal.record_outcome(jid, j.REFUSED, reason_key=key, reason_text=r.screen_message)
        return Outcome(item_id, RENEW, REFUSED, title=r.title, reason_key=key, reason_text=r.screen_message,
                       journal_id=jid)


__all__ = ["Circulator", "JournalError", "Outcome"]
