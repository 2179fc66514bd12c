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

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from kiosk.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# How far ahead next_change() looks: a library closed for more than a year has no "next change".
_HORIZON_DAYS = 400

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Interval = tuple[int, int]  # minutes since midnight: [start, end)


def parse_intervals(text: str, where: str = "") -> tuple[Interval, ...]:
    """``"09:00-12:00, 14:00-18:00"`` -> ((540, 720), (840, 1080)); ``""`` -> () (closed).

    Raises ConfigError naming ``where`` for a malformed, empty or overlapping span, because a
    typo here would silently open a return slot in the middle of the day (or never).
    """
    text = text.strip()
    if not text or text.lower() == "closed":
        return ()
    spans: list[Interval] = []
    for part in text.split(","):
        m = _SPAN.match(part)
        if not m:
            raise ConfigError(f"{where}: expected HH:MM-HH:MM (several separated by commas, "
                              f"empty for closed); got {part.strip()!r}")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
            raise ConfigError(f"{where}: not a time of day in {part.strip()!r} (00:00 to 24:00)")
        if end <= start:
            raise ConfigError(f"{where}: {part.strip()!r} ends before it starts; split a span "
                              f"that crosses midnight into two days (..-24:00 and 00:00-..)")
        spans.append((start, end))
    spans.sort()
    for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        if s2 < e1:
            raise ConfigError(f"{where}: overlapping spans in {text!r}")
    return tuple(spans)


def _parse_date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{where}: expected a date YYYY-MM-DD; got {text!r}") from None


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
        errors: list[str] = []
        weekly: list[tuple[Interval, ...]] = []
        for day in WEEKDAYS:
            try:
                weekly.append(parse_intervals(str(getattr(section, day, "") or ""), f"{source}: [hours] {day}"))
            except ConfigError as exc:
                errors.append(str(exc))
                weekly.append(())
        holidays: set[date] = set()
        yearly: set[tuple[int, int]] = set()
        for text in getattr(section, "holidays", []) or []:
            where = f"{source}: [hours] holidays"
            text = str(text).strip()
            if re.fullmatch(r"\d{1,2}-\d{1,2}", text):
                month, day_ = (int(x) for x in text.split("-"))
                try:
                    date(2024, month, day_)  # a leap year, so 02-29 is allowed
                except ValueError:
                    errors.append(f"{where}: {text!r} is not a day of the year (MM-DD)")
                    continue
                yearly.add((month, day_))
            else:
                try:
                    holidays.add(_parse_date(text, where))
                except ConfigError as exc:
                    errors.append(str(exc) + " (or MM-DD for every year)")
        exceptions: dict[date, tuple[Interval, ...]] = {}
        raw_exc = getattr(section, "exceptions", {}) or {}
        if not isinstance(raw_exc, dict):
            errors.append(f"{source}: [hours] exceptions: expected a table of date = \"HH:MM-HH:MM\"")
            raw_exc = {}
        for key, value in raw_exc.items():
            where = f"{source}: [hours] exceptions.{key}"
            try:
                exceptions[_parse_date(str(key), where)] = parse_intervals(str(value), where)
            except ConfigError as exc:
                errors.append(str(exc))
        if errors:
            raise ConfigError("\n".join(errors))
        return cls(tuple(weekly), frozenset(holidays), frozenset(yearly), exceptions)

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


def config_errors(sections: dict[str, Any], source: str) -> list[str]:
    """Cross-checks run by :func:`kiosk.config.build_settings`: [hours] must parse, [bookdrop] be sane."""
    errors: list[str] = []
    section = sections.get("hours")
    if section is not None:
        try:
            OpeningHours.from_section(section, source)
        except ConfigError as exc:
            errors.extend(str(exc).splitlines())
    drop = sections.get("bookdrop")
    if drop is not None:
        for key in ("lock_open_s", "read_window_s", "jam_s", "feedback_s", "checkin_wait_s", "sync_interval_s"):
            if getattr(drop, key) <= 0:
                errors.append(f"{source}: [bookdrop] {key}: expected a number of seconds above 0; "
                              f"got {getattr(drop, key)}")
        if drop.bin_capacity < 0:
            errors.append(f"{source}: [bookdrop] bin_capacity: expected 0 (no limit) or more; got {drop.bin_capacity}")
    return errors
