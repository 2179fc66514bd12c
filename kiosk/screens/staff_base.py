"""Shared parts of the staff pages: the page base class, the title bar, choice rows, table rows,
bars and an on-screen keyboard (a kiosk has no keyboard; the scanner owns the key events).

Staff pages only render what :class:`kiosk.staff.console.StaffConsole` hands back and forward
taps to it; any touch on a staff page restarts staff mode's idle logout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kivy.metrics import dp
from kivy.properties import BooleanProperty, ColorProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.screens.base import KioskScreen, load_kv
from kiosk.ui.widgets import KButton


class StaffPage(KioskScreen):
    """Base of every staff page: ``refresh()`` on entry, idle logout restarted by every touch."""

    busy = BooleanProperty(False)
    patron_page = False            # wiped when staff mode ends (StaffMode.ended), not with a patron

    @property
    def staff(self):  # noqa: ANN201 - kiosk.screens.staff_mode.StaffMode
        return self.app.staff_mode

    @property
    def console(self):  # noqa: ANN201 - kiosk.staff.console.StaffConsole
        return self.app.staff_mode.console

    def on_touch_down(self, touch):  # noqa: ANN001,ANN201
        if self.collide_point(*touch.pos) and self.app.staff_mode is not None:
            self.app.staff_mode.touched()
        return super().on_touch_down(touch)

    def on_enter(self, *_a) -> None:
        self.refresh()

    def refresh(self) -> None:
        pass


class StaffBar(BoxLayout):
    """Title of a staff page and the way back to the staff home page."""

    title = StringProperty("")
    back = BooleanProperty(True)


class Bar(Widget):
    """A horizontal bar: ``fraction`` of the width, in ``colour``."""

    fraction = NumericProperty(0)
    colour = ColorProperty((0, 0, 0, 1))


class Cell(Label):
    """One table cell: themed text, cut with an ellipsis when it does not fit."""

    bold_cell = BooleanProperty(False)
    ink_role = StringProperty("ink")


class TableRow(BoxLayout):
    """A row of cells (``widths`` are size_hint_x values) with an optional fill stripe."""

    fill_role = StringProperty("surface")

    def __init__(self, cells: Sequence[str], widths: Sequence[float], *, header: bool = False,
                 fill_role: str = "surface", height: float | None = None, **kw):
        super().__init__(fill_role=fill_role, **kw)
        self.size_hint_y = None
        self.height = height or dp(40)
        for text, w in zip(cells, widths, strict=False):
            self.add_widget(Cell(text=str(text), size_hint_x=w, bold_cell=header,
                                 ink_role="ink" if not header else "ink_muted"))


class NoteRow(BoxLayout):
    """A full sentence under a table row (a repair hint): wraps and grows instead of being cut."""

    text = StringProperty("")
    fill_role = StringProperty("warn")
    indent = NumericProperty(0.42)     # size_hint_x left blank, so the note sits under the detail


class ChoiceRow(BoxLayout):
    """Buttons of which one (or, with ``multi``, several) is selected; ``value`` follows taps."""

    value = ListProperty([])
    multi = BooleanProperty(False)

    def set_options(self, options: Sequence[tuple[str, str]], value: Sequence[str] | str,
                    on_change: Callable[[list[str]], None] | None = None) -> None:
        self.clear_widgets()
        self.value = list(value) if isinstance(value, list | tuple) else [value]
        self._on_change = on_change
        for key, label in options:
            btn = KButton(text=label, role="plain", size_key="font_s", fixed_height=dp(48))
            btn.key = key
            btn.selected = key in self.value
            btn.bind(on_release=lambda b: self._tap(b.key))
            self.add_widget(btn)

    def _tap(self, key: str) -> None:
        if self.multi:
            chosen = [k for k in self.value if k != key] if key in self.value else [*self.value, key]
            order = [c.key for c in reversed(self.children)]
            self.value = [k for k in order if k in chosen]
        else:
            self.value = [key]
        for child in self.children:
            child.selected = child.key in self.value
        if self._on_change is not None:
            self._on_change(list(self.value))


KEY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl-", "zxcvbnm._:/")   # "/": FOLIO gateway URLs


class TextKeyboard(BoxLayout):
    """Letters, digits and the characters of host names; emits ``on_key(key)`` ("back", "done")."""

    __events__ = ("on_key",)

    def __init__(self, **kw):
        from kivy.app import App

        from kiosk.ui.i18n import tr

        super().__init__(orientation="vertical", spacing=dp(4), **kw)
        lang = getattr(App.get_running_app(), "lang", "en")
        delete_text, done_text = tr("Delete", lang), tr("Done", lang)
        for row in KEY_ROWS:
            line = BoxLayout(spacing=dp(4))
            for ch in row:
                line.add_widget(self._key(ch, ch))
            self.add_widget(line)
        line = BoxLayout(spacing=dp(4))
        line.add_widget(Widget())
        line.add_widget(self._key(delete_text, "back", role="ghost"))
        line.add_widget(self._key(done_text, "done", role="accent"))
        self.add_widget(line)

    def _key(self, text: str, key: str, role: str = "plain") -> KButton:
        btn = KButton(text=text, role=role, size_key="font_m", padding=(dp(2), dp(2)))
        btn.size_hint_y = 1
        btn.bind(on_release=lambda _b: self.dispatch("on_key", key))
        return btn

    def on_key(self, key: str) -> None:
        pass


def clear_and_fill(container, rows: Sequence[Widget]) -> None:  # noqa: ANN001
    container.clear_widgets()
    for r in rows:
        container.add_widget(r)


load_kv(__file__)
