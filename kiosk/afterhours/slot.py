"""The return slot as a pure state machine: events in, commands out, no I/O, no clock.

The controller (:mod:`kiosk.afterhours.bookdrop`) feeds it what the hardware and the library
system report -- the light barrier blocked or cleared, a tag read, a return journaled, a check-in
answered, a second passed -- with the time, and carries out the commands it returns: lock or
unlock the hatch, set the lights, beep, commit a pass of items to the journal, alert staff.
Keeping the rules here makes every timing rule testable without threads or sleeping.  The
commands are records of their own (:mod:`kiosk.afterhours.commands`).

The rules (hardware-and-deployment.md section 2.3/2.4, libraries-and-kiosks.md section 4):

* The hatch is unlocked only on request (the patron touches "Return items") while the slot is
  ready, for ``lock_open_s``; it locks again on timeout, on any fault, when the bin is full and
  when the kiosk leaves returns-only mode.  The lock is fail-secure, so a power cut locks it too.
* An item is an interruption of the light barrier (a *pass*).  Tags read during the pass, shortly
  before it (the antenna sits at the mouth of the slot) or up to ``read_window_s`` after it count
  for it; tags read at other times (items already lying in the bin) are ignored.  A pass with no
  readable tag is recorded as unreadable for staff ("item passed the slot, no tag seen").
* Every pass is committed (journaled by the controller) *before* any "accepted" feedback.  The
  machine then waits up to ``checkin_wait_s`` for the library system's answer; without one the
  item is shown as accepted (queued: it is journaled and will be checked in, backdated).
* The light barrier blocked longer than ``jam_s`` is a jam: fault, hatch locked, staff alerted.
  Items are still read in every state: an item that gets through is never ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kiosk.afterhours.commands import Beep, Command, CommitPass, Lights, Lock, StaffAlert, Unlock

if TYPE_CHECKING:  # pragma: no cover
    from kiosk.hardware.records import TagRead

# Slot states (published in kiosk.afterhours.__init__).
IDLE = "idle"                      # not in returns-only mode: the staffed kiosk owns the screen
READY = "ready"                    # returns-only, hatch locked, waiting for a patron
DOOR_OPEN = "door_open"            # hatch unlocked, waiting for an item
READING = "reading"                # an item is passing / being journaled and checked in
ACCEPTED = "accepted"              # feedback: the last item was taken in
REFUSED = "refused"                # feedback: the last item was not (unreadable, not ours, refused)
BIN_FULL = "bin_full"              # stopped: the bin is full
FAULT = "fault"                    # stopped: jam, hardware or journal failure
OFFLINE_CLOSED = "offline_closed"  # stopped: library system down and [kiosk] offline_policy = none
STATES = (IDLE, READY, DOOR_OPEN, READING, ACCEPTED, REFUSED, BIN_FULL, FAULT, OFFLINE_CLOSED)

# Drop line states.
LINE_READING = "reading"
JOURNALED = "journaled"            # durably journaled, waiting for the library system's answer
CHECKED_IN = "checked_in"          # confirmed by the library system
QUEUED = "queued"                  # journaled; the library system did not answer in time / is down
LINE_REFUSED = "refused"           # the library system refused the check-in (staff will look)
UNREADABLE = "unreadable"          # passed the slot, no usable tag data
NOT_OURS = "not_ours"              # a tag of another library
DUPLICATE = "duplicate"            # already returned tonight (a re-read), nothing sent again
LINE_STATES = (LINE_READING, JOURNALED, CHECKED_IN, QUEUED, LINE_REFUSED, UNREADABLE, NOT_OURS, DUPLICATE)
BAD_LINE_STATES = (LINE_REFUSED, UNREADABLE, NOT_OURS)
ACCEPTED_LINE_STATES = (JOURNALED, CHECKED_IN, QUEUED, DUPLICATE)

RECENT_LINES = 20


@dataclass(frozen=True)
class DropLine:
    """One item that went through the slot (newest first in the view)."""

    drop_id: int
    item_id: str | None
    dropped_at: datetime
    state: str = LINE_READING
    title: str = ""
    reason_key: str | None = None
    reason_text: str = ""
    alert: str | None = None       # "hold_here", "hold_elsewhere", "transfer", "other"
    sort_bin: str = ""
    destination: str = ""
    pass_id: int = 0
    uid: str = ""

    @property
    def accepted(self) -> bool:
        return self.state in ACCEPTED_LINE_STATES


@dataclass(frozen=True)
class SlotSettings:
    """The timing and capacity rules, from ``[bookdrop]`` (see config/kiosk.example.toml)."""

    lock_open_s: float = 8.0
    read_window_s: float = 1.5
    jam_s: float = 15.0
    feedback_s: float = 3.0
    checkin_wait_s: float = 3.0
    bin_capacity: int = 0
    accept_offline: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> SlotSettings:
        b = settings.bookdrop
        return cls(lock_open_s=b.lock_open_s, read_window_s=b.read_window_s, jam_s=b.jam_s,
                   feedback_s=b.feedback_s, checkin_wait_s=b.checkin_wait_s, bin_capacity=b.bin_capacity,
                   accept_offline=settings.kiosk.offline_policy != "none")


@dataclass
class _Pass:
    pass_id: int
    blocked_at: float
    cleared_at: float | None = None
    tags: dict[str, Any] = field(default_factory=dict)   # uid -> TagRead
    jam_reported: bool = False


def pass_complete(tags: list[Any]) -> bool:
    """True when at least one tag was read and every multi-part item has all its parts."""
    if not tags:
        return False
    parts: dict[str, set[int]] = {}
    wanted: dict[str, int] = {}
    for t in tags:
        if t.item_id is None:
            continue
        parts.setdefault(t.item_id, set()).add(t.part_number)
        wanted[t.item_id] = max(wanted.get(t.item_id, 1), t.parts_in_item or 1)
    return all(len(parts[i]) >= wanted[i] for i in parts)


class SlotMachine:
    """The slot's rules.  Every method takes ``now`` (seconds, monotonic or wall) and returns commands."""

    def __init__(self, cfg: SlotSettings, bin_count: int = 0) -> None:
        self.cfg = cfg
        self.state = IDLE
        self.returns_mode = False
        self.online = True
        self.bin_count = bin_count
        self.bin_sensor_full = False
        self.fault: str | None = None
        self.message_key: str | None = "staffed_mode"
        self.door_until: float | None = None
        self.feedback_until: float | None = None
        self.lines: list[DropLine] = []
        self._pass: _Pass | None = None
        self._recent: dict[str, tuple[Any, float]] = {}
        self._committing: set[int] = set()
        self._awaiting: dict[int, float] = {}             # drop_id -> deadline
        self._next_pass = 1

    # -- derived ---------------------------------------------------------------------------------

    @property
    def bin_full(self) -> bool:
        return self.bin_sensor_full or (self.cfg.bin_capacity > 0 and self.bin_count >= self.cfg.bin_capacity)

    def door_unlocked(self, now: float) -> bool:
        return self.door_until is not None and now < self.door_until

    def seconds_left(self, now: float) -> int | None:
        return math.ceil(self.door_until - now) if self.door_unlocked(now) else None

    @property
    def busy(self) -> bool:
        return self._pass is not None or bool(self._committing) or bool(self._awaiting)

    # -- mode, health ----------------------------------------------------------------------------

    def set_mode(self, returns_only: bool, now: float) -> list[Command]:
        if returns_only == self.returns_mode:
            return []
        self.returns_mode = returns_only
        if returns_only:
            return self._settle(now)
        cmds = self._lock("staffed mode", now)
        self.state, self.message_key, self.feedback_until = IDLE, "staffed_mode", None
        return cmds

    def set_online(self, online: bool, now: float) -> list[Command]:
        if online == self.online:
            return []
        self.online = online
        if self.state in (READY, OFFLINE_CLOSED, DOOR_OPEN):
            return self._settle(now, keep_door=True)
        return []

    def set_fault(self, reason: str, now: float) -> list[Command]:
        """Any fault locks the hatch at once (fail-secure) and tells staff."""
        first = self.fault is None
        self.fault = reason
        cmds = self._lock(f"fault: {reason}", now)
        if self.returns_mode:
            self.state, self.message_key = FAULT, "out_of_order"
            cmds.append(Lights(error="on"))
        if first:
            cmds.append(StaffAlert("fault", reason))
        return cmds

    def reset_fault(self, now: float) -> list[Command]:
        self.fault = None
        return self._settle(now) if self.returns_mode and self.state == FAULT else []

    def bin_sensor(self, full: bool, now: float) -> list[Command]:
        was = self.bin_full
        self.bin_sensor_full = full
        return self._bin_changed(was, now)

    def bin_emptied(self, now: float) -> list[Command]:
        was = self.bin_full
        self.bin_count = 0
        return self._bin_changed(was, now)

    def _bin_changed(self, was_full: bool, now: float) -> list[Command]:
        if was_full == self.bin_full or not self.returns_mode:
            return []
        if self.bin_full:
            cmds = self._lock("bin full", now)
            if self.state not in (READING, ACCEPTED, REFUSED):
                self.state, self.message_key = BIN_FULL, "bin_full"
                cmds.append(Lights(error="on"))
            cmds.append(StaffAlert("bin_full", f"{self.bin_count} items in the bin"))
            return cmds
        return self._settle(now) if self.state == BIN_FULL else []

    # -- the patron ------------------------------------------------------------------------------

    def request_open(self, now: float) -> list[Command]:
        """The patron asks to return an item: unlock if (and only if) the slot can take it."""
        if not self.returns_mode or self.fault or self.bin_full:
            return []
        if not self.online and not self.cfg.accept_offline:
            return []
        if self.state not in (READY, DOOR_OPEN, READING, ACCEPTED, REFUSED):
            return []
        self.door_until = now + self.cfg.lock_open_s
        cmds: list[Command] = [Unlock(self.cfg.lock_open_s)]
        if self.state in (READY, DOOR_OPEN):
            self.state, self.message_key = DOOR_OPEN, "insert_item"
            cmds.append(Lights(ready="blink"))
        return cmds

    # -- the slot --------------------------------------------------------------------------------

    def slot_blocked(self, now: float) -> list[Command]:
        cmds: list[Command] = []
        if self._pass is not None and self._pass.cleared_at is not None:
            cmds += self._commit(now)                # the next item follows closely: close the last pass
        if self._pass is None:
            self._pass = _Pass(self._next_pass, now)
            self._next_pass += 1
            for uid, (tag, at) in list(self._recent.items()):
                if now - at <= self.cfg.read_window_s:
                    self._pass.tags[uid] = tag
            self._recent.clear()
        if self.returns_mode and self.state not in (FAULT, BIN_FULL):
            self.state, self.message_key = READING, "reading_item"
            cmds.append(Lights(busy="on"))
        return cmds

    def slot_cleared(self, now: float) -> list[Command]:
        p = self._pass
        if p is None or p.cleared_at is not None:
            return []
        p.cleared_at = now
        cmds: list[Command] = []
        if p.jam_reported and self.fault == "slot_jammed":
            self.fault = None
            cmds += [Lights(error="off")]
        if pass_complete(list(p.tags.values())):
            cmds += self._commit(now)
        return cmds

    def tag_seen(self, tag: TagRead, now: float) -> list[Command]:
        p = self._pass
        if p is None:
            self._recent[tag.uid] = (tag, now)
            return []
        p.tags.setdefault(tag.uid, tag)
        if p.cleared_at is not None and pass_complete(list(p.tags.values())):
            return self._commit(now)
        return []

    def _commit(self, now: float) -> list[Command]:
        p = self._pass
        assert p is not None
        self._pass = None
        self._committing.add(p.pass_id)
        return [CommitPass(p.pass_id, p.blocked_at, tuple(p.tags.values()))]

    # -- the controller's answers ----------------------------------------------------------------

    def pass_recorded(self, pass_id: int, lines: list[DropLine], now: float) -> list[Command]:
        """The pass is journaled (``journaled`` lines) or classified (unreadable, not ours ...)."""
        self._committing.discard(pass_id)
        was_full = self.bin_full
        for line in lines:
            self._put_line(line)
            if line.state == JOURNALED:
                self._awaiting[line.drop_id] = now + self.cfg.checkin_wait_s
            if line.state != DUPLICATE:
                self.bin_count += 1
        cmds: list[Command] = []
        if not any(d in self._awaiting for d in (ln.drop_id for ln in lines)):
            cmds += self._feedback(pass_id, now)
        if not was_full and self.bin_full and self.returns_mode:
            cmds += self._lock("bin full", now)
            cmds.append(StaffAlert("bin_full", f"{self.bin_count} items in the bin"))
        return cmds

    def line_update(self, line: DropLine, now: float) -> list[Command]:
        """A check-in answer (or a later replay) changed a line."""
        self._put_line(line)
        if self._awaiting.pop(line.drop_id, None) is None:
            return []
        if any(ln.drop_id in self._awaiting for ln in self.lines if ln.pass_id == line.pass_id):
            return []
        return self._feedback(line.pass_id, now)

    def _put_line(self, line: DropLine) -> None:
        for i, old in enumerate(self.lines):
            if old.drop_id == line.drop_id:
                self.lines[i] = line
                return
        self.lines.insert(0, line)
        del self.lines[RECENT_LINES:]

    def _feedback(self, pass_id: int, now: float) -> list[Command]:
        lines = [ln for ln in self.lines if ln.pass_id == pass_id]
        bad = [ln for ln in lines if ln.state in BAD_LINE_STATES]
        if not self.returns_mode or self.fault is not None:
            return []   # the line is recorded; a stopped slot shows its own message
        if bad:
            self.state = REFUSED
            self.message_key = {UNREADABLE: "item_unreadable", NOT_OURS: "item_not_ours"}.get(
                bad[0].state, "item_refused")
            cmds: list[Command] = [Lights(error="blink"), Beep("error")]
        else:
            self.state = ACCEPTED
            offline = any(ln.state in (QUEUED, JOURNALED) for ln in lines)
            self.message_key = "item_accepted_offline" if offline else "item_accepted"
            cmds = [Lights(ready="on"), Beep("ok")]
        self.feedback_until = now + self.cfg.feedback_s
        if self.door_unlocked(now) and not self.bin_full:
            # Each item restarts the hatch window, so a patron with a bag of books is not rushed.
            self.door_until = now + self.cfg.lock_open_s
            cmds.append(Unlock(self.cfg.lock_open_s))
        return cmds

    # -- time ------------------------------------------------------------------------------------

    def tick(self, now: float) -> list[Command]:
        cmds: list[Command] = []
        for uid, (_, at) in list(self._recent.items()):
            if now - at > self.cfg.read_window_s:
                del self._recent[uid]
        p = self._pass
        if p is not None and p.cleared_at is None and now - p.blocked_at >= self.cfg.jam_s and not p.jam_reported:
            p.jam_reported = True
            cmds += self.set_fault("slot_jammed", now)
        if p is not None and p.cleared_at is not None and now - p.cleared_at >= self.cfg.read_window_s:
            cmds += self._commit(now)
        for drop_id, deadline in list(self._awaiting.items()):
            if now >= deadline:
                del self._awaiting[drop_id]
                line = next((ln for ln in self.lines if ln.drop_id == drop_id), None)
                if line is None:
                    continue
                if line.state == JOURNALED:
                    self._put_line(replace(line, state=QUEUED))
                if not any(ln.drop_id in self._awaiting for ln in self.lines if ln.pass_id == line.pass_id):
                    cmds += self._feedback(line.pass_id, now)
        if self.state in (ACCEPTED, REFUSED) and self.feedback_until is not None and now >= self.feedback_until:
            self.feedback_until = None
            cmds += self._settle(now, keep_door=True)
        elif self.state == DOOR_OPEN and not self.door_unlocked(now):
            cmds += self._settle(now)
        elif self.state == READING and self._pass is None and not self._committing and not self._awaiting:
            cmds += self._settle(now, keep_door=True)
        if self.fault is None and self.state == FAULT:
            cmds += self._settle(now)
        if self.door_until is not None and not self.door_unlocked(now):
            # The driver re-locks by its own timer too; say it again in any state (fail-secure).
            cmds += self._lock("timeout", now)
        return cmds

    # -- helpers ---------------------------------------------------------------------------------

    def _lock(self, reason: str, now: float) -> list[Command]:
        """Locking is idempotent and always safe (fail-secure), so it is never skipped."""
        self.door_until = None
        return [Lock(reason)]

    def _settle(self, now: float, keep_door: bool = False) -> list[Command]:
        """Go to the resting state the conditions allow; the hatch stays unlocked only when ready."""
        if not self.returns_mode:
            self.state, self.message_key = IDLE, "staffed_mode"
            return []
        if self.busy and self.fault is None:
            self.state, self.message_key = READING, "reading_item"
            return [Lights(busy="on")]
        if self.fault is not None:
            self.state, self.message_key = FAULT, "out_of_order"
            return self._lock(f"fault: {self.fault}", now) + [Lights(error="on")]
        if self.bin_full:
            self.state, self.message_key = BIN_FULL, "bin_full"
            return self._lock("bin full", now) + [Lights(error="on")]
        if not self.online and not self.cfg.accept_offline:
            self.state, self.message_key = OFFLINE_CLOSED, "library_closed_offline"
            return self._lock("library system down, offline returns not allowed", now) + [Lights(error="on")]
        if keep_door and self.door_unlocked(now):
            self.state, self.message_key = DOOR_OPEN, "insert_item"
            return [Lights(ready="blink")]
        self.state, self.message_key = READY, "returns_only"
        return self._lock("ready", now) + [Lights(ready="on")]
