"""The patron's account, filled in item by item: pure helpers, no I/O.

SIP2's Patron Information (63/64) lists only item ids for loans and holds (sip2.md 1.5: AS/AT/AU
carry barcodes, no titles or due dates), so a patron opening "My account" would see a column of
barcodes.  The service looks each one up with Item Information (17/18) on its worker pool and
feeds every answer through :func:`with_item_info`; the account screen fills in live.  A lookup that
fails leaves the loan as it was (the barcode stays as the fallback).

Loans are shown in the order a patron cares about: overdue first, then the soonest due; loans
without a known due date last (in the library system's order).  :func:`summarize` is what the
screens may show of the account (the session machine keeps it current as details arrive).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from kiosk.appliance.privacy import mask
from kiosk.circulation.reasons import patron_block_keys
from kiosk.circulation.view import HoldLine, LoanLine, PatronSummary
from kiosk.ils.base import Hold, ItemInfo, Loan, Patron


def needs_details(patron: Patron) -> tuple[str, ...]:
    """Item ids of loans without a title or due date, then ready holds without a title."""
    ids = [lo.item_id for lo in patron.loans if not lo.title or (lo.due_date is None and not lo.due)]
    ids += [h.item_id for h in patron.holds if h.available and not h.title and h.item_id not in ids]
    return tuple(dict.fromkeys(i for i in ids if i))


def is_overdue(due_date: datetime | None, now: datetime) -> bool:
    return due_date is not None and due_date < now


def with_item_info(patron: Patron, info: ItemInfo, now: datetime) -> Patron:
    """``patron`` with the title and due date of ``info`` merged into its loan / hold.

    Returns the same object when nothing changed (an unknown item, or nothing new)."""
    if not info.known:
        return patron
    loans, changed = [], False
    for lo in patron.loans:
        if lo.item_id == info.item_id:
            due_date = info.due_date or lo.due_date
            new = dataclasses.replace(lo, title=info.title or lo.title, due=info.due or lo.due, due_date=due_date,
                                      overdue=lo.overdue or info.item_id in patron.overdue_items
                                      or is_overdue(due_date, now))
            changed |= new != lo
            lo = new
        loans.append(lo)
    holds = []
    for h in patron.holds:
        if h.item_id == info.item_id and info.title and info.title != h.title:
            h = dataclasses.replace(h, title=info.title)
            changed = True
        holds.append(h)
    if not changed:
        return patron
    return dataclasses.replace(patron, loans=tuple(loans), holds=tuple(holds))


def with_renewal(patron: Patron, item_id: str, *, due_date: datetime | None, due: str, title: str = "") -> Patron:
    """``patron`` after a successful renewal: the new due date, no longer overdue."""
    loans: list[Loan] = []
    for lo in patron.loans:
        if lo.item_id == item_id:
            lo = dataclasses.replace(lo, due_date=due_date or lo.due_date, due=due or lo.due, overdue=False,
                                     title=lo.title or title)
        loans.append(lo)
    overdue = tuple(i for i in patron.overdue_items if i != item_id)
    return dataclasses.replace(patron, loans=tuple(loans), overdue_items=overdue)


def loan_order(loans: tuple[Loan, ...] | list[Loan], overdue_items: tuple[str, ...] = ()) -> list[Loan]:
    """Overdue first, then by due date; loans without a due date last, in their original order."""
    def key(pair: tuple[int, Loan]) -> tuple:
        n, lo = pair
        overdue = lo.overdue or lo.item_id in overdue_items
        when = lo.due_date.replace(tzinfo=None) if lo.due_date is not None else datetime.min
        return (0 if overdue else 1, 0 if lo.due_date is not None else 1, when, n)

    return [lo for _, lo in sorted(enumerate(loans), key=key)]


def ready_holds(holds: tuple[Hold, ...]) -> list[Hold]:
    return [h for h in holds if h.available]


def summarize(patron: Patron, *, offline: bool = False, pending: int = 0) -> PatronSummary:
    """What may be shown of a patron: counts, titles, dates and fines, never the card number.
    Loans overdue first, then by due date (:func:`loan_order`)."""
    loans = tuple(LoanLine(item_id=lo.item_id, title=lo.title, due_date=lo.due_date, due=lo.due,
                           overdue=lo.overdue or lo.item_id in patron.overdue_items)
                  for lo in loan_order(patron.loans, patron.overdue_items))
    ready = ready_holds(patron.holds)
    return PatronSummary(
        name=patron.name, loans=loans, loan_count=len(loans),
        overdue_count=max(len(patron.overdue_items), sum(1 for lo in loans if lo.overdue)),
        holds_ready=tuple(h.title or h.item_id for h in ready), holds_count=len(patron.holds),
        fine_amount=patron.fine_amount, currency=patron.currency, can_checkout=patron.can_checkout,
        can_renew=patron.can_renew, block_keys=patron_block_keys(patron), screen_message=patron.screen_message,
        offline=offline, masked_id=mask(patron.patron_id), details_pending=pending, email=patron.email,
        holds_ready_items=tuple(HoldLine(h.item_id, h.title, h.pickup_location) for h in ready))
