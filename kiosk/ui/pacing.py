"""A theme switch's relayout spread over a few frames (issue 19: frame gaps on a Pi's CPU).

Switching large text on changes the size of every label on the screen: Kivy re-lays out the
whole widget tree before the next frame -- ~80 box layouts with the kv rules their new sizes and
positions set off, ~15-20 ms of the main thread on this x86 machine and ~60-70 ms on a Raspberry
Pi 4 core, two frames in one.  For a short while after a switch (:func:`spread_after_switch`),
box and grid layouts share a per-frame budget: past it, a layout waits for the next frame, and
the screen settles over a few frames instead of stalling in one.  The text of labels has its
own budget all the time (``kiosk.ui.widgets.LAYOUT_BUDGET_S``).

Outside that window nothing waits: a screen change or a new item row is laid out in its frame,
as Kivy does.
"""

from __future__ import annotations

import time

from kivy.clock import Clock

LAYOUT_BUDGET_S = 0.002     # box/grid layout time per frame while a switch settles
SETTLE_S = 0.6              # how long after a switch the budget applies

_settling_until = 0.0
_spent: list = [-1, 0.0]    # [frame number, layout seconds spent in it]


def spread_after_switch(now: float | None = None) -> None:
    """Called by a theme switch (contrast, large text): its relayout shares the budget."""
    global _settling_until
    _settling_until = (time.monotonic() if now is None else now) + SETTLE_S


def settling() -> bool:
    return time.monotonic() < _settling_until


def run_layout(layout, do_layout, largs) -> None:  # noqa: ANN001
    """``do_layout`` now, or -- while a switch settles and this frame's budget is spent -- in the
    next frame (the layout keeps its old geometry one frame longer)."""
    if not settling():
        do_layout(layout, *largs)
        return
    frame = Clock.frames
    if _spent[0] != frame:
        _spent[:] = [frame, 0.0]
    elif _spent[1] >= LAYOUT_BUDGET_S:
        Clock.schedule_once(lambda _dt: layout._trigger_layout(), 0)
        return
    t0 = time.perf_counter()
    try:
        do_layout(layout, *largs)
    finally:
        if _spent[0] == frame:
            _spent[1] += time.perf_counter() - t0
