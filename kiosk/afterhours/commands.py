"""What the pure slot machine tells its controller to do: one small frozen record per command.

:class:`~kiosk.afterhours.slot.SlotMachine` does no I/O; each event returns a list of these
commands, and the controller (:mod:`kiosk.afterhours.bookdrop`) carries them out: the hatch lock,
the lights and buzzer, the durable write of a pass, an alert to staff.  They live apart from the
machine because they are the contract between the two (as :mod:`kiosk.circulation.effects` is
for the patron session): the controller dispatches on their type and needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Unlock:
    """Energise the hatch lock for ``seconds`` (the lock driver caps it again; fail-secure)."""

    seconds: float


@dataclass(frozen=True)
class Lock:
    """Lock the hatch now (idempotent: locking is always safe, so it is never skipped)."""

    reason: str


@dataclass(frozen=True)
class Lights:
    """The state of each light: "off", "on" or "blink"."""

    ready: str = "off"
    busy: str = "off"
    error: str = "off"


@dataclass(frozen=True)
class Beep:
    kind: str                       # "ok", "error", "attention"


@dataclass(frozen=True)
class CommitPass:
    """Journal this pass now: the controller answers with :meth:`SlotMachine.pass_recorded`."""

    pass_id: int
    dropped_at: float               # when the item broke the beam: the return date it gets
    tags: tuple[Any, ...]           # TagRead


@dataclass(frozen=True)
class StaffAlert:
    """Tell staff (the controller records it; kiosk.appliance.alerts sends it, rate-limited)."""

    kind: str                       # "slot_jammed", "bin_full", "fault", ...
    detail: str = ""


Command = Unlock | Lock | Lights | Beep | CommitPass | StaffAlert
