"""A small in-memory library system implementing :class:`~kiosk.ils.base.Ils`, with fault injection.

For unit tests of the engine and of the screens, and as the zero-latency baseline of benchmarks.
It is honest: it keeps loans, holds and a transaction log, answers like Koha where it matters
("Item not checked out", "Item is on hold for another patron."), and can be told to be down, to
drop a reply after doing the work (the ambiguous case), to drop a request before doing it, or to
answer slowly.  The real demo library system is :mod:`kiosk.demo_ils`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.ils.base import (
    CheckinResult,
    CheckoutResult,
    Hold,
    Ils,
    IlsStatus,
    ItemInfo,
    Loan,
    Patron,
    RenewAllResult,
)


@dataclass
class MemPatron:
    card: str
    name: str = "A. Reader"
    pin: str = "1234"
    blocks: tuple[str, ...] = ()
    can_checkout: bool = True
    email: str = ""


@dataclass
class MemItem:
    barcode: str
    title: str = ""
    borrower: str | None = None
    due: datetime | None = None
    hold_for: str | None = None
    renewals: int = 0
    refuse_text: str = ""        # any checkout of it is refused with this AF text


@dataclass
class Txn:
    kind: str
    item_id: str
    patron_id: str | None
    no_block: bool
    transaction_date: datetime | None
    at: float = field(default_factory=time.time)


class MemoryIls(Ils):
    """Thread-safe in-memory ILS.  Faults: ``down``, ``drop_after`` / ``drop_before`` (sets of
    item ids or ``"*"``; each drop is used once unless ``sticky``), ``latency_s``."""

    LOAN_DAYS = 21

    def __init__(self, patrons: list[MemPatron] | None = None, items: list[MemItem] | None = None,
                 latency_s: float = 0.0) -> None:
        self.patrons = {p.card: p for p in (patrons or [])}
        self.items = {i.barcode: i for i in (items or [])}
        self.latency_s = latency_s
        self.down = False
        self.drop_after: set[str] = set()
        self.drop_before: set[str] = set()
        self.sticky = False
        self.report_borrower = True       # False: like standard SIP2, Item Information hides who has it
        self.ids_only = False             # True: like SIP2 64, loans and holds are item ids only
        # True: like FOLIO (docs/folio.md), the library's own loan rules set the due date of a replayed
        # offline checkout; the due date the kiosk promised (no-block due date) is not imposed
        self.own_due_dates = False
        self.item_info_fails: set[str] = set()   # item ids whose Item Information raises ProtocolError
        self.lie_unavailable: set[str] = set()   # do the work, then claim nothing was sent (a bad client)
        self.log: list[Txn] = []          # every transaction that HAPPENED
        self.calls: list[tuple] = []      # every request received (also dropped ones)
        self._lock = threading.RLock()

    # ---- fault plumbing ------------------------------------------------------------------
    def _enter(self, name: str, key: str, *args, droppable: bool = True) -> None:
        if self.down:
            raise IlsUnavailable("memory ILS is down")
        with self._lock:
            self.calls.append((name, key, *args))
        if self.latency_s:
            time.sleep(self.latency_s)
        if droppable and self._take(self.drop_before, key):
            raise OutcomeUnknown(f"{name} {key}: request lost")

    def _take(self, drops: set[str], key: str) -> bool:
        with self._lock:
            for k in (key, "*"):
                if k in drops:
                    if not self.sticky:
                        drops.discard(k)
                    return True
        return False

    def _leave(self, name: str, key: str) -> None:
        if self._take(self.drop_after, key):
            raise OutcomeUnknown(f"{name} {key}: reply lost")
        if self._take(self.lie_unavailable, key):
            raise IlsUnavailable(f"{name} {key}: connection failed (after the library acted)")

    def happened(self, kind: str, item_id: str) -> int:
        with self._lock:
            return sum(1 for t in self.log if t.kind == kind and t.item_id == item_id)

    # ---- Ils -----------------------------------------------------------------------------
    def status(self) -> IlsStatus:
        if self.down:
            raise IlsUnavailable("memory ILS is down")
        return IlsStatus(online=True, offline_ok=True, library_name="Memory Library")

    def patron_information(self, patron_id: str, pin: str | None = None) -> Patron:
        self._enter("patron_information", patron_id, droppable=False)
        with self._lock:
            p = self.patrons.get(patron_id)
            if p is None:
                return Patron(patron_id=patron_id, valid=False, screen_message="Invalid cardnumber")
            brief = self.ids_only
            loans = tuple(Loan(item_id=i.barcode) if brief else
                          Loan(item_id=i.barcode, title=i.title, due_date=i.due,
                               due=i.due.date().isoformat() if i.due else "")
                          for i in self.items.values() if i.borrower == patron_id)
            holds = tuple(Hold(item_id=i.barcode, title="" if brief else i.title, available=i.borrower is None)
                          for i in self.items.values() if i.hold_for == patron_id)
            return Patron(patron_id=patron_id, name=p.name, valid=True,
                          pin_ok=None if pin is None else pin == p.pin, blocks=p.blocks,
                          can_checkout=p.can_checkout and not p.blocks, can_renew=True, loans=loans,
                          holds=holds, screen_message="Patron blocked" if p.blocks else "", email=p.email)

    def checkout(self, patron_id: str, item_id: str, *, pin: str | None = None, no_block: bool = False,
                 transaction_date: datetime | None = None, nb_due_date: datetime | None = None,
                 fee_acknowledged: bool = False) -> CheckoutResult:
        self._enter("checkout", item_id, patron_id, no_block)
        with self._lock:
            item, patron = self.items.get(item_id), self.patrons.get(patron_id)

            def no(text: str) -> CheckoutResult:
                return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id,
                                      title=item.title if item else "", screen_message=text)
            if item is None:
                return no("Invalid Item")
            if patron is None:
                return no("Invalid Patron")
            if not no_block:
                if item.refuse_text:
                    return no(item.refuse_text)
                if not patron.can_checkout or patron.blocks:
                    return no("Patron blocked")
                if item.borrower and item.borrower != patron_id:
                    return no("Item checked out to another patron")
                if item.hold_for and item.hold_for != patron_id:
                    return no("Item is on hold for another patron.")
            renewal = item.borrower == patron_id
            item.borrower = patron_id
            item.due = ((None if self.own_due_dates else nb_due_date)
                        or datetime.now().replace(microsecond=0) + timedelta(days=self.LOAN_DAYS))
            if item.hold_for == patron_id:
                item.hold_for = None
            self.log.append(Txn("renew" if renewal else "checkout", item_id, patron_id, no_block,
                                transaction_date))
            result = CheckoutResult(ok=True, item_id=item_id, patron_id=patron_id, title=item.title,
                                    due=item.due.date().isoformat(), due_date=item.due, renewal=renewal,
                                    desensitize=True)
        self._leave("checkout", item_id)
        return result

    def checkin(self, item_id: str, *, no_block: bool = False, transaction_date: datetime | None = None,
                return_date: datetime | None = None) -> CheckinResult:
        self._enter("checkin", item_id, no_block)
        with self._lock:
            item = self.items.get(item_id)
            if item is None:
                return CheckinResult(ok=False, item_id=item_id, alert=True, alert_type="99",
                                     screen_message="Invalid Item")
            if item.borrower is None:
                return CheckinResult(ok=False, item_id=item_id, title=item.title, resensitize=True,
                                     screen_message="Item not checked out")
            item.borrower, item.due = None, None
            self.log.append(Txn("checkin", item_id, None, no_block, return_date or transaction_date))
            alert = "01" if item.hold_for else ""
            result = CheckinResult(ok=True, item_id=item_id, title=item.title, resensitize=True,
                                   alert=bool(alert), alert_type=alert)
        self._leave("checkin", item_id)
        return result

    def renew(self, patron_id: str, item_id: str, *, pin: str | None = None, no_block: bool = False,
              transaction_date: datetime | None = None) -> CheckoutResult:
        self._enter("renew", item_id, patron_id)
        with self._lock:
            item = self.items.get(item_id)
            if item is None or item.borrower != patron_id:
                return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id,
                                      screen_message="Item not checked out to you")
            if item.hold_for:
                return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id, title=item.title,
                                      screen_message="Item unavailable due to outstanding holds")
            item.renewals += 1
            item.due = (item.due or datetime.now()) + timedelta(days=self.LOAN_DAYS)
            self.log.append(Txn("renew", item_id, patron_id, no_block, transaction_date))
            result = CheckoutResult(ok=True, item_id=item_id, patron_id=patron_id, title=item.title,
                                    due=item.due.date().isoformat(), due_date=item.due, renewal=True)
        self._leave("renew", item_id)
        return result

    def renew_all(self, patron_id: str, *, pin: str | None = None) -> RenewAllResult:
        ok, bad = [], []
        for item in list(self.items.values()):
            if item.borrower == patron_id:
                (ok if self.renew(patron_id, item.barcode).ok else bad).append(item.barcode)
        return RenewAllResult(ok=True, renewed=tuple(ok), unrenewed=tuple(bad))

    def item_information(self, item_id: str) -> ItemInfo:
        self._enter("item_information", item_id, droppable=False)
        if item_id in self.item_info_fails:
            raise ProtocolError(f"item_information {item_id}: unreadable reply")
        with self._lock:
            item = self.items.get(item_id)
            if item is None:
                return ItemInfo(item_id=item_id, known=False, circulation_status="01")
            status = "04" if item.borrower else ("08" if item.hold_for else "03")
            return ItemInfo(item_id=item_id, title=item.title, circulation_status=status,
                            due_date=item.due, due=item.due.date().isoformat() if item.due else "", patron_id=(item.borrower or "") if self.report_borrower else "")

    def end_patron_session(self, patron_id: str) -> None:
        if self.down:
            raise IlsUnavailable("memory ILS is down")
