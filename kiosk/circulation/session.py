"""The patron session as a pure state machine: no threads, no sockets, no clock of its own.

    idle -> identifying -> identified -> working -> receipt -> ended -> idle
    (idle -> working directly for a return-only session; out_of_service while the library system is
    down and the offline policy is "none")

Every method takes ``now`` (seconds) and returns a list of *effects*
(:mod:`kiosk.circulation.effects`: Identify, Transact, EndPatron, LookUpItems) that the
thread-owning shell (:mod:`kiosk.circulation.service`) carries out; their results come back through
:meth:`Session.patron_identified` / :meth:`Session.item_result`, tagged with the ``session_id`` they
were issued for, so a late answer can never land in the next patron's session.

This module holds the session's lifecycle and its items (the stack on the pad, multi-part sets,
stale items, the answers); the patron's identification and account are in
:mod:`kiosk.circulation.patron_steps`, the timers (idle timeout and warning, goodbye screen,
"still waiting") in :mod:`kiosk.circulation.timers`; both are mixed into :class:`Session`.

Rules that make a kiosk pleasant to use (libraries-and-kiosks.md §4):
* items placed before the patron identified are remembered and worked once they have;
* items left on the pad when a session ends are *stale*: ignored until lifted, so the next patron
  never borrows or returns the previous one's items by accident;
* a multi-part set (ISO 28560 "parts in item") is sent only once every part is on the pad;
* the idle timeout shows a warning first (WCAG 2.2.1: warn and offer more time) and never cuts a
  patron off while the library system is still answering for their items.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from kiosk.circulation import account
from kiosk.circulation import view as v
from kiosk.circulation.effects import Effect, EndPatron, LookUpItems, Transact
from kiosk.circulation.patron_steps import PatronSteps
from kiosk.circulation.reasons import checkout_refusal_key
from kiosk.circulation.timers import STILL_WAITING, SessionTimers
from kiosk.circulation.view import ItemLine, PatronSummary, SessionView
from kiosk.ils.base import Patron


@dataclass(frozen=True)
class SessionConfig:
    """The settings the machine needs (from [kiosk]); plain numbers so tests build it directly."""

    timeout_s: float = 60.0
    warning_s: float = 20.0
    require_pin: bool = False
    ended_display_s: float = 5.0     # how long the goodbye screen shows before idle
    allow_borrow: bool = True        # False on a returns-only kiosk (or after hours)
    still_waiting_s: float = 5.0     # an item sent this long ago without an answer says "still waiting"
    # [receipt] choices: what the library offers at the end of a session.  With only "none" there is
    # nothing to ask, and the session ends at "Done" as it does when nothing was done.
    receipt_choices: tuple[str, ...] = ("print", "email", "none")

    @property
    def offers_receipt(self) -> bool:
        return any(c in ("print", "email") for c in self.receipt_choices)


@dataclass
class _Item:
    """One item of the session: its parts seen so far, and the line the screens show."""

    item_id: str
    parts_in_item: int = 1
    parts: dict[int, str | None] = field(default_factory=dict)
    line: ItemLine = None  # type: ignore[assignment]
    present: set = field(default_factory=set)   # part numbers / uids still on the RFID pad

    @property
    def complete(self) -> bool:
        return len(self.parts) >= self.parts_in_item

    @property
    def uids(self) -> tuple[str, ...]:
        return tuple(u for _, u in sorted(self.parts.items()) if u)


class Session(PatronSteps, SessionTimers):
    """One kiosk's patron sessions, one at a time.  Not thread-safe: the shell holds a lock."""

    ACTIVE = (v.IDENTIFYING, v.IDENTIFIED, v.WORKING, v.RECEIPT)

    def __init__(self, config: SessionConfig | None = None, now: float = 0.0) -> None:
        self.config = config or SessionConfig()
        self.state = v.IDLE
        self.mode: str | None = None
        self.session_id = 0
        self.version = 0
        self.items: dict[str, _Item] = {}
        self._sent_at: dict[str, float] = {}    # item id -> when tick() first saw it in progress
        # item id -> tag uids (or the item id) left on the pad by the previous session
        self.stale: dict[str, set[str]] = {}
        self.early: list[tuple] = []          # items placed during the goodbye screen
        self.patron: Patron | None = None
        self.summary: PatronSummary | None = None
        self.details_pending: set[str] = set()   # account items whose title/due date is being looked up
        self.patron_id: str | None = None     # the card being identified / identified
        self.pin: str | None = None
        self.message_key: str | None = None
        self.message_text = ""
        self.identifying_busy = False
        self.needs_pin = False
        self.receipt: str | None = None
        self.finish_requested = False
        self.last_activity = now
        self.ended_at = 0.0
        self.warning_s: int | None = None
        self.online = True
        self.offline_mode = False
        self.out_of_service = False
        self.pending_sync = 0

    # ---- helpers -------------------------------------------------------------------------
    def _changed(self) -> None:
        self.version += 1

    def _new_session(self, mode: str, now: float) -> None:
        self.session_id += 1
        self.mode = mode
        self.patron = self.summary = None
        self.details_pending = set()
        self.patron_id = self.pin = None
        self.message_key, self.message_text = None, ""
        self.receipt, self.finish_requested, self.needs_pin = None, False, False
        self._activity(now)

    def _set_line(self, item: _Item, **changes) -> None:
        item.line = dataclasses.replace(item.line, **changes)

    @property
    def busy(self) -> bool:
        return self.identifying_busy or any(i.line.state == v.IN_PROGRESS for i in self.items.values())

    # ---- intents -------------------------------------------------------------------------
    def start(self, mode: str, now: float) -> list[Effect]:
        if mode not in v.MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(v.MODES)}")
        if self.state in self.ACTIVE and mode != self.mode and self._can_switch():
            # Pressed "Return" when they meant "Borrow" (or the other way round) before anything
            # happened: switch, keeping the items already on the pad.
            self.state = v.IDLE
            self.mode = None
        if self.state in self.ACTIVE or self.state == v.ENDED:
            if self.state == v.ENDED:
                self._to_idle()
            else:
                self._activity(now)
                self._changed()
                return []
        if self.state == v.OUT_OF_SERVICE:
            self.message_key = "out_of_service"
            self._changed()
            return []
        if mode != v.RETURN and not self.config.allow_borrow:
            self.message_key = "wrong_mode"
            self._changed()
            return []
        self._new_session(mode, now)
        self.state = v.WORKING if mode == v.RETURN else v.IDENTIFYING
        self._changed()
        return self._dispatch()

    def item_seen(self, item_id: str, now: float, *, parts_in_item: int = 1, part_number: int = 1,
                  uid: str | None = None, source: str = "rfid") -> list[Effect]:
        item_id = (item_id or "").strip()
        if not item_id or item_id in self.stale or self.state == v.OUT_OF_SERVICE:
            return []
        if self.state == v.ENDED:
            # The goodbye screen: the next patron is already putting items down.  Remember them
            # for the next session (the reader reports a tag once, when it arrives).
            self.early.append((item_id, parts_in_item, part_number, uid, source))
            return []
        parts_in_item = max(1, int(parts_in_item or 1))
        item = self.items.get(item_id)
        if item is None:
            item = _Item(item_id, parts_in_item)
            item.line = ItemLine(item_id=item_id, action=self._action(), parts_in_item=parts_in_item,
                                 parts_present=0, source=source)
            self.items[item_id] = item
        elif item.line.state != v.SEEN:
            if self.state in self.ACTIVE:
                self._activity(now)
            return []   # already worked (or being worked) in this session: a tag read twice
        item.parts_in_item = max(item.parts_in_item, parts_in_item)
        item.parts[max(1, int(part_number or 1))] = uid
        if source == "rfid":
            item.present.add(uid or item_id)
        self._set_line(item, parts_in_item=item.parts_in_item, parts_present=len(item.parts),
                       reason_key=None if item.complete else "missing_parts")
        if self.state in self.ACTIVE:
            self._activity(now)
        self._changed()
        return self._dispatch()

    def item_removed(self, key: str, now: float) -> list[Effect]:
        """A tag left the pad: ``key`` is an item id or a tag uid."""
        self.early = [e for e in self.early if key not in (e[0], e[3])]
        for item_id, keys in list(self.stale.items()):
            keys.discard(key)
            if item_id == key or not keys:
                del self.stale[item_id]
        changed = False
        for item_id, item in list(self.items.items()):
            if item_id == key:
                item.present.clear()
            else:
                item.present.discard(key)
            parts = [p for p, uid in item.parts.items() if item_id == key or uid == key]
            if not parts or item.line.state != v.SEEN:
                continue
            for p in parts:
                item.parts.pop(p, None)
            if not item.parts:
                del self.items[item_id]
            else:
                self._set_line(item, parts_present=len(item.parts), reason_key="missing_parts")
            changed = True
        if changed:
            self._changed()
        return []

    def renew(self, item_id: str, now: float) -> list[Effect]:
        if self.state not in (v.IDENTIFIED, v.WORKING) or self.patron is None:
            return []
        self._activity(now)
        item = self.items.get(item_id)
        if item is not None and item.line.state == v.IN_PROGRESS:
            return []
        if item is None:
            title = next((lo.title for lo in self.patron.loans if lo.item_id == item_id), "")
            item = _Item(item_id, 1, {1: None})
            item.line = ItemLine(item_id=item_id, title=title, action=v.RENEW, source="account")
            self.items[item_id] = item
        self._set_line(item, state=v.IN_PROGRESS, action=v.RENEW, reason_key=None, reason_text="")
        self.state = v.WORKING
        self._changed()
        return [Transact(self.session_id, item_id, v.RENEW, self.patron.patron_id, self.pin, item.uids)]

    def renew_all(self, now: float) -> list[Effect]:
        """Renew every loan: one journaled renewal per item, worked in parallel like a stack."""
        if self.state not in (v.IDENTIFIED, v.WORKING) or self.patron is None:
            return []
        effects: list[Effect] = []
        for lo in self.patron.loans:
            effects.extend(self.renew(lo.item_id, now))
        return effects

    def finish(self, receipt: str | None, now: float) -> list[Effect]:
        if self.state not in self.ACTIVE:
            return []
        self._activity(now)
        if receipt is not None and receipt not in ("print", "email", "none"):
            raise ValueError(f"unknown receipt choice {receipt!r}; expected print, email or none")
        if self.state == v.IDENTIFYING:
            return self._end(now, None)
        self.receipt = receipt
        self.finish_requested = receipt is not None
        self.state = v.RECEIPT
        self._changed()
        return self._maybe_end(now)

    def cancel(self, now: float) -> list[Effect]:
        if self.state not in self.ACTIVE:
            return []
        self.receipt = None
        return self._end(now, "cancelled")

    # ---- results -------------------------------------------------------------------------
    def item_result(self, session_id: int, item_id: str, now: float, **line_changes) -> list[Effect]:
        """A worker's answer for one item (``state`` plus any ItemLine fields)."""
        if session_id != self.session_id:
            return []
        item = self.items.get(item_id)
        if item is None:
            return []
        self._sent_at.pop(item_id, None)
        if item.line.reason_key == STILL_WAITING and "reason_key" not in line_changes:
            line_changes["reason_key"] = None       # the answer came: "still waiting" no longer holds
        self._set_line(item, **line_changes)
        if self.state in self.ACTIVE:
            self._activity(now)
        effects: list[Effect] = []
        line = item.line
        if line.action == v.RENEW and line.state == v.DONE and self.patron is not None:
            # The new due date shows at once; Item Information then confirms it from the library.
            self.patron = account.with_renewal(self.patron, item_id, due_date=line.due_date, due=line.due,
                                               title=line.title)
            if self.mode == v.ACCOUNT and not (self.summary and self.summary.offline):
                self.details_pending.add(item_id)
                effects.append(LookUpItems(self.session_id, (item_id,)))
            self._resummarize()
        else:
            self._changed()
        return effects + self._maybe_end(now)

    def confirmed_later(self, session_id: int, item_id: str, journal_id: int, now: float,
                        **line_changes) -> list[Effect]:
        """A line done offline that the journal replay has since confirmed while its session is still
        on screen: the library system's due date (and title) replace the promised ones, and the line
        no longer waits to be sent.  Not the patron's doing: the idle timeout is not restarted."""
        item = self.items.get(item_id)
        if (session_id != self.session_id or item is None or item.line.journal_id != journal_id
                or not item.line.journaled):
            return []
        if item.line.title:
            line_changes.pop("title", None)
        self._set_line(item, journaled=False, **line_changes)
        self._changed()
        return []

    def set_connectivity(self, online: bool, *, offline_mode: bool, out_of_service: bool) -> None:
        """The shell tells the machine whether the library system answers and what policy applies."""
        changed = (online, offline_mode, out_of_service) != (self.online, self.offline_mode, self.out_of_service)
        self.online, self.offline_mode, self.out_of_service = online, offline_mode, out_of_service
        if out_of_service and self.state == v.IDLE:
            self.state = v.OUT_OF_SERVICE
            changed = True
        elif not out_of_service and self.state == v.OUT_OF_SERVICE:
            self.state = v.IDLE
            self.message_key = None
            changed = True
        if changed:
            self._changed()

    def set_allow_borrow(self, allow: bool) -> None:
        if allow != self.config.allow_borrow:
            self.config = dataclasses.replace(self.config, allow_borrow=allow)
            self._changed()

    # ---- internals -----------------------------------------------------------------------
    def _can_switch(self) -> bool:
        """Nothing happened yet in this session: no patron, nothing sent or settled."""
        return (self.patron is None and not self.busy
                and all(i.line.state == v.SEEN for i in self.items.values()))

    def _action(self) -> str:
        if self.mode == v.RETURN:
            return v.CHECKIN
        return v.CHECKOUT

    def _dispatch(self) -> list[Effect]:
        """Send every complete, unsent item the current session can work."""
        effects: list[Effect] = []
        if self.state not in (v.IDENTIFIED, v.WORKING) or self.mode == v.ACCOUNT:
            return effects
        for item in self.items.values():
            line = item.line
            if line.state != v.SEEN or not item.complete:
                continue
            if self.mode == v.RETURN:
                self._set_line(item, state=v.IN_PROGRESS, action=v.CHECKIN, reason_key=None)
                effects.append(Transact(self.session_id, item.item_id, v.CHECKIN, None, None, item.uids))
            elif self.patron is not None:
                if not self.patron.can_checkout:
                    self._set_line(item, state=v.REFUSED, action=v.CHECKOUT,
                                   reason_key=checkout_refusal_key(self.patron),
                                   reason_text=self.patron.screen_message)
                    continue
                self._set_line(item, state=v.IN_PROGRESS, action=v.CHECKOUT, reason_key=None)
                effects.append(Transact(self.session_id, item.item_id, v.CHECKOUT, self.patron.patron_id,
                                        self.pin, item.uids))
        if effects or any(i.line.state != v.SEEN for i in self.items.values()):
            if self.state == v.IDENTIFIED:
                self.state = v.WORKING
            self._changed()
        return effects

    def _maybe_end(self, now: float) -> list[Effect]:
        # Nothing was borrowed, returned or renewed: there is nothing to put on a receipt, so a
        # commercial kiosk does not ask -- the session ends as soon as no answer is outstanding.
        # The same when the library offers no receipt at all ([receipt] choices = ["none"]).  A
        # renewal made on the account page counts like a checkout: its receipt lists the new due
        # dates, so "Done" there asks too (the account screen sends no choice of its own).
        if self.state == v.RECEIPT and not self.busy and (self.finish_requested or not self._completed()
                                                          or not self.config.offers_receipt):
            return self._end(now, None)
        return []

    def _completed(self) -> bool:
        """An item of this session was borrowed, returned or renewed (what a receipt lists)."""
        return any(i.line.state == v.DONE for i in self.items.values())

    def _end(self, now: float, message_key: str | None) -> list[Effect]:
        effects: list[Effect] = []
        if self.patron is not None and not (self.summary and self.summary.offline):
            effects.append(EndPatron(self.patron.patron_id))
        self.state = v.ENDED
        self.ended_at = now
        self.message_key = message_key
        self.warning_s = None
        self.identifying_busy = False
        # Privacy: patron data leaves the screen at session end.
        self.patron = self.summary = None
        self.details_pending = set()
        self.patron_id = self.pin = None
        self._changed()
        return effects

    def _to_idle(self) -> None:
        # Items still on the pad belong to the session that just ended: ignore them until lifted.
        for item_id, item in self.items.items():
            if item.present and (item.line.state != v.SEEN or self.mode is not None):
                self.stale[item_id] = set(item.present)
        self.items.clear()
        self._sent_at.clear()
        self.state = v.OUT_OF_SERVICE if self.out_of_service else v.IDLE
        self.mode = None
        self.receipt = None
        self.message_key, self.message_text = None, ""
        self.warning_s = None
        early, self.early = self.early, []
        for item_id, parts_in_item, part_number, uid, source in early:
            self.item_seen(item_id, self.last_activity, parts_in_item=parts_in_item, part_number=part_number,
                           uid=uid, source=source)

    def view(self) -> SessionView:
        patron = self.summary if self.state in (v.IDENTIFIED, v.WORKING, v.RECEIPT) else None
        return SessionView(
            state=self.state, mode=self.mode, patron=patron,
            items=tuple(i.line for i in self.items.values()), warning_s=self.warning_s,
            online=self.online, offline_mode=self.offline_mode, message_key=self.message_key,
            message_text=self.message_text, busy=self.busy, needs_pin=self.needs_pin,
            receipt=self.receipt, session_id=self.session_id, version=self.version,
            pending_sync=self.pending_sync)

