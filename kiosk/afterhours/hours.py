"""Opening hours: when the library is staffed, and when the kiosk becomes a return slot.

Pure (no I/O, no clock): every question takes the moment it is asked about, so tests and the
simulated night can ask about any date.  Times are naive *local* datetimes, as the library's own
opening hours are (the Pi runs on local time; daylight-saving changes are therefore handled by the
wall clock, not here).

Rules, from the most to the least specific:
1. ``exceptions``: special hours on one date (``{"2026-12-24" = "09:00-12:00"}``; ``""`` = closed).
2. ``holidays``: closed all day; ``"2026-12-25"`` (that date) or ``"12-25"`` (every year).
3. the weekday's hours (``mon`` ... ``sun``): ``"09:00-12:00,14:00-18:00"``; ``""`` = closed.
An interval may end at ``24:00``; an interval crossing midnight is written as two
(``"fri = 20:00-24:00"`` and ``"sat = 00:00-02:00"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from kiosk.config.checks import WEEKDAYS, Interval, parse_hours, parse_intervals

# How far ahead next_change() looks: a library closed for more than a year has no "next change".
_HORIZON_DAYS = 400

# The parsing lives below kiosk.config (the config check uses it without importing this layer).
__all__ = ["WEEKDAYS", "Interval", "OpeningHours", "parse_intervals"]


@dataclass(frozen=True)
class OpeningHours:
    """A library's opening hours: weekly pattern, holidays and per-date exceptions."""

    weekly: tuple[tuple[Interval, ...], ...] = ((),) * 7      # index 0 = Monday
    holidays: frozenset[date] = frozenset()
    yearly_holidays: frozenset[tuple[int, int]] = frozenset()  # (month, day)
    exceptions: dict[date, tuple[Interval, ...]] = field(default_factory=dict)

    @classmethod
    def always_closed(cls) -> OpeningHours:
        return cls()

    @classmethod
    def from_section(cls, section: Any, source: str = "config") -> OpeningHours:
        """Build from the ``[hours]`` config section; one ConfigError lists every problem."""
        return cls(*parse_hours(section, source))

    # -- questions -------------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (day.month, day.day) in self.yearly_holidays

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The opening spans of one date, after exceptions and holidays."""
        if day in self.exceptions:
            return self.exceptions[day]
        if self.is_holiday(day):
            return ()
        return self.weekly[day.weekday()]

    def is_open(self, at: datetime) -> bool:
        minute = at.hour * 60 + at.minute
        return any(start <= minute < end for start, end in self.intervals_on(at.date()))

    def _boundaries(self, day: date) -> list[datetime]:
        """Moments on ``day`` where open/closed may flip (midnight included for 24:00 ends)."""
        midnight = datetime.combine(day, time())
        points = []
        for start, end in self.intervals_on(day):
            points.append(midnight + timedelta(minutes=start))
            points.append(midnight + timedelta(minutes=end))
        return points

    def next_change(self, at: datetime) -> datetime | None:
        """The next moment after ``at`` at which ``is_open`` differs from ``is_open(at)``.

        Adjacent spans (``..-24:00`` then ``00:00-..``) are not a change.  None when nothing
        changes within about a year (a library closed indefinitely, or open around the clock).
        """
        at = at.replace(second=0, microsecond=0) if at.second or at.microsecond else at
        now_open = self.is_open(at)
        day = at.date()
        for offset in range(_HORIZON_DAYS):
            d = day + timedelta(days=offset)
            for point in sorted(set(self._boundaries(d)) | {datetime.combine(d, time())}):
                if point > at and self.is_open(point) != now_open:
                    return point
        return None

    def describe_day(self, day: date) -> str:
        """``"09:00-12:00, 14:00-18:00"`` or ``"closed"`` (for screens and reports)."""
        spans = self.intervals_on(day)
        if not spans:
            return "closed"
        return ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in spans)
