"""A theme switch's relayout spread over a few frames (issue 19: frame gaps on a Pi's CPU).

Switching large text on changes the size of every label on the screen: Kivy re-lays out the
whole widget tree before the next frame -- ~80 box layouts with the kv rules their new sizes and
positions set off, ~15-20 ms of the main thread on this x86 machine and ~60-70 ms on a Raspberry
Pi 4 core, two frames in one.  For a short while after a switch (:func:`spread_after_switch`),
box and grid layouts share a per-frame budget: past it, a layout waits for the next frame, and
the screen settles over a few frames instead of stalling in one.  The text of labels has its
own budget all the time (``kiosk.ui.widgets.TEXT_BUDGET``).

Outside that window nothing waits: a screen change or a new item row is laid out in its frame,
as Kivy does.  A screen change ends the window: a screen shown for the first time has no old
geometry to keep showing.
"""

from __future__ import annotations

import time

from kivy.clock import Clock

SETTLE_S = 0.6              # how long after a switch the layout budget applies

_settling_until = 0.0
_deferred_frame = -10       # the last frame whose budget sent a layout to the next one


class FrameBudget:
    """Seconds of one kind of main-thread work allowed per frame (one ``Clock.frames``); work past
    it waits for the next frame.  Used for box/grid layouts here and for label text in
    kiosk/ui/widgets.py (``TEXT_BUDGET``).

    ``clock`` and ``scale`` say how work is measured: wall seconds, as a patron waits.  A Pi-class
    benchmark (bench/ui_children.py) runs the kiosk inside a CPU-throttled group, where the main
    thread runs at this machine's full speed in bursts and then stalls: there a budget counts
    thread CPU times the class's slowdown -- what the same work costs on the Pi's core -- or it
    would let through ~3.5x the work per frame a Pi 4's budget does."""

    clock = staticmethod(time.perf_counter)
    scale = 1.0

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.frame = -1             # the frame the spending below belongs to
        self.spent = 0.0

    def exhausted(self) -> bool:
        return self.frame == Clock.frames and self.spent >= self.seconds

    def charge(self, seconds: float) -> None:
        if self.frame != Clock.frames:
            self.frame, self.spent = Clock.frames, 0.0
        self.spent += seconds

    def start(self) -> float:
        """A reading of the budget's clock, for :meth:`charge_since`."""
        return self.clock()

    def charge_since(self, started: float) -> None:
        """Charge the work done since ``started`` (:meth:`start`)."""
        self.charge((self.clock() - started) * self.scale)


LAYOUT_BUDGET = FrameBudget(0.001)     # box/grid layout time per frame while a switch settles


_switch_frame = -10         # the frame a switch was made in


def spread_after_switch(now: float | None = None) -> None:
    """Called by a patron's theme switch (contrast, large text) before it is made: its relayout
    shares the budget, and the stages of the switch before that have not run yet are dropped
    (:func:`after_switch`)."""
    global _settling_until, _switch_frame
    _settling_until = (time.monotonic() if now is None else now) + SETTLE_S
    _switch_frame = Clock.frames
    for stage in _stages:
        stage.cancel()
    _stages.clear()


class Pending:
    """A callback due some frames from now (:func:`after_frames`); ``cancel()`` drops it."""

    __slots__ = ("callback",)

    def __init__(self, callback) -> None:  # noqa: ANN001
        self.callback = callback

    def cancel(self) -> None:
        self.callback = None

    def _step(self, frames: int) -> None:
        if self.callback is None:
            return
        if frames <= 0:
            callback, self.callback = self.callback, None
            callback()
            return
        Clock.schedule_once(lambda _dt: self._step(frames - 1), 0)


def after_frames(frames: int, callback) -> Pending:  # noqa: ANN001
    """``callback()`` ``frames`` frames from now; ``cancel()`` on the result drops it."""
    pending = Pending(callback)
    pending._step(frames)
    return pending


_stages: list[Pending] = []     # the stages of the last patron's switch (after_switch)


def after_switch(stage: int, callback) -> None:  # noqa: ANN001
    """``callback()`` in ``stage`` (below) of the switch just made.  The next switch drops what of
    it has not run (:func:`spread_after_switch`): its own stages do the same work, and a stage left
    to run landed in the new switch's own frame -- on a Pi-class CPU two taps 0.5 s apart are two
    frames apart (issue 19)."""
    _stages.append(after_frames(stage, callback))


# A patron's switch, stage by stage, in frames after the switch's own (kiosk/ui/theme.py
# apply(spread=True)): the switch's own rules (colours, sizes bound directly) in its frame; the
# labels' named sizes (``revision``), then the buttons' (``button_revision``), then the screens'
# computed texts and list rows.
LABELS_STAGE, BUTTONS_STAGE, SCREENS_STAGE = 1, 2, 3


def switching() -> bool:
    """A switch's stages before its last are running (its frame and the next two): a session view
    or a new list row waits for the last stage, which renders the screens anyway -- a row arriving
    in a stage's frame made it the busiest frame of a session with a switch (issue 19)."""
    return Clock.frames - _switch_frame < SCREENS_STAGE


def switched_this_frame() -> bool:
    """A switch was made in this frame: other work (a new session view) waits for the next one
    (kiosk/ui/door.py), the switch fills this one."""
    return _switch_frame == Clock.frames


def stop_spreading() -> None:
    """Another screen is shown: its layouts run in full from its first frame (kiosk/ui/hidden.py)."""
    global _settling_until, _deferred_frame
    _settling_until = 0.0
    _deferred_frame = -10


def settling() -> bool:
    """In the window after a switch -- and for as long as the budget is still sending layouts to
    the next frame: on a slow CPU 0.6 s may be one or two frames, and the window closing on a
    relayout half done ran the other half in one frame (53 layouts, a Pi-class run)."""
    return time.monotonic() < _settling_until or Clock.frames - _deferred_frame <= 2   # it comes back 2 ticks on


def run_layout(layout, do_layout, largs) -> None:  # noqa: ANN001
    """``do_layout`` now, or -- while a switch settles and this frame's budget is spent -- in the
    next frame (the layout keeps its old geometry one frame longer)."""
    if not settling():
        do_layout(layout, *largs)
        return
    if LAYOUT_BUDGET.exhausted() or switched_this_frame():    # the switch's own rules fill its frame
        global _deferred_frame
        _deferred_frame = Clock.frames
        Clock.schedule_once(lambda _dt: layout._trigger_layout(), 0)
        return
    t0 = LAYOUT_BUDGET.start()
    try:
        do_layout(layout, *largs)
    finally:
        LAYOUT_BUDGET.charge_since(t0)
