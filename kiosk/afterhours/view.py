"""What the returns-only and staff screens see of the book drop: frozen snapshots.

Like circulation's ``SessionView``, the screens are a function of :class:`BookDropView`: the
controller (:mod:`kiosk.afterhours.bookdrop`) builds a new one after every change and hands it to
its listener; it never calls into Kivy.  :func:`night_counts` is the tally of a returns-only period
shown to staff (from the drop log's records).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kiosk.afterhours import slot as S
from kiosk.afterhours.droplog import DropRecord
from kiosk.afterhours.mode import ModeDecision
from kiosk.afterhours.slot import DropLine


@dataclass(frozen=True)
class NightCounts:
    """The drops of this returns-only period, by outcome (the staff screen's summary)."""

    accepted: int = 0
    refused: int = 0
    unreadable: int = 0
    holds: int = 0
    transfers: int = 0


@dataclass(frozen=True)
class BookDropView:
    """One immutable snapshot for the returns-only and staff screens (see the package docstring)."""

    state: str = S.IDLE
    mode: ModeDecision | None = None
    door_unlocked: bool = False
    seconds_left: int | None = None
    message_key: str | None = None
    items: tuple[DropLine, ...] = ()
    online: bool = True
    pending_sync: int = 0
    bin_count: int = 0
    bin_capacity: int = 0
    bin_full: bool = False
    fault: str | None = None
    night: NightCounts = NightCounts()
    version: int = 0


def night_counts(records: Iterable[DropRecord]) -> NightCounts:
    recs = list(records)
    return NightCounts(
        accepted=sum(1 for r in recs if r.state in (S.JOURNALED, S.QUEUED, S.CHECKED_IN)),
        refused=sum(1 for r in recs if r.state in (S.LINE_REFUSED, S.NOT_OURS)),
        unreadable=sum(1 for r in recs if r.state == S.UNREADABLE),
        holds=sum(1 for r in recs if r.alert == "hold_here"),
        transfers=sum(1 for r in recs if r.alert in ("hold_elsewhere", "transfer")))
