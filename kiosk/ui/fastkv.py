"""kv rules without Kivy's per-evaluation trace formatting (issue 19: main-thread work behind frame gaps).

Every time a kv rule re-evaluates (``color: app.theme.ink``, ``text: tr(...)``), Kivy's
``kivy.lang.builder.call_fn`` formats two trace messages -- ``%r`` of the widget, of the rule's
source and of the new value -- and hands them to the logger, which drops them: the kiosk never
logs at Kivy's TRACE level.  That is done in CPython's ``if __debug__:`` blocks, which only
``python -O`` removes.  Profiled on the kiosk's main thread (bench/bench_ui.py with
``BENCH_UI_PROFILE``) it was 2 log calls and two string formats per rule evaluation: ~1,200 log
calls for a 20-item stack, ~2,900 with the theme switched 4 times mid-session -- a third of all
the CPU that kv rule evaluation took.

:func:`install` swaps in the same function without the traces (same arguments, same counter,
same ``eval`` and ``setattr``), unless Kivy's TRACE level is actually enabled.  It also lets a
rule of a widget on a hidden screen wait for that screen to be shown: a contrast switch re-ran
every colour rule of every screen the kiosk had built, ~560 evaluations in one frame with the
patron screens built, two thirds of them on screens nobody could see.  It must run before
any kv rule is applied: Kivy binds ``call_fn`` itself to each rule's properties when the rule is
applied (``kivy.lang.builder.create_handler``), so rules applied earlier keep the traced one.
"""

from __future__ import annotations

from kivy.uix.widget import Widget

from kiosk.ui.hidden import defer_rule, evaluate, hidden_screen


def call_fn(args, instance, v) -> None:  # noqa: ANN001 - Kivy's signature (kivy/lang/builder.py)
    """``kivy.lang.builder.call_fn`` less its two ``trace()`` calls; a rule of a widget on a screen
    not showing waits until that screen is shown (kiosk/ui/hidden.py)."""
    element = args[0]           # the widget itself for a property rule (no proxy to go through),
    screen = hidden_screen(element if isinstance(element, Widget) else args[4]["self"])   # a canvas rule's owner
    if screen is not None:
        defer_rule(screen, args)
        return
    evaluate(args)


def install() -> bool:
    """Use :func:`call_fn` for kv rules from now on.  False (and Kivy's own kept) when Kivy logs
    at TRACE level, where its traces are wanted."""
    from kivy.lang import builder
    from kivy.logger import LOG_LEVELS, Logger

    if Logger.isEnabledFor(LOG_LEVELS["trace"]):
        return False
    builder.call_fn = call_fn
    return True
