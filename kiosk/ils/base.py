"""The library system as the circulation engine sees it: one small interface, plain records.

The engine, the screens and the CLI speak in librarian's words (patron, item, loan, hold,
checkout, checkin, renewal, due date); how that is carried to the ILS (SIP2 today, an HTTP API
later) is an implementation of :class:`Ils`.  Implementations must be safe to call from several
worker threads at once (a stack of items is worked in parallel).

Error contract (from :mod:`kiosk.errors`):
* :class:`IlsUnavailable` -- nothing was sent (connection refused, login failed, pool closed).
* :class:`OutcomeUnknown` -- a request was sent and no valid reply came back.  The caller resolves
  it (:func:`resolve_checkout`: only positive proof settles it) before any retry of a checkout or
  renewal.  :class:`Unresolved` -- the implementation already tried that once and could not settle
  it: the caller must not ask again (staff, or the replay, decide).
* :class:`ProtocolError` -- the reply could not be understood.
A refusal by the library ("patron blocked") is *not* an error: it is a result with ``ok=False``
and a ``screen_message``.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.appliance.privacy import mask
from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError

log = logging.getLogger(__name__)

# Circulation status codes of Item Information (18), sip2.md 1.5 (3M spec table, as quoted in
# Evergreen's OpenILS/SIP/Item.pm and jsip2 CirculationStatus.java).  Only these prove anything:
#: the item is charged to someone: 04 charged, 05 charged (no recall before ...), 07 recalled.
CHARGED_STATUSES = frozenset({"04", "05", "07"})
#: the item is charged to nobody: 02 on order, 03 available, 06 in process, 08 on the hold shelf,
#: 09 waiting to be re-shelved, 10 in transit.  01 "other", 11 claimed returned, 12 lost, 13 missing
#: and anything else prove neither (Koha and Evergreen send 12 for an item still on a lost loan).
NOT_CHARGED_STATUSES = frozenset({"02", "03", "06", "08", "09", "10"})
#: a returned item is back in the library's stock and needs no routing: 03 available, 09 re-shelving.
ON_SHELF_STATUSES = frozenset({"03", "09"})
#: a returned item that is in but must be routed: 08 hold shelf, 10 in transit (kiosk alert keys).
ROUTED_STATUSES = {"08": "hold_here", "10": "transfer"}


@dataclass(frozen=True)
class Loan:
    """An item a patron has out (from Patron Information)."""

    item_id: str
    title: str = ""
    due: str = ""            # due date as the library system wrote it (free text in SIP2)
    due_date: datetime | None = None
    overdue: bool = False


@dataclass(frozen=True)
class Hold:
    """A hold of the patron's: ``available`` ones are waiting on the hold shelf."""

    item_id: str
    title: str = ""
    available: bool = False
    pickup_location: str = ""


@dataclass(frozen=True)
class Patron:
    """A patron as identified at the kiosk.  ``valid`` is False for an unknown card."""

    patron_id: str
    name: str = ""
    valid: bool = False
    pin_ok: bool | None = None       # None: no PIN was checked
    blocks: tuple[str, ...] = ()     # patron-status flags that are set, e.g. "charge privileges denied"
    can_checkout: bool = False
    can_renew: bool = False
    fine_amount: str = ""            # as sent (BV), formatted by the screens
    currency: str = ""
    loans: tuple[Loan, ...] = ()
    overdue_items: tuple[str, ...] = ()
    holds: tuple[Hold, ...] = ()
    screen_message: str = ""
    print_line: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)
    email: str = ""                  # e-mail address on the account (SIP2 64 BE), for e-mailed receipts


@dataclass(frozen=True)
class ItemInfo:
    """Item Information (17/18): used to show titles and to resolve ambiguous outcomes."""

    item_id: str
    title: str = ""
    circulation_status: str = ""     # SIP2 two-digit code, e.g. "03" available, "04" charged
    due: str = ""
    due_date: datetime | None = None
    patron_id: str = ""              # current borrower when the server tells (not standard SIP2)
    hold_queue_length: int = 0
    media_type: str = ""
    permanent_location: str = ""
    screen_message: str = ""
    known: bool = True

    @property
    def on_loan(self) -> bool:
        return self.circulation_status in ("04", "05")

    @property
    def charged(self) -> bool | None:
        """True: charged to someone; False: charged to nobody; None: the status proves neither."""
        if self.circulation_status in CHARGED_STATUSES:
            return True
        if self.circulation_status in NOT_CHARGED_STATUSES:
            return False
        return None


@dataclass(frozen=True)
class CheckoutResult:
    """Reply to a checkout (11/12) or a renewal (29/30)."""

    ok: bool
    item_id: str
    patron_id: str
    title: str = ""
    due: str = ""
    due_date: datetime | None = None
    renewal: bool = False            # the ILS treated it as a renewal (already on loan to this patron)
    desensitize: bool | None = None  # None: unknown ('U')
    security_inhibit: bool = False
    media_type: str = ""
    fee_amount: str = ""
    screen_message: str = ""
    print_line: str = ""
    # The reply was lost and the outcome was established afterwards with Item Information (17)
    # (the SIP2 adapter never resends a checkout/renewal blindly).
    resolved: bool = False
    # The kiosk's reason key (kiosk.circulation.reasons) when the adapter knows it better than the
    # text does (FOLIO's 422 ``code``); "" lets the engine read screen_message.
    reason_key: str = ""


@dataclass(frozen=True)
class CheckinResult:
    """Reply to a check-in (09/10), with the routing staff need."""

    ok: bool
    item_id: str
    title: str = ""
    resensitize: bool | None = None
    alert: bool = False
    alert_type: str = ""             # CV: 01 hold here, 02 hold elsewhere, 04 transfer, 99 other
    sort_bin: str = ""
    destination: str = ""            # CT
    hold_patron_id: str = ""         # CY (never shown to the returning patron)
    permanent_location: str = ""
    media_type: str = ""
    screen_message: str = ""
    print_line: str = ""
    reason_key: str = ""             # as CheckoutResult.reason_key (FOLIO's 422 code, mapped)

    @property
    def not_on_loan(self) -> bool:
        """Koha answers ok=0 'Item not checked out' for an item already in: fine for a return."""
        return not self.ok and "not checked out" in self.screen_message.lower()


@dataclass(frozen=True)
class RenewAllResult:
    ok: bool
    renewed: tuple[str, ...] = ()
    unrenewed: tuple[str, ...] = ()
    screen_message: str = ""


@dataclass(frozen=True)
class IlsStatus:
    """ACS status (98): what the library system allows right now."""

    online: bool
    checkin_ok: bool = True
    checkout_ok: bool = True
    renewal_ok: bool = True
    offline_ok: bool = False
    timeout_s: float | None = None
    retries: int | None = None
    library_name: str = ""
    supported: str = ""              # BX flags
    screen_message: str = ""


class Ils(abc.ABC):
    """What the kiosk needs from a library system.

    Implementations *must* override every abstract method and be thread-safe.  Times are local
    ``datetime`` objects; ``no_block=True`` marks a transaction done while offline (store and
    forward) and carries its original ``transaction_date``.
    """

    @abc.abstractmethod
    def status(self) -> IlsStatus: ...

    @abc.abstractmethod
    def patron_information(self, patron_id: str, pin: str | None = None) -> Patron: ...

    @abc.abstractmethod
    def checkout(self, patron_id: str, item_id: str, *, pin: str | None = None, no_block: bool = False,
                 transaction_date: datetime | None = None, nb_due_date: datetime | None = None,
                 fee_acknowledged: bool = False) -> CheckoutResult: ...

    @abc.abstractmethod
    def checkin(self, item_id: str, *, no_block: bool = False, transaction_date: datetime | None = None,
                return_date: datetime | None = None) -> CheckinResult: ...

    @abc.abstractmethod
    def renew(self, patron_id: str, item_id: str, *, pin: str | None = None, no_block: bool = False,
              transaction_date: datetime | None = None) -> CheckoutResult: ...

    @abc.abstractmethod
    def renew_all(self, patron_id: str, *, pin: str | None = None) -> RenewAllResult: ...

    @abc.abstractmethod
    def item_information(self, item_id: str) -> ItemInfo: ...

    @abc.abstractmethod
    def end_patron_session(self, patron_id: str) -> None: ...

    def close(self) -> None:
        """Release connections.  *May* be overridden."""
        return None

    def __enter__(self) -> Ils:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Settling an ambiguous outcome: one rule for the SIP2 adapter, the live engine and the replay.
#
# Only positive proof settles a transaction.  "Not listed among the patron's loans" proves nothing:
# Evergreen's SIPServer lists *titles* in AU by default (setting msg64_summary_datatype = "title",
# Open-ILS/src/perlmods/lib/OpenILS/SIP/Patron.pm charged_items), Koha pages AU with BP/BQ, and
# standard 18 names no borrower (Koha C4/SIP/Sip/MsgType.pm handle_item_information; FOLIO
# edge-sip2 ItemInformationResponse.ftl).  What cannot be proved goes to staff; nothing is resent
# on that basis.
# ---------------------------------------------------------------------------------------------

#: Verdicts on "did this checkout reach the library system?"
MINE = "mine"                # charged to this patron: it happened
NOT_OUT = "not_out"          # charged to nobody (18 status proves it): it did not happen
OTHER = "other"              # charged to another patron, named by the library system: it did not
UNPROVEN = "unproven"        # charged, and nothing proves to whom: staff must check
UNREACHABLE = "unreachable"  # the library system could not be asked now: decide later


def same_id(a: str | None, b: str | None) -> bool:
    """Identifiers as the library system echoes them (case and surrounding blanks ignored)."""
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def judge_checkout(info: ItemInfo, item_id: str, patron_id: str, loans: Iterable[str] | None = None) -> str:
    """The pure rule: a verdict from Item Information and, when asked for, the patron's loan ids.

    ``loans=None`` means "not read yet"; the verdict is then UNPROVEN when only the loans could
    prove it (the caller reads them and asks again)."""
    charged = info.charged
    if charged is False:
        return NOT_OUT
    if charged is None:
        return UNPROVEN
    if info.patron_id:
        return MINE if same_id(info.patron_id, patron_id) else OTHER
    if loans is not None and any(same_id(i, item_id) for i in loans):
        return MINE
    return UNPROVEN


@dataclass(frozen=True)
class Resolution:
    """What :func:`resolve_checkout` found: a verdict, the item as the library sees it, why."""

    verdict: str
    info: ItemInfo | None = None
    detail: str = ""


def resolve_checkout(ils: Ils, item_id: str, patron_id: str, pin: str | None = None) -> Resolution:
    """Ask the library system whether a checkout whose reply was lost happened: Item Information
    (17), then -- only when the item is charged and 18 names nobody -- the patron's loans (63).

    One question each, no retries of its own: an unreachable library system is UNREACHABLE, not
    asked again (a silent server must cost one timeout, not several)."""
    try:
        info = ils.item_information(item_id)
    except (OutcomeUnknown, IlsUnavailable, ProtocolError) as exc:
        return Resolution(UNREACHABLE, None, f"Item Information failed: {exc}")
    verdict = judge_checkout(info, item_id, patron_id)
    if verdict == UNPROVEN and info.charged:
        try:
            patron = ils.patron_information(patron_id, pin)
        except (OutcomeUnknown, IlsUnavailable, ProtocolError) as exc:
            return Resolution(UNREACHABLE, info, f"Patron Information failed: {exc}")
        verdict = judge_checkout(info, item_id, patron_id, [lo.item_id for lo in patron.loans])
    detail = {
        MINE: "charged to this patron",
        NOT_OUT: f"charged to nobody (circulation status {info.circulation_status})",
        OTHER: "charged to another patron, as the library system says",
        UNPROVEN: (f"circulation status {info.circulation_status or 'blank'}: on loan but the library "
                   f"system names no borrower and does not list it among this patron's loans"
                   if info.charged else
                   f"circulation status {info.circulation_status or 'blank'} proves neither"),
    }[verdict]
    log.info("item %s, patron %s: %s", mask(item_id), mask(patron_id), detail)
    return Resolution(verdict, info, detail)


class Unresolved(OutcomeUnknown):
    """Sent, no valid reply, and the adapter's own resolution could not settle it.

    The caller must not resolve again (that would only double the wait on a silent server):
    ``verdict`` is UNREACHABLE (the library system could not be asked: journal it, decide at
    replay) or UNPROVEN (it answered, but nothing proves the outcome: staff)."""

    def __init__(self, message: str, verdict: str = UNREACHABLE, info: ItemInfo | None = None) -> None:
        super().__init__(message)
        self.verdict = verdict
        self.info = info


def checkin_bare_refusal(result: CheckinResult) -> bool:
    """ok=0 with no alert and no screen message: Evergreen's answer for an item already in
    (older OpenILS/SIP/Transaction/Checkin.pm do_checkin: "unless ($circ) { $self->ok(0) }",
    e.g. ``100YNN...AB1565921879|AQ|AJPerl 5 desktop reference|``); Sierra "does not check in the
    item or display an error message" for an item already checked in (documentation.iii.com
    sierrahelp sgcir_sip2_special_checkin.html).  Proves nothing by itself: Item Information decides."""
    return (not result.ok and not result.alert and not result.alert_type
            and not result.screen_message.strip())


def judge_return(info: ItemInfo) -> tuple[bool | None, str | None]:
    """(is the item in?, routing alert) from Item Information after a return.

    True: on the shelf (03, 09) or in but routed (08 hold shelf, 10 in transit, with an alert);
    False: still charged; None: the status proves neither (lost, missing, other...)."""
    status = info.circulation_status
    if status in ON_SHELF_STATUSES:
        return True, None
    if status in ROUTED_STATUSES:
        return True, ROUTED_STATUSES[status]
    if status in CHARGED_STATUSES:
        return False, None
    return None, None
