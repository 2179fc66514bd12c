"""What the kiosk may do while the library system is unreachable ([kiosk] offline_policy, [offline]).

Pure rules, apart from the transaction machinery in :mod:`kiosk.circulation.transact` that applies
them: which modes allow returns or checkouts, who a card is offline (a card seen online lately, no
PIN check), and the due date an offline checkout promises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from kiosk.ils.base import Patron

POLICIES = ("none", "returns", "returns+checkouts")


@dataclass(frozen=True)
class OfflinePolicy:
    """What the kiosk may do while the library system is unreachable ([kiosk] + [offline])."""

    mode: str = "returns"
    max_items_per_patron: int = 5
    default_loan_days: int = 14
    validate_cards: bool = True
    card_cache_days: int = 30

    @property
    def returns(self) -> bool:
        return self.mode in ("returns", "returns+checkouts")

    @property
    def checkouts(self) -> bool:
        return self.mode == "returns+checkouts"

    @classmethod
    def from_settings(cls, settings) -> OfflinePolicy:
        off = getattr(settings, "offline", None)
        kw = {}
        if off is not None:
            kw = dict(max_items_per_patron=off.max_items_per_patron, default_loan_days=off.default_loan_days,
                      validate_cards=off.validate_cards, card_cache_days=off.card_cache_days)
        return cls(mode=settings.kiosk.offline_policy, **kw)

    def identify(self, patron_id: str, pin: str | None,
                 card_status: Callable[[], bool | None]) -> OfflineIdentity:
        """Who this card is while the library system is unreachable: a patron when this policy
        lets it borrow (with ``validate_cards``, a card seen online lately: ``card_status()`` is
        True or False, None when unknown), else the reason key the screen explains."""
        if not self.checkouts:
            return OfflineIdentity(None, error_key="offline_returns_only" if self.returns else "out_of_service")
        can_checkout = True
        if self.validate_cards:
            status = card_status()
            if status is None:
                return OfflineIdentity(None, error_key="offline_card_unknown")
            can_checkout = status
        # The PIN cannot be checked offline (a documented limit, as with every vendor's offline mode).
        return OfflineIdentity(Patron(patron_id=patron_id, valid=True, pin_ok=True if pin else None,
                                      can_checkout=can_checkout, can_renew=False))

    def promised_due(self, now: datetime, *, clock_trusted: bool) -> datetime | None:
        """The due date promised for an offline checkout: none from an untrusted clock (kiosk.appliance.clock),
        so the screen never shows a wrong date; the library system sets it at replay."""
        if not clock_trusted:
            return None
        return (now + timedelta(days=self.default_loan_days)).replace(hour=23, minute=59, second=0, microsecond=0)


class OfflineIdentity(NamedTuple):
    """:meth:`OfflinePolicy.identify`'s answer: the patron, or why not (a reason key)."""

    patron: Patron | None
    error_key: str | None = None
