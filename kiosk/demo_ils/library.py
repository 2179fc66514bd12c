"""Circulation operations of the demo library: read the records, ask :mod:`rules`, write, log.

Each public method is one library transaction: it runs inside ``BEGIN IMMEDIATE`` so that twenty
kiosks checking items in and out at once leave a consistent database (an item is never on loan
twice, a hold is trapped once), and it writes one row to the transaction log.  The SIP2 server
(:mod:`kiosk.demo_ils.handlers`) turns the outcome records into replies; tests may call these
methods directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.appliance.privacy import mask
from kiosk.demo_ils import rules
from kiosk.demo_ils.db import LibraryDb, fmt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CirculationOutcome:
    """Result of a checkout or a renewal, with what the reply needs."""

    ok: bool
    message: str = ""
    renewal: bool = False
    due_at: datetime | None = None
    title: str = ""
    media_type: str = ""
    patron_known: bool = False
    item_known: bool = False
    fee: int = 0
    fee_type: str = ""


@dataclass(frozen=True)
class CheckinOutcome:
    ok: bool
    message: str = ""
    item_known: bool = False
    title: str = ""
    media_type: str = ""
    permanent_location: str = ""
    call_number: str = ""
    alert_type: str = ""
    sort_bin: str = ""
    destination: str = ""
    hold_card: str = ""
    hold_name: str = ""
    borrower: str = ""            # the patron whose loan this return closed
    fine: int = 0                 # overdue fine charged for this return (cents)

    @property
    def alert(self) -> bool:
        return bool(self.alert_type) or not self.ok


@dataclass(frozen=True)
class RenewAllOutcome:
    ok: bool
    renewed: tuple[str, ...] = ()
    unrenewed: tuple[str, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class HoldOutcome:
    ok: bool
    message: str = ""
    available: bool = False
    queue_position: int = 0
    pickup_branch: str = ""
    title: str = ""
    item_known: bool = False
    extra: dict = field(default_factory=dict)


class Library:
    """The demo library at one branch.  ``checked_in_ok``: Koha's account flag of that name."""

    def __init__(self, db: LibraryDb, branch: str = rules.THIS_BRANCH, checked_in_ok: bool = False) -> None:
        self.db = db
        self.branch = branch
        self.checked_in_ok = checked_in_ok

    def now(self) -> datetime:
        return self.db.clock()

    # ----------------------------------------------------------------------------- checkout
    def checkout(self, card: str, barcode: str, *, pin: str | None = None, no_block: bool = False,
                 transaction_date: datetime | None = None, nb_due_date: datetime | None = None,
                 fee_acknowledged: bool = False, terminal: str = "") -> CirculationOutcome:
        db = self.db
        with db.transaction() as conn:
            now = self.now()
            patron, item = db.patron(card, now), db.item(barcode)
            loan = db.loan_of_item(barcode) if item else None
            holds = db.holds_on(barcode) if item else []
            d = rules.decide_checkout(patron, item, loan, holds, now, pin_given=pin, no_block=no_block,
                                      transaction_date=transaction_date, nb_due_date=nb_due_date,
                                      fee_acknowledged=fee_acknowledged)
            if d.ok and d.renewal and loan is not None:
                self._renew_loan(loan, item, d.due_at, now, offline=d.forced)
            elif d.ok:
                issued = d.issued_at or now
                if d.return_loan_id is not None and loan is not None:   # offline: the item moved on
                    self._close_loan(loan, item, issued)
                conn.execute("INSERT INTO loans (card, barcode, issued_at, due_at, offline) VALUES (?,?,?,?,?)",
                             (card, barcode, fmt(issued), fmt(d.due_at), int(d.forced)))
                conn.execute("UPDATE items SET status = 'available', transit_to = '' WHERE barcode = ?",
                             (barcode,))
                if d.fill_hold_id is not None:
                    conn.execute("UPDATE holds SET filled_at = ? WHERE id = ?", (fmt(now), d.fill_hold_id))
                # An offline checkout may take an item off the hold shelf: that hold waits again.
                conn.execute("UPDATE holds SET status = 'pending', waiting_since = NULL WHERE barcode = ? "
                             "AND status != 'pending' AND filled_at IS NULL AND cancelled_at IS NULL",
                             (barcode,))
                if d.fee:
                    self._charge(card, barcode, d.fee_type, d.fee, f"Rental: {item.title}", now)
            kind = "renewal" if d.renewal else "checkout"
            db.log(kind, d.ok, card=card, barcode=barcode, no_block=no_block, transaction_date=transaction_date,
                   message=d.message, terminal=terminal)
        log.info("%s %s item %s patron %s: %s", kind, "ok" if d.ok else "refused", barcode, mask(card),
                 d.message)
        return CirculationOutcome(d.ok, d.message, renewal=d.renewal, due_at=d.due_at,
                                  title=item.title if item else "",
                                  media_type=item.policy.sip_media_type if item else "",
                                  patron_known=patron is not None, item_known=item is not None,
                                  fee=d.fee, fee_type=d.fee_type)

    def cancel_checkout(self, card: str, barcode: str, *, terminal: str = "") -> CirculationOutcome:
        """Checkout with cancel=Y (BI): the kiosk could not desensitize the item, so undo the loan."""
        db = self.db
        with db.transaction() as conn:
            now = self.now()
            item = db.item(barcode)
            loan = db.loan_of_item(barcode) if item else None
            ok = loan is not None and loan.card == card
            if ok:
                conn.execute("UPDATE loans SET returned_at = ? WHERE id = ?", (fmt(now), loan.id))
            msg = "Checkout cancelled" if ok else "Item not checked out to you"
            db.log("checkout_cancel", ok, card=card, barcode=barcode, message=msg, terminal=terminal)
        return CirculationOutcome(ok, msg, title=item.title if item else "",
                                  media_type=item.policy.sip_media_type if item else "",
                                  patron_known=db.patron_row(card) is not None, item_known=item is not None)

    # ------------------------------------------------------------------------------ renewal
    def renew(self, card: str, barcode: str, *, pin: str | None = None, no_block: bool = False,
              nb_due_date: datetime | None = None, terminal: str = "") -> CirculationOutcome:
        db = self.db
        with db.transaction():
            now = self.now()
            patron, item = db.patron(card, now), db.item(barcode)
            loan = db.loan_of_item(barcode) if item else None
            holds = db.holds_on(barcode) if item else []
            if patron is not None and pin and not rules.pin_ok(patron, pin):
                d = rules.RenewalDecision(False, "Invalid patron password")
            else:
                d = rules.decide_renewal(patron, item, loan, holds, now, no_block=no_block,
                                         nb_due_date=nb_due_date)
            if d.ok and loan is not None:
                self._renew_loan(loan, item, d.due_at, now, offline=d.forced)
            db.log("renewal", d.ok, card=card, barcode=barcode, no_block=no_block, message=d.message,
                   terminal=terminal)
        return CirculationOutcome(d.ok, d.message, renewal=d.ok, due_at=d.due_at if d.ok else None,
                                  title=item.title if item else "",
                                  media_type=item.policy.sip_media_type if item else "",
                                  patron_known=patron is not None, item_known=item is not None)

    def renew_all(self, card: str, *, pin: str | None = None, terminal: str = "") -> RenewAllOutcome:
        db = self.db
        with db.transaction():
            now = self.now()
            patron = db.patron(card, now)
            if patron is None:
                return RenewAllOutcome(False, message="Invalid Patron")
            if pin and not rules.pin_ok(patron, pin):
                return RenewAllOutcome(False, message="Invalid patron password")
            renewed, unrenewed = [], []
            for loan in db.loans_of(card):
                item = db.item(loan.barcode)
                d = rules.decide_renewal(db.patron(card, now), item, loan, db.holds_on(loan.barcode), now)
                if d.ok:
                    self._renew_loan(loan, item, d.due_at, now)
                    renewed.append(loan.barcode)
                else:
                    unrenewed.append(loan.barcode)
                db.log("renewal", d.ok, card=card, barcode=loan.barcode, message=d.message, terminal=terminal)
        return RenewAllOutcome(True, tuple(renewed), tuple(unrenewed),
                               f"{len(renewed)} renewed, {len(unrenewed)} not renewed")

    def _renew_loan(self, loan: rules.LoanView, item: rules.ItemView, due_at: datetime | None,
                    now: datetime, offline: bool = False) -> None:
        # The overdue fine up to today becomes final; a new one only starts after the new due date.
        fine = rules.overdue_fine(item.media, loan.due_at, now)
        if fine:
            self._charge(loan.card, loan.barcode, rules.FEE_OVERDUE, fine, f"Overdue: {item.title}", now,
                         loan_id=loan.id)
        self.db.connection().execute(
            "UPDATE loans SET due_at = ?, renewals = renewals + 1, offline = offline OR ? WHERE id = ?",
            (fmt(due_at or rules.due_date(item.media, now)), int(offline), loan.id))

    # ------------------------------------------------------------------------------ checkin
    def checkin(self, barcode: str, *, return_date: datetime | None = None, no_block: bool = False,
                transaction_date: datetime | None = None, terminal: str = "") -> CheckinOutcome:
        db = self.db
        with db.transaction() as conn:
            now = self.now()
            item = db.item(barcode)
            loan = db.loan_of_item(barcode) if item else None
            holds = db.holds_on(barcode) if item else []
            when = return_date or (transaction_date if no_block else None)
            d = rules.decide_checkin(item, loan, holds, now, branch=self.branch, return_date=when,
                                     checked_in_ok=self.checked_in_ok)
            fine = 0
            if d.close_loan_id is not None and loan is not None:
                fine = self._close_loan(loan, item, d.returned_at or now)
            if item is not None and d.known:
                conn.execute("UPDATE items SET status = ?, transit_to = ? WHERE barcode = ?",
                             (d.item_status, d.transit_to, barcode))
            if d.hold is not None:
                conn.execute("UPDATE holds SET status = ?, waiting_since = ? WHERE id = ?",
                             (d.hold_status, fmt(now) if d.hold_status == "waiting" else None, d.hold.id))
            if d.found_lost:
                conn.execute("UPDATE fines SET cancelled = 1 WHERE barcode = ? AND fee_type = ? AND paid = 0",
                             (barcode, rules.FEE_REPLACEMENT))
            db.log("checkin", d.ok, card=loan.card if loan else None, barcode=barcode, no_block=no_block,
                   transaction_date=when, message=d.message + (f" [alert {d.alert_type}]" if d.alert_type else ""),
                   terminal=terminal)
            row = db.item_row(barcode) if item else None
            hold_name = ""
            if d.hold is not None:
                prow = db.patron_row(d.hold.card)
                hold_name = prow["name"] if prow else ""
        log.info("checkin item %s: ok=%s alert=%s", barcode, d.ok, d.alert_type or "-")
        return CheckinOutcome(
            d.ok, d.message, item_known=item is not None, title=item.title if item else "",
            media_type=item.policy.sip_media_type if item else "",
            permanent_location=f"{row['home_branch']} {row['location']}".strip() if row else "",
            call_number=row["call_number"] if row else "", alert_type=d.alert_type, sort_bin=d.sort_bin,
            destination=d.destination, hold_card=d.hold.card if d.hold else "", hold_name=hold_name,
            borrower=loan.card if loan else "", fine=fine)

    def _close_loan(self, loan: rules.LoanView, item: rules.ItemView, returned_at: datetime) -> int:
        """End a loan at ``returned_at`` and charge the overdue fine up to that day (not beyond)."""
        returned_at = max(returned_at, loan.issued_at)
        fine = rules.overdue_fine(item.media, loan.due_at, returned_at)
        self.db.connection().execute("UPDATE loans SET returned_at = ? WHERE id = ?", (fmt(returned_at), loan.id))
        if fine:
            self._charge(loan.card, loan.barcode, rules.FEE_OVERDUE, fine, f"Overdue: {item.title}",
                         returned_at, loan_id=loan.id)
        return fine

    def _charge(self, card: str, barcode: str | None, fee_type: str, cents: int, description: str,
                when: datetime, loan_id: int | None = None) -> None:
        self.db.connection().execute(
            "INSERT INTO fines (card, barcode, loan_id, fee_type, amount, description, created_at) "
            "VALUES (?,?,?,?,?,?,?)", (card, barcode, loan_id, fee_type, cents, description, fmt(when)))

    # ------------------------------------------------------------------------------- money
    def pay(self, card: str, amount_text: str, *, fee_id: str | None = None,
            terminal: str = "") -> tuple[bool, str]:
        """Fee Paid (37): apply a payment to the patron's oldest fines (or the one named)."""
        db = self.db
        with db.transaction() as conn:
            cents = rules.parse_money(amount_text)
            if db.patron_row(card) is None:
                ok, msg = False, "Invalid Patron"
            elif not cents:
                ok, msg = False, f"Invalid amount {amount_text!r}"
            else:
                left = cents
                for row in db.fines_of(card):
                    if fee_id and str(row["id"]) != fee_id:
                        continue
                    pay = min(left, row["amount"] - row["paid"])
                    conn.execute("UPDATE fines SET paid = paid + ? WHERE id = ?", (pay, row["id"]))
                    left -= pay
                    if not left:
                        break
                ok = True
                msg = f"Payment of {rules.money(cents)} {rules.CURRENCY} accepted"
                if left:
                    msg += f" ({rules.money(left)} more than was owed)"
            db.log("fee_paid", ok, card=card, message=msg, terminal=terminal)
        return ok, msg

    # ------------------------------------------------------------------------------- holds
    def hold(self, mode: str, card: str, barcode: str, *, pickup: str = "", terminal: str = "") -> HoldOutcome:
        """Hold (15): ``+`` place, ``-`` cancel, ``*`` change the pickup branch."""
        db = self.db
        with db.transaction() as conn:
            now = self.now()
            patron, item = db.patron(card, now), db.item(barcode)
            holds = db.holds_on(barcode) if item else []
            mine = next((h for h in holds if h.card == card), None)
            title = item.title if item else ""
            if mode == "+":
                d = rules.decide_hold(patron, item, holds, db.loan_of_item(barcode) if item else None, now,
                                      pickup=pickup)
                if d.ok:
                    conn.execute("INSERT INTO holds (card, barcode, pickup_branch, status, placed_at) "
                                 "VALUES (?,?,?,'pending',?)", (card, barcode, d.pickup_branch, fmt(now)))
                out = HoldOutcome(d.ok, d.message, d.available, d.queue_position, d.pickup_branch, title,
                                  item is not None)
            elif mode in ("-", "*") and patron is not None and mine is not None:
                if mode == "-":
                    conn.execute("UPDATE holds SET cancelled_at = ? WHERE id = ?", (fmt(now), mine.id))
                    out = HoldOutcome(True, "Hold cancelled", title=title, item_known=True)
                else:
                    branch = pickup if pickup in rules.BRANCH_NAMES else mine.pickup_branch
                    conn.execute("UPDATE holds SET pickup_branch = ? WHERE id = ?", (branch, mine.id))
                    out = HoldOutcome(True, "Hold changed", pickup_branch=branch, title=title, item_known=True)
            elif mode in ("-", "*"):
                out = HoldOutcome(False, "Invalid Patron" if patron is None else "No such hold", title=title,
                                  item_known=item is not None)
            else:
                out = HoldOutcome(False, "System error. Please contact library staff.")
            db.log("hold" + mode, out.ok, card=card, barcode=barcode, message=out.message, terminal=terminal)
        return out

    # ----------------------------------------------------------------------------- patrons
    def block_patron(self, card: str, note: str, *, terminal: str = "") -> bool:
        """Block Patron (01): the kiosk kept or flagged a card; staff must lift it."""
        with self.db.transaction() as conn:
            cur = conn.execute("UPDATE patrons SET status = 'blocked', block_note = ? WHERE card = ?",
                               (note or "Blocked at the self-check", card))
            self.db.log("block_patron", cur.rowcount == 1, card=card, message=note, terminal=terminal)
            return cur.rowcount == 1

    def enable_patron(self, card: str, *, terminal: str = "") -> bool:
        """Patron Enable (25): lift a block set by staff or by 01 (expiry and fines stay)."""
        with self.db.transaction() as conn:
            cur = conn.execute("UPDATE patrons SET status = 'active', block_note = '' "
                               "WHERE card = ? AND status = 'blocked'", (card,))
            self.db.log("patron_enable", cur.rowcount == 1, card=card, terminal=terminal)
            return cur.rowcount == 1

    def record_item_seen(self, barcode: str, seen_at: datetime, *, terminal: str = "", note: str = "") -> bool:
        """A FOLIO item update set the item's last-seen date (``lastCheckIn``): the same ``item_seen``
        row SIP2 19 writes, with the date the station sent."""
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM items WHERE barcode = ?", (barcode,)).fetchone() is None:
                return False
            conn.execute("INSERT INTO item_seen (barcode, seen_at, terminal, properties) VALUES (?,?,?,?) "
                         "ON CONFLICT(barcode) DO UPDATE SET seen_at = excluded.seen_at, "
                         "terminal = excluded.terminal, properties = excluded.properties",
                         (barcode, fmt(seen_at), terminal, note))
            self.db.log("item_seen", True, barcode=barcode, message=note, terminal=terminal)
            return True

    def update_item_properties(self, barcode: str, properties: str, *, terminal: str = "") -> bool:
        """Item Status Update (19): store the item properties text."""
        with self.db.transaction() as conn:
            cur = conn.execute("UPDATE items SET properties = ? WHERE barcode = ?", (properties, barcode))
            self.db.log("item_status_update", cur.rowcount == 1, barcode=barcode, terminal=terminal)
            if cur.rowcount == 1:   # a station reported the item: record the seen date (inventory)
                conn.execute("INSERT INTO item_seen (barcode, seen_at, terminal, properties) VALUES (?,?,?,?) "
                             "ON CONFLICT(barcode) DO UPDATE SET seen_at = excluded.seen_at, "
                             "terminal = excluded.terminal, properties = excluded.properties",
                             (barcode, fmt(self.now()), terminal, properties))
            return cur.rowcount == 1
