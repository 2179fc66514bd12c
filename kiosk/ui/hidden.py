"""Work for a screen that is not showing waits until it is shown (issue 19: frame gaps).

The kiosk keeps the screens a patron has met (home, identify, items, ...) built, and Kivy's
ScreenManager with NoTransition takes every screen but the current one out of the widget tree.
Their widgets still follow the theme: a large-text switch in the middle of a stack changed the
font sizes on home's and identify's widgets too, and Kivy laid them out at once -- 38 of the 87
box layouts of that frame were on screens nobody could see (measured on the items screen with
20 rows), and their labels' text was laid out again as well.

Here, a label's text layout (:class:`kiosk.ui.widgets.FreshLabel`), a box or grid layout and a kv
rule's evaluation (kiosk/ui/fastkv.py) inside a hidden screen are noted instead of done, and done before the frame that first shows the
screen (:func:`show_deferred`, bound to the ScreenManager's ``current_screen`` in
kiosk/ui/root.py).  Nothing visible changes: a hidden screen is not drawn.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from kiosk.ui import pacing

# {screen: {trigger, ...}}: the Clock triggers to fire when that screen is shown.  Screens are few
# and live as long as the app; a widget that left its screen meanwhile is laid out all the same.
_DEFERRED: dict[Any, set] = {}
# {screen: {(widget or canvas instruction id, property): kv rule args}}: rules evaluated when that
# screen is shown (kiosk/ui/fastkv.py call_fn), once each, with the values of that moment.
_RULES: dict[Any, dict] = {}
_RELEASING: set = set()            # holders being released right now (release): they count as shown


_SCREEN: type | None = None        # kivy.uix.screenmanager.Screen, imported at the first call
POOLED = "_kiosk_pooled"            # set on a list row while it lies in Kivy's view cache


def mark_pooled(row) -> None:  # noqa: ANN001
    """``row`` goes into Kivy's recycled-view cache (kiosk/ui/lists.py, prewarm.py): until a list
    takes it out again (:func:`release`), what it would do waits, as on a hidden screen -- a
    contrast switch re-ran the colour rules of every cached row.  Whoever takes it out must call
    :func:`release`."""
    setattr(row, POOLED, True)
    _forget()


def hidden_screen(widget):  # noqa: ANN001,ANN201
    """The Screen ``widget`` is on when that screen is not in its manager's tree (NoTransition
    removes the screens not shown); or the list row it is part of while that row lies in Kivy's
    view cache (:func:`mark_pooled`); else None: shown, or not on a screen at all.  Called for every kv rule
    evaluation (kiosk/ui/fastkv.py): a plain walk up the parents, no import -- or, inside
    :func:`same_tree`, each widget's answer once."""
    if _MEMO is not None:
        return _remembered(widget)
    return _walk(widget, None)


def _remembered(widget):  # noqa: ANN001,ANN202
    known = _MEMO.get(id(widget))
    if known is not None and known[0] is widget:
        return known[1]
    path: list = []
    answer = _walk(widget, path)
    for w in path:                  # every widget on the way has the same answer
        _MEMO[id(w)] = (w, answer)  # the widget too: its id cannot name another one meanwhile
    return answer


def _walk(widget, path: list | None):  # noqa: ANN001,ANN202
    """The walk up ``widget``'s parents; inside same_tree, ``path`` collects them and the walk
    stops at one whose answer is known."""
    screen_cls = _SCREEN or _screen_class()
    w = widget
    while True:
        if path is not None:
            known = _MEMO.get(id(w))
            if known is not None and known[0] is w:     # a sibling's walk went this way already
                return known[1]
            path.append(w)
        if isinstance(w, screen_cls):
            return w if w.parent is None and w.manager is not None and w not in _RELEASING else None
        parent = w.parent
        if parent is None:
            return w if getattr(w, POOLED) and w not in _RELEASING else None   # Widget has it (below)
        if parent is w:                 # the Window is its own parent
            return None
        w = parent


def _screen_class() -> type:
    global _SCREEN
    from kivy.uix.screenmanager import Screen
    from kivy.uix.widget import Widget

    setattr(Widget, POOLED, False)      # every widget answers "pooled?" without an exception
    _SCREEN = Screen
    return Screen


# {id(widget): (widget, its hidden_screen answer)} while a switch sets the theme's properties (same_tree).
_MEMO: dict | None = None


def _forget() -> None:
    """Inside :func:`same_tree`, a widget moved, pooled or released: the answers may be wrong now."""
    if _MEMO is not None:
        _MEMO.clear()


@contextlib.contextmanager
def same_tree() -> Iterator[None]:
    """While this runs, each widget's :func:`hidden_screen` answer is worked out once.  A theme
    switch sets ~20 properties that ~270 kv rules follow, and Kivy evaluates the canvas rules
    among them together (``Builder.sync``); each rule walked up its widget's parents (~6 levels):
    ~1,700 steps in a contrast switch's frame with a 20-item stack, ~350 with the answers kept
    (~0.2 ms of that frame's ~3.8 ms of CPU on the x86 build machine, issue 19).  For code that sets
    properties whose rules change colours and sizes; should one of them add or remove a widget
    all the same, the answers are forgotten (:func:`install` hooks Kivy's ``Widget.add_widget``
    and ``remove_widget``, which every layout's own calls), as they are when a row is pooled or
    a holder released."""
    global _MEMO
    if _MEMO is not None:               # nested: the outer one holds the answers
        yield
        return
    _MEMO = {}
    try:
        yield
    finally:
        _MEMO = None


def defer(screen, trigger) -> None:  # noqa: ANN001
    """Fire ``trigger`` (a Clock trigger) when ``screen`` is shown next."""
    _DEFERRED.setdefault(screen, set()).add(trigger)


def show_deferred(screen) -> None:  # noqa: ANN001
    """Fire, before the next frame, what waited while ``screen`` was hidden.

    A screen being shown has no earlier geometry worth keeping (a screen built while hidden has
    none at all: its buttons sit at 0,0 with Kivy's default size), so a theme switch's layout
    budget (kiosk/ui/pacing.py) stops here: its first frame is laid out in full."""
    pacing.stop_spreading()
    release(screen)


def release(holder) -> None:  # noqa: ANN001
    """Run what waited on ``holder`` (a screen, or a pooled row leaving Kivy's view cache): its kv
    rules now, its layouts and text renders before the next frame.

    The holder may still be out of the window tree while this runs (the ScreenManager announces
    the new screen before it adds it): meanwhile it counts as shown, or the rules a released rule
    sets off (a button's text, then its label's) would wait again -- until the next time it is
    shown, in the language or colours of before."""
    if getattr(holder, POOLED, False):
        setattr(holder, POOLED, False)
    _forget()                       # the holder's widgets count as shown from now on
    _RELEASING.add(holder)
    try:
        while rules := _RULES.pop(holder, None):      # rules first: they set sizes the layouts use
            for args in rules.values():
                _evaluate_quietly(args)
    finally:
        _RELEASING.discard(holder)
        _forget()
    for trigger in _DEFERRED.pop(holder, ()):
        trigger()


def defer_rule(screen, args) -> None:  # noqa: ANN001
    """Evaluate the kv rule ``args`` (Kivy's handler arguments) when ``screen`` is shown next."""
    _RULES.setdefault(screen, {})[(id(args[0]), args[1])] = args


def evaluate(args) -> None:  # noqa: ANN001
    """What Kivy does with a kv rule whose properties changed: evaluate it, set the result."""
    element, key, value, rule, idmap = args
    rule.count += 1
    setattr(element, key, eval(value, idmap))  # noqa: S307 - exactly what Kivy does with a kv rule


def _evaluate_quietly(args) -> None:  # noqa: ANN001
    try:
        evaluate(args)
    except ReferenceError:          # the widget is gone (as Kivy's Builder.sync tolerates)
        pass


def flush_rules() -> None:
    """Evaluate every waiting rule now, shown or not: at a session's end the patron's data must
    leave the hidden screens' widgets too, not wait there until they are shown."""
    while _RULES:
        _screen, rules = _RULES.popitem()
        for args in rules.values():
            _evaluate_quietly(args)


def _waiting_layout(do_layout):  # noqa: ANN001,ANN202
    # functools.wraps keeps the name "do_layout": Kivy's layout trigger (a WeakMethod) looks the
    # method up on the widget by name.
    @functools.wraps(do_layout)
    def do_layout_when_shown(self, *largs):  # noqa: ANN001,ANN202
        screen = hidden_screen(self)
        if screen is not None:
            defer(screen, self._trigger_layout)
            return None
        return pacing.run_layout(self, do_layout, largs)    # a theme switch spreads its relayout

    return do_layout_when_shown


def _forgetting(change):  # noqa: ANN001,ANN202
    @functools.wraps(change)
    def change_and_forget(self, *args, **kw):  # noqa: ANN001,ANN202
        _forget()
        return change(self, *args, **kw)

    return change_and_forget


def install() -> None:
    """Box and grid layouts (nearly all of the kiosk's) wait for their screen to be shown; the
    canvas rules Kivy evaluates together before a frame (``Builder.sync``) look each widget's
    screen up once (:func:`same_tree`), and a widget added or removed forgets those answers.
    Called by ``kivyenv.prepare`` with the other start-up settings; idempotent."""
    from kivy.lang import Builder
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.gridlayout import GridLayout
    from kivy.uix.widget import Widget

    for cls in (BoxLayout, GridLayout):
        if not hasattr(cls.do_layout, "__wrapped__"):
            cls.do_layout = _waiting_layout(cls.do_layout)
    for name in ("add_widget", "remove_widget"):
        if not hasattr(getattr(Widget, name), "__wrapped__"):
            setattr(Widget, name, _forgetting(getattr(Widget, name)))
    if "sync" not in vars(Builder):     # Kivy's EventLoop calls Builder.sync() twice a frame
        sync = Builder.sync

        def sync_same_tree() -> None:
            with same_tree():
                sync()

        Builder.sync = sync_same_tree
