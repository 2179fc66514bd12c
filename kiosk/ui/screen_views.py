"""Which screen shows a session view, and which screens get it (kiosk/app.py's KioskApp).

Screens are built the first time they are needed (or ahead, while nobody is at the kiosk:
kiosk/ui/prewarm.py) and then kept.  While a session is under way only the screen showing gets
each view; the others get the newest when shown -- a hidden account page used to re-build its
loan rows at every item of a stack (issue 19).  Any other view (the receipt question, goodbye,
idle) reaches every screen at once, and the kv rules waiting behind hidden screens
(kiosk/ui/hidden.py) run with it: patron data leaves all of them together.
"""

from __future__ import annotations

from kiosk.circulation.view import (
    ENDED,
    IDENTIFIED,
    IDENTIFYING,
    IDLE,
    OUT_OF_SERVICE,
    RECEIPT,
    WORKING,
    SessionView,
)
from kiosk.ui import hidden


def screen_for(view: SessionView, staff_active: bool = False) -> str:
    """Which screen shows a view.  Patron screens follow the session; staff mode overrides."""
    if staff_active:
        return "staff"
    if view.state == OUT_OF_SERVICE:
        return "out_of_service"
    if view.state == IDLE:
        return "home"
    if view.state == IDENTIFYING:
        return "identify"
    if view.state == RECEIPT:
        return "receipt"
    if view.state == ENDED:
        return "goodbye"
    return "account" if view.mode == "account" else "items"


class ScreenViews:
    """Mixin for the app: ``screen(name)``, ``render_screens(view)``."""

    view: SessionView | None
    _behind: set[str]
    _patron_shown: bool

    def screen(self, name: str):  # noqa: ANN201 - a KioskScreen
        """The screen called ``name``, built the first time it is needed (screens are lazy)."""
        sm = self.root_widget.ids.sm
        if not sm.has_screen(name):
            from kiosk.screens import SCREEN_MODULES

            if name not in SCREEN_MODULES:
                raise KeyError(name)
            module = __import__(f"kiosk.screens.{name}", fromlist=["_"])
            cls = next(getattr(module, attr) for attr in dir(module)
                       if attr.endswith("Screen") and attr != "KioskScreen")
            sm.add_widget(cls())
            if self.view is not None:
                sm.get_screen(name).render(self.view)
        return sm.get_screen(name)

    def _render_if_behind(self, _sm, screen) -> None:  # noqa: ANN001
        if screen is not None and screen.name in self._behind and self.view is not None:
            self._behind.discard(screen.name)
            screen.render(self.view)

    def render_screens(self, view: SessionView, target: str = "") -> None:
        """``view`` on the screen showing (and ``target``, about to show).  While a session is under
        way the screens not showing get its views when shown (kiosk/ui/hidden.py's habit: a hidden
        account page re-built its loan rows at every item of a stack).  Any other view (a receipt
        question, goodbye, idle) reaches every screen at once, and their kv rules waiting behind
        a hidden screen run at once too: patron data leaves all of them together."""
        sm = self.root_widget.ids.sm
        in_session = view.state in (IDENTIFYING, IDENTIFIED, WORKING)
        for screen in sm.screens:
            if not in_session or screen.name in (target, sm.current):
                screen.render(view)
                self._behind.discard(screen.name)
            else:
                self._behind.add(screen.name)
        if not in_session and self._patron_shown:
            hidden.flush_rules()
        self._patron_shown = view.patron is not None
