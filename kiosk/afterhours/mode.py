"""Which mode the kiosk is in right now: staffed (borrow and return) or returns only.

Pure: the decision depends on the configured ``[kiosk] mode``, the opening hours and a staff
override, all passed in; the caller supplies the time.  The rules:

* ``mode = "staffed"`` or ``"returns"``: fixed, unless a staff override is active.
* ``mode = "auto"``: staffed while the library is open, returns-only outside opening hours
  (holidays and exceptions included).
* A staff override (from the staff screen: "returns only now", "back to normal") wins until its
  ``until`` moment; ``until=None`` means until staff lift it.  The usual override lasts until the
  next scheduled change, so a library closing early tonight is back to normal tomorrow morning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.afterhours.hours import OpeningHours

STAFFED, RETURNS = "staffed", "returns"
MODES = (STAFFED, RETURNS)


@dataclass(frozen=True)
class StaffOverride:
    """A mode set by staff, valid until ``until`` (None: until staff lift it)."""

    mode: str
    until: datetime | None = None
    set_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"override mode must be one of {MODES}; got {self.mode!r}")

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until


@dataclass(frozen=True)
class ModeDecision:
    """The effective mode and why: ``reason`` in config / hours / holiday / staff."""

    mode: str
    reason: str
    until: datetime | None = None   # when the decision is next expected to change (None: not scheduled)

    @property
    def returns_only(self) -> bool:
        return self.mode == RETURNS


def effective_mode(configured: str, hours: OpeningHours, now: datetime,
                   override: StaffOverride | None = None) -> ModeDecision:
    """Decide the mode at ``now``.  ``configured`` is ``[kiosk] mode``: staffed, returns or auto."""
    scheduled = _scheduled(configured, hours, now)
    if override is not None and override.active(now):
        return ModeDecision(override.mode, "staff", override.until)
    return scheduled  # no override, or an expired one: the schedule rules


def _scheduled(configured: str, hours: OpeningHours, now: datetime) -> ModeDecision:
    if configured in MODES:
        return ModeDecision(configured, "config", None)
    if configured != "auto":
        raise ValueError(f"[kiosk] mode must be staffed, returns or auto; got {configured!r}")
    change = hours.next_change(now)
    if hours.is_open(now):
        return ModeDecision(STAFFED, "hours", change)
    reason = "holiday" if hours.is_holiday(now.date()) and now.date() not in hours.exceptions else "hours"
    return ModeDecision(RETURNS, reason, change)


def override_until_next_change(configured: str, hours: OpeningHours, now: datetime,
                               mode: str) -> StaffOverride:
    """The override staff usually want: ``mode`` now, back to the schedule at its next change.

    With a fixed configured mode there is no scheduled change, so the override lasts until lifted.
    """
    return StaffOverride(mode, _scheduled(configured, hours, now).until, set_at=now)
