"""The window's root: header (branding, accessibility switches), banners, screens, overlays."""

from __future__ import annotations

from pathlib import Path

from kivy.clock import Clock
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout

from kiosk.ui.hidden import show_deferred
from kiosk.ui.widgets import SkipWhenClear

STAFF_HOLD_S = 3.0     # hidden staff gesture: hold the library name for this long


class Overlay(SkipWhenClear, FloatLayout):
    """A layer that is modal while ``shown`` and fully transparent to touches otherwise."""

    shown = BooleanProperty(False)

    def on_touch_down(self, touch):  # noqa: ANN001,ANN201
        if not self.shown:
            return False
        super().on_touch_down(touch)
        return True              # modal: nothing underneath reacts while the warning shows

    def on_touch_move(self, touch):  # noqa: ANN001,ANN201
        return super().on_touch_move(touch) if self.shown else False

    def on_touch_up(self, touch):  # noqa: ANN001,ANN201
        return super().on_touch_up(touch) if self.shown else False


class WarningOverlay(Overlay):
    """The idle-timeout warning.  Its card is built the first time it is shown: most sessions
    never time out, and the kiosk's first frame should not wait for widgets nobody sees."""

    def on_shown(self, _inst, shown: bool) -> None:
        if shown and not self.children:
            load_warning_rules()
            self.add_widget(Factory.TimeoutWarning())


def load_warning_rules() -> None:
    """The timeout card's kv rules (kiosk/ui/warning.kv), once; the app loads them just after its
    first frame (kiosk/ui/prewarm.py), so a warning never reads a file mid-session."""
    if "TimeoutWarning" not in Factory.classes:
        Builder.load_file(str(Path(__file__).with_name("warning.kv")))


class StaffCorner(BoxLayout):
    """The header's branding area; holding it for STAFF_HOLD_S opens the staff PIN screen.

    A hidden gesture alone opens nothing but the PIN pad (reference hardware-and-deployment.md
    §6.2: the admin menu needs authentication, not just a gesture)."""

    __events__ = ("on_hold",)
    _ev = None

    def on_touch_down(self, touch):  # noqa: ANN001,ANN201
        if self.collide_point(*touch.pos):
            touch.ud["staff_corner"] = True
            self._ev = Clock.schedule_once(lambda _dt: self.dispatch("on_hold"), STAFF_HOLD_S)
        return super().on_touch_down(touch)

    def on_touch_up(self, touch):  # noqa: ANN001,ANN201
        if touch.ud.get("staff_corner") and self._ev is not None:
            self._ev.cancel()
            self._ev = None
        return super().on_touch_up(touch)

    def on_hold(self) -> None:
        pass


class KioskRoot(FloatLayout):
    """Layout only; ``app`` renders into ``ids.sm`` (the ScreenManager)."""

    def on_kv_post(self, _base) -> None:  # noqa: ANN001
        # Labels of screens not shown wait with their layout (a theme switch reaches every built
        # screen); they are laid out when their screen is shown (kiosk/ui/hidden.py, issue 19).
        self.ids.sm.bind(current_screen=lambda _sm, screen: screen is not None and show_deferred(screen))


Builder.load_file(str(Path(__file__).with_name("root.kv")))
