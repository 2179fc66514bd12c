"""Work done while nobody is at the kiosk, so that no patron waits for it (issue 19).

Kivy builds a screen's widgets when it is first shown and a list's row widgets when they first
scroll into view.  On a Raspberry Pi 4 core that is ~70 ms for the identify screen, ~60 ms for the
items screen and ~12 ms a row (x86: ~20, ~18 and ~3.5 ms): the first patron after a start-up would
wait for them at "Borrow", and a stack put on the pad as the list opens would build ten rows in one
frame.  Here they are built ahead, *one piece per frame*, and only while the kiosk is quiet: the
home screen showing, no session, no staff page.  As soon as a patron starts, the remaining pieces
wait until the kiosk is quiet again; whatever is still missing then is built when needed, as Kivy
would.

The pieces, in the order a patron meets them:

1. the patron screens' code and kv rules (read from disk; kept off the first frame);
2. the widgets of the patron screens (hidden screens lay out nothing until shown:
   kiosk/ui/hidden.py);
3. a screenful of item rows, into Kivy's recycled-view cache, which a list takes from before it
   creates a row.

Not built ahead: the staff pages (staff can wait; they are large) and the returns-only screen (its
existence is how the app knows a drop was ever shown).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock

# Read just after the first frame, in the order a patron meets them ("warning": the timeout veil's rules).
MODULES = ("identify", "items", "warning", "receipt", "goodbye", "account", "returns_only", "out_of_service")
# Built while the kiosk is quiet.
SCREENS = ("identify", "items", "account", "receipt", "goodbye")
QUIET_RECHECK_S = 1.0      # while someone uses the kiosk, look again this often
ROW_HEIGHT_DP = 60         # the shortest item row: a screenful is window height / this, + 3


def read_module(name: str) -> None:
    """Import a patron screen's module (its kv rules load with it)."""
    if name == "warning":
        from kiosk.ui.root import load_warning_rules

        load_warning_rules()
    else:
        __import__(f"kiosk.screens.{name}")


def warm_item_row() -> None:
    """One item row widget into Kivy's recycled-view cache (Kivy 2.x keeps spare rows there)."""
    from kivy.uix.recycleview import views as rv_views

    from kiosk.ui import hidden
    from kiosk.ui.lists import ItemRow

    row = ItemRow()
    hidden.mark_pooled(row)            # its rules wait in the cache, like a hidden screen's
    rv_views._cached_views[ItemRow].append(row)
    rv_views._cache_count = getattr(rv_views, "_cache_count", 0) + 1


def rows_wanted() -> int:
    from kivy.core.window import Window
    from kivy.metrics import dp

    return int(Window.height / dp(ROW_HEIGHT_DP)) + 3


class Prewarm:
    """Runs ``pieces`` one per frame, the first ``eager`` of them at once, the rest only while
    ``quiet()`` says nobody is at the kiosk."""

    def __init__(self, pieces: list[Callable[[], Any]], quiet: Callable[[], bool], eager: int = 0,
                 stopped: Callable[[], bool] = lambda: False) -> None:
        self._pieces = list(pieces)
        self._quiet = quiet
        self._eager = eager
        self._stopped = stopped
        self.done = 0

    def start(self) -> None:
        Clock.schedule_once(self._step, 0)

    @property
    def finished(self) -> bool:
        return not self._pieces

    def _step(self, _dt: float = 0) -> None:
        if not self._pieces or self._stopped():
            return
        if self.done >= self._eager and not self._quiet():
            Clock.schedule_once(self._step, QUIET_RECHECK_S)
            return
        self._pieces.pop(0)()
        self.done += 1
        Clock.schedule_once(self._step, 0)


def for_app(app: Any) -> Prewarm:
    """The kiosk's prewarm: modules first (at once), then the patron screens and the item rows
    (while quiet)."""
    from kiosk.circulation.view import IDLE

    def quiet() -> bool:
        view = app.view
        staff = getattr(app, "staff_active", False)
        return (not staff and (view is None or view.state == IDLE)
                and app.root_widget.ids.sm.current == "home")

    pieces: list[Callable[[], Any]] = [lambda n=name: read_module(n) for name in MODULES]
    pieces += [lambda n=name: app.screen(n) for name in SCREENS]
    pieces += [warm_item_row] * rows_wanted()
    return Prewarm(pieces, quiet, eager=len(MODULES), stopped=lambda: getattr(app, "_closing", False))
