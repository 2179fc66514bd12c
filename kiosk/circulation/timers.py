"""The session's clock: the idle timeout with its warning, the goodbye screen, "still waiting".

Mixed into :class:`~kiosk.circulation.session.Session`, apart from the transitions because these
rules are driven by the shell's once-a-second ``tick(now)`` rather than by a patron's intent, and
are easiest to read (and to change) together:

* the idle timeout shows a warning first (WCAG 2.2.1: warn and offer more time, ``more_time``) and
  never cuts a patron off while the library system is still answering for their items;
* the goodbye screen (state ``ended``) shows for ``ended_display_s`` before the kiosk is idle again;
* an item whose request has been out longer than ``still_waiting_s`` says so (:data:`STILL_WAITING`).

Pure like the machine: ``now`` is passed in (monotonic seconds), nothing sleeps.  The state it reads
and writes (``state``, ``config``, ``items``, ``last_activity``, ``warning_s``, ``ended_at``,
``_sent_at``) and the helpers it calls (``_changed``, ``_set_line``, ``_end``, ``_to_idle``,
``busy``) are the Session's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.circulation import view as v

if TYPE_CHECKING:  # pragma: no cover
    from kiosk.circulation.effects import Effect

#: reason_key of an item whose request has been out longer than ``still_waiting_s`` (issue 13: a
#: silent library system takes up to one timeout plus one resolution; the patron is told why the
#: line has not moved, and can finish meanwhile -- nothing is lost either way).
STILL_WAITING = "still_waiting"


class SessionTimers:
    """The timing rules of :class:`~kiosk.circulation.session.Session` (a mixin: ``self`` is the
    Session, see the module docstring)."""

    def _activity(self, now: float) -> None:
        """The patron did something: the idle timeout starts again and its warning goes."""
        self.last_activity = now
        self.warning_s = None

    def more_time(self, now: float) -> list[Effect]:
        return self.touch(now)

    def touch(self, now: float) -> list[Effect]:
        if self.state in self.ACTIVE:
            had_warning = self.warning_s is not None
            self._activity(now)
            if had_warning:
                self._changed()
        return []

    def tick(self, now: float) -> list[Effect]:
        """Drive the idle timeout (warning first) and the goodbye screen."""
        if self.state == v.ENDED:
            if now - self.ended_at >= self.config.ended_display_s:
                self._to_idle()
                self._changed()
            return []
        if self.state not in self.ACTIVE:
            return []
        self._mark_still_waiting(now)
        if self.busy:       # never time out while the library system is answering for this patron
            self._activity(now)
            return []
        idle_for = now - self.last_activity
        left = self.config.timeout_s - idle_for
        if left <= 0:
            self.warning_s = None
            return self._end(now, "timed_out")
        warning = int(left + 0.999) if left <= self.config.warning_s else None
        if warning != self.warning_s:
            self.warning_s = warning
            self._changed()
        return []

    def _mark_still_waiting(self, now: float) -> None:
        """Items out longer than ``still_waiting_s`` get STILL_WAITING (ticks come once a second)."""
        for item_id, item in self.items.items():
            if item.line.state != v.IN_PROGRESS:
                self._sent_at.pop(item_id, None)
                continue
            since = self._sent_at.setdefault(item_id, now)
            if now - since >= self.config.still_waiting_s and item.line.reason_key is None:
                self._set_line(item, reason_key=STILL_WAITING)
                self._changed()
