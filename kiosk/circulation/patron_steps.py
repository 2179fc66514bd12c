"""The patron's side of a session: the card, the PIN, the library system's answer, the account.

Mixed into :class:`~kiosk.circulation.session.Session`, apart from the item transitions because
identifying a patron is its own small protocol with its own rules:

* a card starts a borrow session from idle, ends a finished return session, and never joins a
  session that already has another patron (``finish_first``);
* with ``require_pin`` a card waits for its PIN, and a blank PIN answer (CQ) never authenticates
  (libraries-and-kiosks.md §4.4);
* in an "account" session the loans and ready holds without a title or due date are looked up
  (:class:`~kiosk.circulation.effects.LookUpItems`) and fill in as each answer arrives.

Pure like the machine: ``now`` is passed in, answers come back tagged with their ``session_id``.
The state it reads and writes (``state``, ``mode``, ``config``, ``patron``, ``summary``,
``patron_id``, ``pin``, ``needs_pin``, ``identifying_busy``, ``details_pending``, the message) and
the helpers it calls (``_changed``, ``_activity``, ``_new_session``, ``_end``, ``_to_idle``,
``_dispatch``, ``busy``) are the Session's.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.circulation import account
from kiosk.circulation import view as v
from kiosk.circulation.effects import Effect, Identify, LookUpItems
from kiosk.circulation.reasons import checkout_refusal_key
from kiosk.ils.base import Patron


class PatronSteps:
    """Identification and the account of :class:`~kiosk.circulation.session.Session` (a mixin:
    ``self`` is the Session, see the module docstring)."""

    def card_presented(self, patron_id: str, pin: str | None, now: float) -> list[Effect]:
        patron_id = (patron_id or "").strip()
        if not patron_id:
            return []
        if self.state == v.ENDED:
            self._to_idle()
        if self.state == v.IDLE:
            if not self.config.allow_borrow:
                self.message_key = "wrong_mode"
                self._changed()
                return []
            self._new_session(v.BORROW, now)
            self.state = v.IDENTIFYING
        elif self.state == v.OUT_OF_SERVICE:
            return []
        elif self.mode == v.RETURN and self.state == v.WORKING and not self.busy:
            # Returns done, now a card: the return session ends and a borrow session starts.  Items
            # still on the pad from the returns are stale, so they are not checked out by mistake.
            self._end(now, None)
            self._to_idle()
            self._new_session(v.BORROW, now)
            self.state = v.IDENTIFYING
        elif self.state != v.IDENTIFYING:
            # A second card during a session: never mix two patrons.  The first session goes on.
            if patron_id != self.patron_id:
                self.message_key = "finish_first"
                self._activity(now)
                self._changed()
            return []
        self._activity(now)
        self.patron_id = patron_id
        self.message_key, self.message_text = None, ""
        if self.config.require_pin and not pin:
            self.needs_pin = True
            self.message_key = "pin_required"
            self._changed()
            return []
        return self._identify(pin)

    def pin_entered(self, pin: str, now: float) -> list[Effect]:
        if self.state != v.IDENTIFYING or not self.patron_id:
            return []
        self._activity(now)
        return self._identify(pin)

    def _identify(self, pin: str | None) -> list[Effect]:
        self.pin = pin
        self.needs_pin = False
        self.identifying_busy = True
        self._changed()
        return [Identify(self.session_id, self.patron_id or "", pin)]

    def patron_identified(self, session_id: int, patron: Patron | None, now: float, *,
                          error_key: str | None = None, offline: bool = False) -> list[Effect]:
        """The answer to :class:`Identify`; ``error_key`` when the shell could not identify at all."""
        if session_id != self.session_id or self.state != v.IDENTIFYING:
            return []
        self.identifying_busy = False
        self._activity(now)
        if error_key or patron is None:
            self.message_key = error_key or "unknown_card"
            self.patron_id = self.pin = None
            self._changed()
            return []
        if not patron.valid:
            self.message_key, self.message_text = "unknown_card", patron.screen_message
            self.patron_id = self.pin = None
            self._changed()
            return []
        if self.config.require_pin and patron.pin_ok is not True:
            # A blank CQ must not authenticate an invented card (libraries-and-kiosks.md §4.4).
            self.message_key, self.message_text = "wrong_pin", patron.screen_message
            self.needs_pin = True
            self._changed()
            return []
        if patron.pin_ok is False:
            self.message_key, self.message_text = "wrong_pin", patron.screen_message
            self.needs_pin = True
            self._changed()
            return []
        self.patron = patron
        self.details_pending = set()
        lookups: list[Effect] = []
        if self.mode == v.ACCOUNT and not offline:
            ids = account.needs_details(patron)
            if ids:
                self.details_pending = set(ids)
                lookups.append(LookUpItems(self.session_id, ids))
        self.summary = account.summarize(patron, offline=offline, pending=len(self.details_pending))
        self.state = v.IDENTIFIED
        self.message_key = None if patron.can_checkout or self.mode != v.BORROW else checkout_refusal_key(patron)
        self.message_text = patron.screen_message
        self._changed()
        return lookups + self._dispatch()

    def item_details(self, session_id: int, item_id: str, info, now: float, *,
                     today: datetime | None = None) -> list[Effect]:
        """The answer to one :class:`LookUpItems` lookup (``info`` an ItemInfo, None when it failed):
        the title and due date go into the patron's account as they arrive.  ``now`` is the timer
        clock (monotonic); ``today`` the wall-clock date that decides "overdue" (default: ``now``
        read as wall time, for callers whose one clock is the wall clock)."""
        if session_id != self.session_id or self.patron is None:
            return []
        self.details_pending.discard(item_id)
        if info is not None:
            self.patron = account.with_item_info(self.patron, info, today or datetime.fromtimestamp(now))
        self._resummarize()
        return []

    def _resummarize(self) -> None:
        if self.patron is not None and self.summary is not None:
            self.summary = account.summarize(self.patron, offline=self.summary.offline, pending=len(self.details_pending))
        self._changed()
