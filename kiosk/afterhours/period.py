"""The returns-only period: which mode the kiosk is in, since when, and a staff override kept.

:func:`~kiosk.afterhours.mode.effective_mode` decides the mode at one instant (pure); this is the
state around it that the book drop keeps over a night, apart from the slot's hardware loop:

* the staff override, kept in ``<data_dir>/afterhours-override.json`` (written atomically) so a
  restart does not forget it, and dropped once it has run out;
* when the current returns-only period began -- from the drop log's ``mode`` events, so a kiosk
  restarted during the night still counts (and reports) the whole night;
* the transitions, written to the drop log as ``mode`` events; :meth:`ReturnsPeriod.update` says
  when a period has just ended, so the controller can send the morning report.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.afterhours.hours import OpeningHours
from kiosk.afterhours.mode import ModeDecision, StaffOverride, effective_mode, override_until_next_change

log = logging.getLogger(__name__)


class ReturnsPeriod:
    """The kiosk's mode over time.  Not thread-safe: the book drop's event thread owns it."""

    def __init__(self, configured_mode: str, hours: OpeningHours, drop_log: Any, override_path: Path,
                 clock: Callable[[], float]) -> None:
        self.configured_mode = configured_mode
        self.hours = hours
        self.drop_log = drop_log
        self.override_path = override_path
        self.override = self._load_override()
        self.mode = ModeDecision("staffed", "config")
        self.since: float | None = None       # wall time the current returns-only period began
        modes = drop_log.events(0.0, kind="mode")
        if modes and modes[-1][2].startswith("returns only"):
            # Restarted during (or after) a returns-only period: the next switch to staffed mode is
            # still a transition (the morning report is sent, the period starts where it began).
            self.mode = ModeDecision("returns", "restart")
            self.since = self._period_start(clock())

    def set_override(self, mode: str | None, until: datetime | None, wall: float) -> None:
        """Staff: ``"returns"`` / ``"staffed"`` (until ``until``, default the next scheduled change),
        or None to go back to the schedule."""
        at = datetime.fromtimestamp(wall)
        if mode is None:
            self.override = None
        elif until is None:
            self.override = override_until_next_change(self.configured_mode, self.hours, at, mode)
        else:
            self.override = StaffOverride(mode, until, set_at=at)
        self._save_override()
        self.drop_log.add_event("mode", f"staff override: {mode or 'schedule'}", ts=wall)

    def update(self, wall: float) -> float | None:
        """Decide the mode at ``wall`` (sets :attr:`mode`); returns when the returns-only period
        began if it has just ended (time for the morning report), else None."""
        at = datetime.fromtimestamp(wall)
        if self.override is not None and not self.override.active(at):
            self.override = None
            self._save_override()
        decision = effective_mode(self.configured_mode, self.hours, at, self.override)
        previous, self.mode = self.mode, decision
        if decision.returns_only and self.since is None:
            self.drop_log.add_event("mode", f"returns only ({decision.reason})", ts=wall)
            self.since = self._period_start(wall)
        ended = None
        if not decision.returns_only and previous.returns_only and self.since is not None:
            self.drop_log.add_event("mode", f"staffed ({decision.reason})", ts=wall)
            ended, self.since = self.since, None
        return ended

    def _period_start(self, now: float) -> float:
        """When the current returns-only period began (survives restarts: read from the events)."""
        start = now
        for ts, _, detail in reversed(self.drop_log.events(0.0, kind="mode")):
            if ts > now:
                continue
            if detail.startswith("staffed"):
                break
            if detail.startswith("returns only"):
                start = ts
        return start

    def _load_override(self) -> StaffOverride | None:
        try:
            data = json.loads(self.override_path.read_text())
            until = datetime.fromisoformat(data["until"]) if data.get("until") else None
            return StaffOverride(data["mode"], until)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_override(self) -> None:
        try:
            if self.override is None:
                self.override_path.unlink(missing_ok=True)
                return
            tmp = self.override_path.with_suffix(".tmp")
            until = self.override.until.isoformat() if self.override.until else None
            tmp.write_text(json.dumps({"mode": self.override.mode, "until": until}))
            os.replace(tmp, self.override_path)
        except OSError as exc:
            log.error("book drop: could not save the staff override: %s", exc)
