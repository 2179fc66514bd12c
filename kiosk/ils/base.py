"""The library system as the circulation engine sees it: one small interface, plain records.

The engine, the screens and the CLI speak in librarian's words (patron, item, loan, hold,
checkout, checkin, renewal, due date); how that is carried to the ILS (SIP2 today, an HTTP API
later) is an implementation of :class:`Ils`.  Implementations must be safe to call from several
worker threads at once (a stack of items is worked in parallel).

Error contract (from :mod:`kiosk.errors`):
* :class:`IlsUnavailable` -- nothing was sent (connection refused, login failed, pool closed).
* :class:`OutcomeUnknown` -- a request was sent and no valid reply came back.  The caller resolves
  it (``item_information``) before any retry of a checkout or renewal.
* :class:`ProtocolError` -- the reply could not be understood.
A refusal by the library ("patron blocked") is *not* an error: it is a result with ``ok=False``
and a ``screen_message``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime


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
