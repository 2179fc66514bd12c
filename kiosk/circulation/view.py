"""What the screens (and the CLI, and the after-hours drop) see of a patron session: frozen snapshots.

The screens are a function of :class:`SessionView`: the engine never calls into Kivy, it hands a new
immutable view to its listener after every change.  Everything a patron reads is a *key* (``state``,
``message_key``, ``ItemLine.reason_key``) that the screens translate; the library system's own words
(``reason_text``) are kept for staff.  Patron data lives only in ``SessionView.patron`` and is None
outside a patron's own session (privacy: it leaves the screen when the session ends).
"""

from __future__ import annotations

from datetime import datetime

from kiosk.circulation.record import Record, record

# Session states (contracts D).
IDLE = "idle"
IDENTIFYING = "identifying"
IDENTIFIED = "identified"
WORKING = "working"
RECEIPT = "receipt"
ENDED = "ended"
OUT_OF_SERVICE = "out_of_service"
SESSION_STATES = (IDLE, IDENTIFYING, IDENTIFIED, WORKING, RECEIPT, ENDED, OUT_OF_SERVICE)

# Modes a session is started in.
BORROW, RETURN, ACCOUNT = "borrow", "return", "account"
MODES = (BORROW, RETURN, ACCOUNT)

# Per-item states.
SEEN = "seen"                # on the pad / scanned, not sent yet (waiting for a patron, or for all parts)
IN_PROGRESS = "in_progress"  # sent to the library system (or being journaled)
DONE = "done"                # confirmed by the library system, or durably journaled offline
REFUSED = "refused"          # the library said no (reason_key says why and what to do)
NEEDS_STAFF = "needs_staff"  # the patron should take this item to the desk
ITEM_STATES = (SEEN, IN_PROGRESS, DONE, REFUSED, NEEDS_STAFF)
SETTLED_STATES = (DONE, REFUSED, NEEDS_STAFF)

# Actions on an item.
CHECKOUT, CHECKIN, RENEW = "checkout", "checkin", "renew"


def due_text(due_date: datetime | None, due: str = "") -> str:
    """A due date as text for the journal and the CLI: the library system's own words, else the
    ISO date (the screens format ``due_date`` in the patron's language instead)."""
    return due or (due_date.date().isoformat() if due_date else "")


@record
class LoanLine(Record):
    """One loan on the patron's account (account screen)."""

    item_id: str
    title: str = ""
    due_date: datetime | None = None
    due: str = ""
    overdue: bool = False


@record
class HoldLine(Record):
    """One hold waiting on the hold shelf (account screen); ``title`` empty until looked up."""

    item_id: str
    title: str = ""
    pickup_location: str = ""


@record
class PatronSummary(Record):
    """What the screens may show about the identified patron (never the card number)."""

    name: str = ""
    loans: tuple[LoanLine, ...] = ()
    loan_count: int = 0
    overdue_count: int = 0
    holds_ready: tuple[str, ...] = ()   # titles waiting on the hold shelf
    holds_count: int = 0
    fine_amount: str = ""
    currency: str = ""
    can_checkout: bool = True
    can_renew: bool = True
    block_keys: tuple[str, ...] = ()    # stable reason keys of the patron's blocks ("fines", "card_lost", ...)
    screen_message: str = ""            # the library system's own message (AF)
    offline: bool = False               # identified from the local card cache / without the library system
    masked_id: str = ""                 # e.g. "******1234" for receipts and logs
    holds_ready_items: tuple[HoldLine, ...] = ()   # the ready holds with their item ids (same order)
    details_pending: int = 0            # loans/holds whose title or due date is still being looked up
    email: str = ""                     # where an e-mailed receipt goes (empty: e-mail is not offered)


@record
class ItemLine(Record):
    """One item in the session, in the order it was first seen."""

    item_id: str
    title: str = ""
    state: str = SEEN
    action: str = CHECKOUT
    due_date: datetime | None = None
    due: str = ""                       # due date as the library system wrote it
    reason_key: str | None = None       # why refused / needs staff / waiting (see kiosk.circulation.reasons)
    reason_text: str = ""               # the library system's own words (AF), for staff
    journaled: bool = False             # done offline: durably journaled, to be sent to the library later
    alert: str | None = None            # returns: "hold_here", "hold_elsewhere", "transfer", "other"
    sort_bin: str = ""
    destination: str = ""
    parts_in_item: int = 1
    parts_present: int = 1
    security_ok: bool | None = None     # None: not an RFID item / not touched
    journal_id: int | None = None
    source: str = "rfid"                # "rfid" or "barcode" (or "cli")

    @property
    def settled(self) -> bool:
        return self.state in SETTLED_STATES


@record
class SessionView(Record):
    """One immutable snapshot of the kiosk: UI = f(view)."""

    state: str = IDLE
    mode: str | None = None
    patron: PatronSummary | None = None
    items: tuple[ItemLine, ...] = ()
    warning_s: int | None = None        # seconds left while the idle-timeout warning shows
    online: bool = True
    offline_mode: bool = False          # the library system is down and the kiosk works from its journal
    message_key: str | None = None      # e.g. "enter_pin", "wrong_pin", "unknown_card", "patron_blocked"
    message_text: str = ""              # the library system's own words behind message_key (staff/debug)
    busy: bool = False                  # a library-system request is in flight
    needs_pin: bool = False             # waiting for pin_entered()
    receipt: str | None = None          # "print", "email", "none" once chosen in finish()
    session_id: int = 0                 # increases with every patron session (stale updates are ignored)
    version: int = 0                    # increases with every change (the app may drop older views)
    pending_sync: int = 0               # journaled transactions not yet confirmed by the library system

    @property
    def items_done(self) -> tuple[ItemLine, ...]:
        return tuple(i for i in self.items if i.state == DONE)

    @property
    def all_settled(self) -> bool:
        return all(i.settled for i in self.items)
