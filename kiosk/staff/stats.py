"""Usage statistics for staff: checkouts, returns, renewals and refusals per day and per hour.

Libraries report these figures to their funders and use them to plan opening hours.  Events are
rows in a small SQLite table in the data directory, holding *no* patron or item identifiers —
only what happened, whether it worked, when, and for refusals the stable reason key — so the
table can be kept for years without a privacy question.

The circulation engine records one event per finished item::

    from kiosk.staff import stats
    stats.install(stats.Stats.for_settings(settings))       # once, at start (the app does this)
    stats.record_event("checkout", ok=True)                  # from any thread
    stats.record_event("checkin", ok=False, reason_key="not_ours")

``record_event`` also bumps ``kiosk_transactions_total`` / ``kiosk_refusals_total`` in
``kiosk.appliance.monitoring.metrics``, so one call feeds both the staff screen and fleet monitoring.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.appliance.durable import ShortTransaction

log = logging.getLogger(__name__)

STATS_DB = "stats.sqlite3"
KINDS = ("checkout", "checkin", "renewal")
_ALIASES = {"return": "checkin", "renew": "renewal", "checkouts": "checkout"}


@dataclass(frozen=True)
class Counts:
    """Successful transactions by kind, and refusals (of any kind)."""

    checkouts: int = 0
    returns: int = 0
    renewals: int = 0
    refusals: int = 0
    offline: int = 0

    @property
    def total(self) -> int:
        return self.checkouts + self.returns + self.renewals


@dataclass(frozen=True)
class DayStats:
    day: date
    counts: Counts


@dataclass(frozen=True)
class HourStats:
    hour: int
    counts: Counts


def normalise_kind(kind: str) -> str:
    k = _ALIASES.get(kind, kind)
    if k not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}; expected one of {', '.join(KINDS)}")
    return k


class Stats:
    """The events table.  Thread-safe; each call uses its own short connection."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, at REAL NOT NULL,"
                       " day TEXT NOT NULL, hour INTEGER NOT NULL, kind TEXT NOT NULL, ok INTEGER NOT NULL,"
                       " offline INTEGER NOT NULL DEFAULT 0, reason_key TEXT)")
            db.execute("CREATE INDEX IF NOT EXISTS events_day ON events (day, hour)")

    @classmethod
    def for_settings(cls, settings: Any) -> Stats:
        return cls(settings.data_dir / STATS_DB)

    def _connect(self) -> ShortTransaction:
        return ShortTransaction(self.path, durable=False, immediate=False)  # a lost statistics row is fine

    def record_event(self, kind: str, ok: bool, when: datetime | None = None, *, offline: bool = False,
                     reason_key: str | None = None) -> None:
        """Count one finished transaction.  ``when`` is local time (default now)."""
        kind = normalise_kind(kind)
        when = when or datetime.now()
        if when.tzinfo is not None:
            when = when.astimezone().replace(tzinfo=None)  # statistics are in the kiosk's local time
        with self._lock, self._connect() as db:
            db.execute("INSERT INTO events (at, day, hour, kind, ok, offline, reason_key) VALUES (?,?,?,?,?,?,?)",
                       (when.timestamp(), when.date().isoformat(), when.hour, kind, int(bool(ok)),
                        int(bool(offline)), None if ok else reason_key))
        _bump_metrics(kind, ok, reason_key)

    _SUMS = ("SUM(ok=1 AND kind='checkout'), SUM(ok=1 AND kind='checkin'), SUM(ok=1 AND kind='renewal'),"
             " SUM(ok=0), SUM(offline=1)")

    @staticmethod
    def _counts(row: tuple) -> Counts:
        return Counts(*(int(v or 0) for v in row))

    def per_day(self, start: date, end: date) -> list[DayStats]:
        """One entry per day from ``start`` to ``end`` inclusive (days without events count zero)."""
        with self._lock, self._connect() as db:
            rows = {r[0]: r[1:] for r in db.execute(
                f"SELECT day, {self._SUMS} FROM events WHERE day BETWEEN ? AND ? GROUP BY day",
                (start.isoformat(), end.isoformat()))}
        out, d = [], start
        while d <= end:
            out.append(DayStats(d, self._counts(rows.get(d.isoformat(), (0,) * 5))))
            d += timedelta(days=1)
        return out

    def per_hour(self, day: date, end: date | None = None) -> list[HourStats]:
        """24 entries: the hours of ``day`` (or summed over ``day``..``end``), to plan opening hours."""
        end = end or day
        with self._lock, self._connect() as db:
            rows = {r[0]: r[1:] for r in db.execute(
                f"SELECT hour, {self._SUMS} FROM events WHERE day BETWEEN ? AND ? GROUP BY hour",
                (day.isoformat(), end.isoformat()))}
        return [HourStats(h, self._counts(rows.get(h, (0,) * 5))) for h in range(24)]

    def totals(self, start: date, end: date) -> Counts:
        with self._lock, self._connect() as db:
            row = db.execute(f"SELECT {self._SUMS} FROM events WHERE day BETWEEN ? AND ?",
                             (start.isoformat(), end.isoformat())).fetchone()
        return self._counts(row)

    def refusal_reasons(self, start: date, end: date) -> dict[str, int]:
        """Refusals by reason key (e.g. on_hold_for_other), most frequent first."""
        with self._lock, self._connect() as db:
            rows = db.execute("SELECT COALESCE(reason_key, 'unknown'), COUNT(*) FROM events WHERE ok=0 AND"
                              " day BETWEEN ? AND ? GROUP BY 1 ORDER BY 2 DESC, 1",
                              (start.isoformat(), end.isoformat())).fetchall()
        return dict(rows)


def _bump_metrics(kind: str, ok: bool, reason_key: str | None) -> None:
    from kiosk.appliance.monitoring import metrics

    if ok:
        metrics.inc("transactions_total", kind=kind)
    else:
        metrics.inc("refusals_total", kind=kind, reason=reason_key or "unknown")


_installed: Stats | None = None


def install(stats: Stats | None) -> None:
    """Make ``stats`` the store used by the module-level ``record_event`` (None uninstalls)."""
    global _installed
    _installed = stats


def record_event(kind: str, ok: bool, when: datetime | None = None, *, offline: bool = False,
                 reason_key: str | None = None) -> None:
    """Record into the installed store; without one only the metrics are updated.

    Never raises for a storage problem: statistics must not break a checkout.  An unknown ``kind``
    is a programming error and raises ValueError.
    """
    kind = normalise_kind(kind)
    if _installed is None:
        _bump_metrics(kind, ok, reason_key)
        return
    try:
        _installed.record_event(kind, ok, when, offline=offline, reason_key=reason_key)
    except sqlite3.Error as exc:
        log.warning("statistics not recorded: %s", exc)
        _bump_metrics(kind, ok, reason_key)
