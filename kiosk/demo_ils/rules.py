"""The demo library's circulation rules: pure decisions, no database, no sockets.

Every function here takes plain records (built by :mod:`kiosk.demo_ils.db` from SQLite rows) and
the current time, and returns a decision record that :mod:`kiosk.demo_ils.library` applies.
Keeping the rules pure lets them be unit-tested exhaustively and read by a librarian.

The behaviour follows Koha's SIP server where a kiosk can notice the difference
(reference: Koha's C4/SIP and its SIP2 documentation): the refusal texts in AF, the checkin
alert types (CV 01/02/04/99), "Item not checked out" for a return of an item that is not on loan,
and a checkout of an item already on loan to the same patron being processed as a renewal.
The rules themselves (loan periods, limits, fines) are documented in docs/demo-library.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

CURRENCY = "EUR"          # ISO 4217 code sent in BH
THIS_BRANCH = "MAIN"      # the branch the kiosks stand in
OTHER_BRANCH = "EAST"     # the second branch (holds picked up there, items that belong there)
BRANCH_NAMES = {THIS_BRANCH: "Main Library", OTHER_BRANCH: "East Branch"}

# Sort bins (CL) of the return sorter / book drop.  Letters, as on real sorters; meaning in the docs.
BIN_SHELVES = "A"     # books, magazines and sets back to the shelves
BIN_AV = "B"          # DVDs and audiobooks (AV shelves)
BIN_HOLDS = "C"       # hold shelf of this branch (alert 01)
BIN_TRANSIT = "D"     # goes to another branch (alerts 02 and 04)
BIN_STAFF = "E"       # needs a member of staff (unknown, withdrawn, lost-and-found items)

# SIP2 circulation status codes of message 18 (sip2.md 1.5 "Circulation status").
CIRC_OTHER, CIRC_AVAILABLE, CIRC_CHARGED = "01", "03", "04"
CIRC_ON_HOLD_SHELF, CIRC_IN_TRANSIT, CIRC_LOST, CIRC_MISSING = "08", "10", "12", "13"

# SIP2 checkin alert types CV (sip2.md 1.5 "CV alert type"; Koha emits 01, 02, 04, 99).
ALERT_HOLD_HERE, ALERT_HOLD_ELSEWHERE, ALERT_TRANSFER, ALERT_OTHER = "01", "02", "04", "99"

# Fee types BT (sip2.md 1.5 "Fee type").
FEE_OTHER, FEE_OVERDUE, FEE_RENTAL, FEE_REPLACEMENT = "01", "04", "06", "07"

DUE_TIME = time(23, 59)   # day-based loans are due at the end of the day, as in Koha


@dataclass(frozen=True)
class MediaPolicy:
    """Circulation rules of one media type (Koha: an item type plus its circulation rule)."""

    code: str
    label: str
    sip_media_type: str       # CK (sip2.md 1.5 "Media type": 001 book, 002 magazine, 006 CD/CD-ROM...)
    loan_days: int
    max_renewals: int
    fine_per_day: int         # cents per day overdue
    max_fine: int             # cents: cap of the overdue fine of one loan
    rental_fee: int = 0       # cents charged at checkout; checkout needs fee acknowledged (BO=Y)
    for_loan: bool = True
    sort_bin: str = BIN_SHELVES


MEDIA: dict[str, MediaPolicy] = {p.code: p for p in (
    MediaPolicy("book", "Book", "001", 28, 3, 25, 500),
    MediaPolicy("magazine", "Magazine", "002", 14, 1, 10, 200),
    # No DVD code in SIP2: 006 "CD/CD-ROM" is the usual mapping for optical discs.
    MediaPolicy("dvd", "DVD", "006", 7, 1, 100, 1000, sort_bin=BIN_AV),
    MediaPolicy("dvd-new", "New-release DVD", "006", 7, 0, 100, 1000, rental_fee=200, sort_bin=BIN_AV),
    MediaPolicy("audiobook", "Audiobook (CD)", "006", 21, 2, 25, 500, sort_bin=BIN_AV),
    # Multi-part sets: language courses (book + CDs) are "book with CD" (009).
    MediaPolicy("set", "Multi-part set", "009", 28, 2, 50, 1000),
    MediaPolicy("reference", "Reference (not for loan)", "001", 0, 0, 0, 0, for_loan=False),
)}


@dataclass(frozen=True)
class PatronCategory:
    """Limits of a patron category (Koha: categorycode + circulation rules)."""

    code: str
    label: str
    max_loans: int
    max_overdue: int          # checkout refused when this many loans are overdue
    max_fines: int            # cents: checkout and renewal refused above this amount owed
    max_holds: int


CATEGORIES: dict[str, PatronCategory] = {c.code: c for c in (
    PatronCategory("adult", "Adult", 10, 3, 1000, 10),
    PatronCategory("child", "Child", 5, 2, 500, 5),
    PatronCategory("staff", "Staff", 30, 10, 5000, 30),
)}


# ---------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class PatronView:
    card: str
    name: str
    category: str
    expires: date
    pin: str | None = None            # None: the patron has no PIN
    status: str = "active"            # active | blocked | lost_card
    block_note: str = ""
    home_branch: str = THIS_BRANCH
    loans: int = 0
    overdue: int = 0
    fines: int = 0                    # cents owed (final + accruing)
    holds: int = 0


@dataclass(frozen=True)
class ItemView:
    barcode: str
    title: str
    media: str
    home_branch: str = THIS_BRANCH
    status: str = "available"         # available | in_transit | lost | withdrawn | missing
    transit_to: str = ""
    parts: int = 1

    @property
    def policy(self) -> MediaPolicy:
        return MEDIA[self.media]


@dataclass(frozen=True)
class LoanView:
    id: int
    card: str
    barcode: str
    issued_at: datetime
    due_at: datetime
    renewals: int = 0


@dataclass(frozen=True)
class HoldView:
    id: int
    card: str
    barcode: str
    pickup_branch: str
    status: str = "pending"           # pending | waiting | in_transit
    placed_at: datetime | None = None


# -------------------------------------------------------------------------------------- helpers
def money(cents: int) -> str:
    """Cents as the amount text of BV/CC/BM ("12.50")."""
    return f"{cents // 100}.{cents % 100:02d}" if cents >= 0 else "-" + money(-cents)


def parse_money(text: str) -> int | None:
    """"2.50" -> 250; None for anything that is not a non-negative amount."""
    try:
        value = round(float(text.strip()) * 100)
    except (ValueError, AttributeError):
        return None
    return value if value >= 0 else None


def due_date(media: str, start: datetime) -> datetime:
    """Due date of a loan started at ``start``: loan days later, at the end of the day."""
    return datetime.combine(start.date() + timedelta(days=MEDIA[media].loan_days), DUE_TIME)


def days_overdue(due_at: datetime, until: datetime) -> int:
    """Whole calendar days after the due day (an item back on its due day is not late)."""
    return max(0, (until.date() - due_at.date()).days)


def overdue_fine(media: str, due_at: datetime, until: datetime) -> int:
    """Overdue fine in cents for a loan due ``due_at`` and returned (or still out) at ``until``."""
    policy = MEDIA[media]
    return min(policy.max_fine, days_overdue(due_at, until) * policy.fine_per_day)


def pin_ok(patron: PatronView, given: str | None) -> bool:
    """CQ: a patron without a PIN passes with no PIN given; otherwise the PIN must match."""
    if patron.pin is None:
        return not given
    return given is not None and given == patron.pin


def patron_block_reason(patron: PatronView, now: datetime) -> str | None:
    """Why this patron may not borrow at all (Koha's texts), or None."""
    category = CATEGORIES[patron.category]
    if patron.status == "blocked":
        return "Patron debarred" + (f": {patron.block_note}" if patron.block_note else "")
    if patron.status == "lost_card":
        return "Patron blocked: card reported lost"
    if patron.expires < now.date():
        return f"Patron expired on {patron.expires.isoformat()}"
    if patron.fines > category.max_fines:
        return (f"Patron has fines: {money(patron.fines)} {CURRENCY} owed "
                f"(limit {money(category.max_fines)})")
    if patron.overdue >= category.max_overdue:
        return f"Too many overdue items ({patron.overdue}; limit {category.max_overdue})"
    return None


def patron_status_string(patron: PatronView | None, now: datetime) -> str:
    """The 14-char patron status of 24/64 ('Y' = denied/set; sip2.md 1.5 "Patron status")."""
    if patron is None:
        return "YYYY" + " " * 10            # Koha's answer for an unknown card
    category = CATEGORIES[patron.category]
    flags = [" "] * 14
    blocked = patron_block_reason(patron, now) is not None
    barred = patron.status != "active" or patron.expires < now.date()
    if blocked or patron.loans >= category.max_loans:
        flags[0] = "Y"                       # charge privileges denied
    if barred or patron.fines > category.max_fines:
        flags[1] = "Y"                       # renewal privileges denied
    if barred:
        flags[2] = flags[3] = "Y"            # recall and hold privileges denied
    if patron.status == "lost_card":
        flags[4] = "Y"                       # card reported lost
    if patron.loans >= category.max_loans:
        flags[5] = "Y"                       # too many items charged
    if patron.overdue >= category.max_overdue:
        flags[6] = "Y"                       # too many items overdue
    if patron.fines > category.max_fines:
        flags[10] = "Y"                      # excessive outstanding fines
    return "".join(flags)


def circulation_status(item: ItemView, loan: LoanView | None, holds: list[HoldView]) -> str:
    """Circulation status of 18 for the item as the library sees it now."""
    if loan is not None:
        return CIRC_CHARGED
    if item.status == "lost":
        return CIRC_LOST
    if item.status == "missing":
        return CIRC_MISSING
    if item.status == "withdrawn":
        return CIRC_OTHER
    if item.status == "in_transit" or any(h.status == "in_transit" for h in holds):
        return CIRC_IN_TRANSIT
    if any(h.status == "waiting" for h in holds):
        return CIRC_ON_HOLD_SHELF
    return CIRC_AVAILABLE


def first_hold(holds: list[HoldView]) -> HoldView | None:
    """The hold the item serves next: a waiting/in-transit one first, then the oldest pending."""
    trapped = [h for h in holds if h.status in ("waiting", "in_transit")]
    return (trapped or list(holds) or [None])[0]


# ------------------------------------------------------------------------------------- checkout
@dataclass(frozen=True)
class CheckoutDecision:
    ok: bool
    message: str = ""
    renewal: bool = False                 # already on loan to this patron: processed as a renewal
    due_at: datetime | None = None
    issued_at: datetime | None = None
    fee: int = 0                          # cents charged (rental fee) or asked to acknowledge
    fee_type: str = ""
    fill_hold_id: int | None = None       # the patron's own hold this checkout fills
    return_loan_id: int | None = None     # no-block checkout of an item still on loan to someone else
    forced: bool = False                  # no-block (offline) transaction accepted without checks


def decide_checkout(patron: PatronView | None, item: ItemView | None, loan: LoanView | None,
                    holds: list[HoldView], now: datetime, *, pin_given: str | None = None,
                    no_block: bool = False, transaction_date: datetime | None = None,
                    nb_due_date: datetime | None = None, fee_acknowledged: bool = False) -> CheckoutDecision:
    """May ``patron`` borrow ``item`` now?  The order of checks follows Koha's SIP checkout."""
    if patron is None:
        return CheckoutDecision(False, "Invalid Patron")
    if item is None:
        return CheckoutDecision(False, "Invalid Item")
    policy = item.policy
    own_hold = next((h for h in holds if h.card == patron.card), None)
    if no_block:
        # Store-and-forward: it already happened at the kiosk, so it is recorded as it was.
        start = transaction_date or now
        if loan is not None and loan.card == patron.card:
            return CheckoutDecision(True, "Offline checkout: already on loan to this patron", renewal=True,
                                    due_at=nb_due_date or due_date(item.media, start), issued_at=start,
                                    forced=True)
        return CheckoutDecision(True, "Offline checkout accepted", due_at=nb_due_date or due_date(item.media, start),
                                issued_at=start, fill_hold_id=own_hold.id if own_hold else None,
                                return_loan_id=loan.id if loan is not None else None, forced=True,
                                fee=policy.rental_fee, fee_type=FEE_RENTAL if policy.rental_fee else "")
    if pin_given and not pin_ok(patron, pin_given):
        return CheckoutDecision(False, "Invalid patron password")
    if loan is not None and loan.card == patron.card:
        renewal = decide_renewal(patron, item, loan, holds, now)
        if renewal.ok:
            return CheckoutDecision(True, "Item already checked out to you: renewing item.", renewal=True,
                                    due_at=renewal.due_at)
        return CheckoutDecision(False, renewal.message, renewal=False)
    reason = patron_block_reason(patron, now)
    if reason:
        return CheckoutDecision(False, reason)
    category = CATEGORIES[patron.category]
    if patron.loans >= category.max_loans:
        return CheckoutDecision(False, f"Too many items checked out (limit {category.max_loans})")
    if not policy.for_loan:
        return CheckoutDecision(False, "Item not for loan")
    if item.status == "withdrawn":
        return CheckoutDecision(False, "Item withdrawn")
    if item.status in ("lost", "missing"):
        return CheckoutDecision(False, f"Item is marked {item.status}: please ask staff")
    if loan is not None:
        return CheckoutDecision(False, "Item checked out to another patron")
    served = first_hold(holds)
    if served is not None and served.card != patron.card:
        return CheckoutDecision(False, "Item is on hold for another patron.")
    if item.status == "in_transit":
        return CheckoutDecision(False, "Item is in transit to another branch")
    if policy.rental_fee and not fee_acknowledged:
        return CheckoutDecision(False, f"Rental fee {money(policy.rental_fee)} {CURRENCY}: please confirm",
                                fee=policy.rental_fee, fee_type=FEE_RENTAL)
    return CheckoutDecision(True, "", due_at=due_date(item.media, now), issued_at=now,
                            fill_hold_id=own_hold.id if own_hold else None,
                            fee=policy.rental_fee, fee_type=FEE_RENTAL if policy.rental_fee else "")


# -------------------------------------------------------------------------------------- renewal
@dataclass(frozen=True)
class RenewalDecision:
    ok: bool
    message: str = ""
    due_at: datetime | None = None
    forced: bool = False


def decide_renewal(patron: PatronView | None, item: ItemView | None, loan: LoanView | None,
                   holds: list[HoldView], now: datetime, *, no_block: bool = False,
                   nb_due_date: datetime | None = None) -> RenewalDecision:
    """May ``patron`` renew ``item``?  Holds by others block renewal; so do limits and blocks."""
    if patron is None:
        return RenewalDecision(False, "Invalid Patron")
    if item is None:
        return RenewalDecision(False, "Invalid Item")
    if loan is None or loan.card != patron.card:
        return RenewalDecision(False, "Item not checked out to you")
    new_due = due_date(item.media, now)
    if no_block:
        return RenewalDecision(True, "Offline renewal accepted", due_at=nb_due_date or new_due, forced=True)
    if patron.status != "active" or patron.expires < now.date():
        return RenewalDecision(False, patron_block_reason(patron, now) or "Patron blocked")
    category = CATEGORIES[patron.category]
    if patron.fines > category.max_fines:
        return RenewalDecision(False, f"Patron has fines: {money(patron.fines)} {CURRENCY} owed")
    if any(h.card != patron.card for h in holds):
        return RenewalDecision(False, "Item unavailable due to outstanding holds")
    if loan.renewals >= item.policy.max_renewals:
        return RenewalDecision(False, "Item has reached maximum renewals")
    return RenewalDecision(True, "", due_at=max(new_due, loan.due_at))


# --------------------------------------------------------------------------------------- checkin
@dataclass(frozen=True)
class CheckinDecision:
    ok: bool
    message: str = ""
    known: bool = True
    close_loan_id: int | None = None
    returned_at: datetime | None = None
    alert_type: str = ""                  # CV; "" = no alert
    sort_bin: str = ""
    destination: str = ""                 # CT: branch the item must go to
    hold: HoldView | None = None          # the hold this return traps (its patron goes in CY/DA)
    hold_status: str = ""                 # new status of that hold: waiting | in_transit
    item_status: str = "available"        # new item status
    transit_to: str = ""
    found_lost: bool = False              # a lost item came back: its replacement fee is cancelled

    @property
    def alert(self) -> bool:
        return bool(self.alert_type) or not self.ok


def decide_checkin(item: ItemView | None, loan: LoanView | None, holds: list[HoldView], now: datetime, *,
                   branch: str = THIS_BRANCH, return_date: datetime | None = None,
                   checked_in_ok: bool = False) -> CheckinDecision:
    """What happens when ``item`` is returned at ``branch``: close the loan, then route the item."""
    if item is None:
        return CheckinDecision(False, "Invalid Item", known=False, alert_type=ALERT_OTHER, sort_bin=BIN_STAFF)
    if item.status == "withdrawn":
        return CheckinDecision(False, "Item withdrawn: please give it to staff", alert_type=ALERT_OTHER,
                               sort_bin=BIN_STAFF, item_status="withdrawn")
    # A backdated (offline) return counts from its return date, never from the future and never
    # from before the loan began.
    returned_at = min(return_date, now) if return_date else now
    if loan is not None:
        returned_at = max(returned_at, loan.issued_at)
    ok, message = True, ""
    found_lost = item.status in ("lost", "missing")
    if loan is None:
        ok = checked_in_ok or found_lost
        message = "" if checked_in_ok else "Item not checked out"
    if found_lost:
        message = f"Item was marked {item.status} and is back"
    base = dict(ok=ok, message=message, close_loan_id=loan.id if loan else None,
                returned_at=returned_at if loan else None, found_lost=found_lost)
    if found_lost:
        return CheckinDecision(**base, alert_type=ALERT_OTHER, sort_bin=BIN_STAFF)
    hold = first_hold(holds)
    if hold is not None:
        if hold.pickup_branch == branch:
            return CheckinDecision(**base, alert_type=ALERT_HOLD_HERE, sort_bin=BIN_HOLDS, hold=hold,
                                   hold_status="waiting")
        return CheckinDecision(**base, alert_type=ALERT_HOLD_ELSEWHERE, sort_bin=BIN_TRANSIT, hold=hold,
                               hold_status="in_transit", destination=hold.pickup_branch,
                               item_status="in_transit", transit_to=hold.pickup_branch)
    if item.home_branch != branch:
        return CheckinDecision(**base, alert_type=ALERT_TRANSFER, sort_bin=BIN_TRANSIT,
                               destination=item.home_branch, item_status="in_transit",
                               transit_to=item.home_branch)
    return CheckinDecision(**base, sort_bin=item.policy.sort_bin)


# ----------------------------------------------------------------------------------------- holds
@dataclass(frozen=True)
class HoldDecision:
    ok: bool
    message: str = ""
    available: bool = False
    pickup_branch: str = ""
    queue_position: int = 0


def decide_hold(patron: PatronView | None, item: ItemView | None, holds: list[HoldView],
                loan: LoanView | None, now: datetime, *, pickup: str = "") -> HoldDecision:
    """May ``patron`` place a hold on ``item``?"""
    if patron is None:
        return HoldDecision(False, "Invalid Patron")
    if item is None:
        return HoldDecision(False, "Invalid Item")
    if patron.status != "active" or patron.expires < now.date():
        return HoldDecision(False, patron_block_reason(patron, now) or "Patron blocked")
    if patron.holds >= CATEGORIES[patron.category].max_holds:
        return HoldDecision(False, "Too many holds")
    if not item.policy.for_loan or item.status in ("withdrawn", "lost", "missing"):
        return HoldDecision(False, "Item cannot be placed on hold")
    if any(h.card == patron.card for h in holds):
        return HoldDecision(False, "Item already on hold for you")
    if loan is not None and loan.card == patron.card:
        return HoldDecision(False, "Item is checked out to you")
    branch = pickup if pickup in BRANCH_NAMES else patron.home_branch
    available = loan is None and not holds and item.status == "available"
    return HoldDecision(True, "Hold placed", available=available, pickup_branch=branch,
                        queue_position=len(holds) + 1)
