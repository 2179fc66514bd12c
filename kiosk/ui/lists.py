"""Widgets of the screens that show lists and take digits: the keypad, item rows, loan rows.

They live apart from :mod:`kiosk.ui.widgets` because the home screen needs none of them: their kv
rules (about half of the kiosk's widget rules) and Kivy's RecycleView are loaded with the first
screen that uses them, after the kiosk has shown its first frame, not before.
"""

from __future__ import annotations

import math
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.recycleview import RecycleView
from kivy.uix.recycleview.views import RecycleDataAdapter

from kiosk.ui import hidden
from kiosk.ui.widgets import KButton  # and the KLabel, Icon rules the rules below are built of


class Keypad(GridLayout):
    """Digits, Clear and OK.  Emits ``on_key(key)`` with "0".."9", "back" or "ok"."""

    ok_text = StringProperty("OK")
    ok_enabled = BooleanProperty(True)
    __events__ = ("on_key",)

    def on_key(self, key: str) -> None:
        pass


class ItemRow(BoxLayout):
    """One line of the items list (a RecycleView row: all state comes in through ``data``)."""

    title = StringProperty("")
    status = StringProperty("")
    detail = StringProperty("")
    state = StringProperty("seen")
    tone = StringProperty("seen")       # colour role: a returned hold is "needs_staff" (warning colour)
    instruction = StringProperty("")    # the one physical thing to do ("Take it with you.")
    stands_out = BooleanProperty(False) # refusals, holds, transfers: larger instruction, coloured frame
    icon = StringProperty("seen")
    fill = ColorProperty((1, 1, 1, 1))
    ink = ColorProperty((0, 0, 0, 1))
    badge = StringProperty("")
    badge_width = NumericProperty(0)    # the list's badge column (kiosk/screens/items.py), 0: the word's own
    item_id = StringProperty("")


class KeyedRowAdapter(RecycleDataAdapter):
    """A RecycleView adapter that gives each row back the widget that showed it last time.

    Kivy's RecycleView throws every row widget into one shared pool on *any* change of its data
    and deals them out again in pool order, so a row usually lands on a widget that showed a
    different item: all its labels get new text and are re-rendered, every time one item's
    status changes (~18 label renders per update on the items list).  Keyed by ``key``
    (``item_id``), a widget keeps its item, and only the properties that really changed are
    set (Kivy properties do not dispatch when set to the same value)."""

    def __init__(self, key: str = "item_id", **kw):
        super().__init__(**kw)
        self._key = key
        self._spare: dict = {}

    def invalidate(self) -> None:
        for view in list(self.views.values()) + [v for by_index in self.dirty_views.values()
                                                 for v in by_index.values()]:
            key = getattr(view, self._key, None)
            if key and key not in self._spare:
                self._spare[key] = view
            else:
                self._to_pool(view)
        self.views = {}
        self.dirty_views.clear()

    def get_view(self, index, data_item, viewclass):  # noqa: ANN001,ANN201 - Kivy signature
        view = self._spare.pop(data_item.get(self._key), None) if self._spare else None
        if view is not None and view.__class__ is viewclass:
            self.refresh_view_attrs(index, data_item, view)
        else:
            if view is not None:
                self._to_pool(view)
            view = super().get_view(index, data_item, viewclass)
        # A row out of Kivy's view cache: what waited while it lay there runs now (hidden.py)
        hidden.release(view)
        return view

    def set_visible_views(self, indices, data, viewclasses):  # noqa: ANN001,ANN201 - Kivy signature
        result = super().set_visible_views(indices, data, viewclasses)
        for view in self._spare.values():          # rows scrolled out or gone: back to Kivy's pool
            self._to_pool(view)
        self._spare.clear()
        return result

    @staticmethod
    def _to_pool(view) -> None:  # noqa: ANN001
        from kivy.uix.recycleview import views as rv_views

        hidden.mark_pooled(view)
        rv_views._cached_views[view.__class__].append(view)
        rv_views._cache_count += 1


class SettledRecycleView(RecycleView):
    """A RecycleView that refreshes its rows once a frame, after the layouts that size it.

    Kivy refreshes a RecycleView's rows (``refresh_views``: their sizes from the data, their
    layout, the widgets of the rows in sight) from a before-the-frame trigger, the moment its
    data, size or scroll position changes.  A row that came in the frame a large-text switch
    widened the tally column (kiosk/screens/items.kv) refreshed the list three times in that
    frame (a Pi-class run): for the new row at the old width; for the new width, when the
    layout above the list ran after it; and for the rows built again for that width (the items
    screen's ``refresh_soon``, a trigger on the list's width).  Here the refresh waits while a
    layout above the list, or a trigger in :attr:`wait_for`, is still due before this frame: it
    runs once, after them, with the frame's last data and size -- what the frame shows anyway.
    """

    wait_for: tuple = ()        # Clock triggers (timeout -1) that will set this list's data
    MAX_WAITS = 6               # per frame: never more, whatever keeps a layout due

    _waits = 0
    _wait_frame = -1

    def refresh_views(self, *largs) -> None:  # noqa: ANN002 - Kivy's signature
        if self._sizes_still_due():
            self._refresh_trigger()         # again, in the clock's next round before the frame
            return
        super().refresh_views(*largs)

    def _sizes_still_due(self) -> bool:
        if self._wait_frame != Clock.frames:
            self._wait_frame, self._waits = Clock.frames, 0
        if self._waits >= self.MAX_WAITS:
            return False
        due = any(trigger.is_triggered for trigger in self.wait_for)
        widget, seen = self.parent, None
        while not due and widget is not None and widget is not seen:     # the window is its own parent
            due = bool(getattr(getattr(widget, "_trigger_layout", None), "is_triggered", False))
            widget, seen = widget.parent, widget
        self._waits += due
        return due


class LoanRow(BoxLayout):
    """One loan on the account screen, with its Renew button."""

    title = StringProperty("")
    due = StringProperty("")
    status = StringProperty("")
    item_id = StringProperty("")
    overdue = BooleanProperty(False)
    can_renew = BooleanProperty(True)
    icon = StringProperty("")
    renew_width = NumericProperty(0)    # the Renew button's width for its word (0: lists.kv's default)


class MoreCue(KButton):
    """"More above" / "More below" under a list that overflows; tapping pages the list.

    As wide as its words measure in the font it is drawn in (:attr:`needed_width`), not as an
    estimate from the number of letters: the estimate left "More above" one pixel to spare, and a
    panel whose fonts render a little wider (another FreeType, large text, German) wrapped it into
    "More / above" on two lines.  Measured on the kiosk itself, it stays on one line in every
    language and type size.
    """

    needed_width = NumericProperty(0)

    def __init__(self, **kw):
        super().__init__(**kw)
        app = App.get_running_app()
        if app is not None and getattr(app, "theme", None) is not None:
            app.theme.bind(button_revision=self._measure)   # large text, portrait, staff scale
        self.bind(text=self._measure, size_key=self._measure, icon_size=self._measure,
                  padding=self._measure, spacing=self._measure)
        self._measure()

    def _measure(self, *_a) -> None:
        from kivy.core.text import Label as CoreLabel

        app = App.get_running_app()
        theme = getattr(app, "theme", None)
        if theme is None:
            return
        words = CoreLabel(font_size=theme.size(self.size_key), bold=True).get_extents(self.text)[0]
        left, _top, right, _bottom = self.padding
        # the icon and the gap beside it, both paddings, and a few pixels that rounding may eat
        self.needed_width = math.ceil(words + left + right + self.icon_size + self.spacing + dp(8))


Builder.load_file(str(Path(__file__).with_name("lists.kv")))


def watch_scroll(rv, screen) -> None:  # noqa: ANN001 - RecycleView, a screen with more_above/more_below
    """Keep ``screen.more_above`` / ``screen.more_below`` true while rows are out of sight above or
    below ``rv``: a list that is taller than the screen shows a "more" cue instead of a row cut
    in half with nothing to say there is more (issue 14)."""

    def update(*_a) -> None:
        layout = rv.children[0] if rv.children else None
        overflow = layout is not None and layout.height > rv.height + 2
        screen.more_above = bool(overflow and rv.scroll_y < 0.995)
        screen.more_below = bool(overflow and rv.scroll_y > 0.005)

    rv.bind(scroll_y=update, height=update)
    if rv.children:
        rv.children[0].bind(height=update)
    update()


def page(rv, direction: int) -> None:  # noqa: ANN001
    """Scroll ``rv`` one screenful up (+1) or down (-1): what the "more" cues do when tapped."""
    layout = rv.children[0] if rv.children else None
    if layout is None or layout.height <= rv.height:
        return
    step = rv.height * 0.85 / (layout.height - rv.height)
    rv.scroll_y = min(1.0, max(0.0, rv.scroll_y + direction * step))
