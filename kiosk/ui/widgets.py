"""The kiosk's building blocks; their look lives in ``widgets.kv`` and follows ``app.theme``.

Every tappable widget is a :class:`KButton` (or built on it): at least ``TOUCH_MIN`` px in both
directions, debounced (duplicate touch events are common on Pi touch panels, reference
hardware-and-deployment.md §4.3), and it nudges the session's idle timer.
"""

from __future__ import annotations

import time
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import Color, Rectangle
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from kiosk.ui.hidden import defer, hidden_screen
from kiosk.ui.icons import Icon  # noqa: F401  (registered for kv)
from kiosk.ui.pacing import FrameBudget, switched_this_frame
from kiosk.ui.palette import TOUCH_MIN

DEBOUNCE_S = 0.35


class FreshLabel(Label):
    """A Label that draws changed text into a *new* texture instead of over the old one.

    Writing into a texture the GPU may still be reading makes the driver wait for the frame in
    flight (with Mesa's software rasterizer we measured 30-70 ms per changed label on 2 cores);
    a fresh small texture costs nothing.  Used wherever text changes while a patron watches.

    Its canvas (Kivy's Label canvas: a Color and the text's Rectangle, centred) is kept here in
    Python rather than in kv rules: a label's position, size, texture and colour each changed a
    canvas rule, evaluated through Kivy's rule machinery -- a fifth of a contrast switch's rule
    evaluations and more of a large-text switch's later frames (issue 19).  ``<-FreshLabel>`` in
    widgets.kv keeps Label's own canvas rules off.
    """

    # Clock.frames_displayed from which its text has been on screen (texture_update): _NOT_YET
    # until a text of its own is drawn in the window
    _on_screen_from = 0

    def __init__(self, **kw):
        self._on_screen_from = _NOT_YET
        super().__init__(**kw)
        with self.canvas:
            self._tint = Color(*self._ink())
            self._glyphs = Rectangle(texture=self.texture, size=self.texture_size, pos=self._corner())
        bind = self.fbind
        for name in ("color", "disabled_color", "disabled", "markup"):
            bind(name, self._retint)
        bind("texture", self._retexture)
        bind("texture_size", self._resize)
        bind("pos", self._move)
        bind("size", self._move)

    def _ink(self) -> list[float] | tuple[float, ...]:
        # The text is rendered white (texture_update below) and tinted here; markup keeps the
        # colours of its spans in the texture and is drawn untinted, as Kivy does.
        return _WHITE if self.markup else (self.disabled_color if self.disabled else self.color)

    def _corner(self) -> tuple[int, int]:
        tw, th = self.texture_size
        return int(self.center_x - tw / 2.0), int(self.center_y - th / 2.0)

    def _retint(self, *_a) -> None:  # noqa: ANN002
        self._tint.rgba = self._ink()

    def _retexture(self, _label, texture) -> None:  # noqa: ANN001
        self._glyphs.texture = texture

    def _resize(self, _label, size) -> None:  # noqa: ANN001
        self._glyphs.size = size
        self._glyphs.pos = self._corner()

    def _move(self, *_a) -> None:  # noqa: ANN002
        self._glyphs.pos = self._corner()

    def _trigger_texture_update(self, name=None, source=None, value=None):  # noqa: ANN001,ANN202
        # The text is drawn white and tinted by the canvas's Color (``_retint``), so a colour
        # change -- every label on a contrast switch -- is a new Color value on the GPU, not a new
        # layout, rasterising and texture upload (issue 19).
        # Markup labels keep Kivy's way: their colour spans are in the texture.
        if name in _INK_ONLY and not self.markup:
            return
        super()._trigger_texture_update(name, source, value)

    def texture_update(self, *largs) -> None:  # noqa: ANN002
        if self.text and self.text_size[0] == 0:
            # Wrapped to a width of 0: the label has its text but not yet its width (a list row
            # is given its data before its layout).  Kivy would lay the text out one glyph per
            # line -- the costliest layout there is -- and lay it out again a moment later at
            # the real width.  Nothing can be shown at width 0: draw nothing until the width
            # arrives (text_size follows it, which triggers this again).  Issue 19: a quarter
            # of the label renders of a 20-item stack were these.  The texture and its size are
            # left as they are: a label whose width depends on its own height (a button squeezed
            # until its text wraps one glyph a line) would otherwise swing between a tall texture
            # and none, every frame, and Kivy's clock would never settle.
            return
        if self.texture is not None and self.text:
            screen = hidden_screen(self)
            if screen is not None:
                # On a screen that is not showing (a theme switch reaches every built screen):
                # laid out when that screen is shown next (kiosk/ui/hidden.py), not now.
                defer(screen, self._trigger_texture)
                return
        if (self.texture is not None and Clock.frames_displayed >= self._on_screen_from
                and (TEXT_BUDGET.exhausted() or switched_this_frame())):
            # This frame has laid out its share of text already (a theme switch re-lays out every
            # label on the screen at once), or a switch's own rules fill it: keep showing the old
            # texture one frame longer.  Not a label whose text has not been on screen yet: its
            # texture is a first try (wrapped at Kivy's default width of 100 px, before its
            # layout gave it its own, or made while its screen was built out of sight), and
            # keeping it would show that -- the kiosk's first frame had the home screen's three
            # tiles at height 0, the items screen's first its heading 720 px high, behind such labels.
            Clock.schedule_once(lambda _dt: self._trigger_texture(), 0)
            return
        t0 = TEXT_BUDGET.start()
        core = getattr(self, "_label", None)
        if core is not None:
            core.texture = None
            if not self.markup:
                core.options["color"] = _WHITE        # tinted by the canvas (see above)
        super().texture_update(*largs)
        TEXT_BUDGET.charge_since(t0)
        if self._on_screen_from == _NOT_YET and self.texture is not None and self.get_root_window() is not None:
            # Kivy counts a displayed frame (Clock.frames_displayed) just before drawing it:
            # this texture is on screen from the next count on.
            self._on_screen_from = Clock.frames_displayed + 1


_INK_ONLY = frozenset(("color", "disabled_color"))
_NOT_YET = 1 << 62          # FreshLabel._on_screen_from until its text is drawn in the window
_WHITE = (1.0, 1.0, 1.0, 1.0)

# Text laid out by FreshLabels in one frame, at most (issue 19): a theme switch re-lays out every
# label of the screen, ~20 ms of the main thread on this x86 machine, ~80 ms on a Raspberry Pi 4
# core -- two and a half frames in one.  Past the budget, labels that already show something
# keep it one frame longer and are laid out in the next frame; a label showing nothing yet never
# waits.
TEXT_BUDGET = FrameBudget(0.0015)


class SkipWhenClear:
    """Mixin: while the widget's opacity is 0 its canvas is taken out of its parent's canvas.

    Kivy still draws a fully transparent widget, and with a software rasterizer every one of its
    pixels costs as much as a visible one: the hidden idle-timeout overlay (a full-window veil,
    a card, buttons) alone added ~18 ms of rasterizing to every frame of the items list.  The
    widget stays in the widget tree (ids, texts, touch handling are unchanged); only drawing
    stops, and an opacity-0 widget draws nothing visible anyway."""

    def __init__(self, **kw):
        self._sync_drawn = Clock.create_trigger(self._sync_canvas, -1)     # before the next draw
        super().__init__(**kw)
        self.fbind("opacity", self._sync_drawn)
        self.fbind("parent", self._sync_drawn)
        self._sync_drawn()

    def _sync_canvas(self, *_a) -> None:
        parent = self.parent
        if parent is None or self.canvas is None:
            return
        host = parent.canvas
        inside = host.indexof(self.canvas) != -1
        if self.opacity == 0 and inside:
            host.remove(self.canvas)
        elif self.opacity != 0 and not inside:
            # Back in its place among its siblings: just under the nearest one drawn after it.
            siblings = parent.children
            mine = siblings.index(self) if self in siblings else 0
            for above in reversed(siblings[:mine]):
                at = host.indexof(above.canvas)
                if at != -1:
                    host.insert(at, self.canvas)
                    return
            host.add(self.canvas)


class KLabel(FreshLabel):
    """Body text: themed, wraps to its width, grows to fit its text."""

    role = StringProperty("ink")        # "ink", "muted", or a fill role's ink ("accent_ink", ...)
    size_key = StringProperty("font_m")
    bold = BooleanProperty(False)


class Pressable(ButtonBehavior, BoxLayout):
    """Anything tappable: themed fill by ``role``, debounced release.  Subclasses add content."""

    text = StringProperty("")
    icon = StringProperty("")
    role = StringProperty("plain")      # "accent", "plain", "ok", "warn", "fail", "ghost"
    size_key = StringProperty("font_l")
    fill = ColorProperty((1, 1, 1, 1))
    ink = ColorProperty((0, 0, 0, 1))
    outline = ColorProperty((0, 0, 0, 0))
    selected = BooleanProperty(False)
    icon_size = NumericProperty(0)
    fixed_height = NumericProperty(0)   # 0: grow with the theme's button height and the text
    _last_release = 0.0

    def __init__(self, **kw):
        super().__init__(**kw)
        app = App.get_running_app()
        self._recolour_when_shown = Clock.create_trigger(self._recolour, -1)
        if app is not None and getattr(app, "theme", None) is not None:
            app.theme.bind(colour_revision=self._recolour)   # after *all* roles changed (theme.py)
        self.bind(role=self._recolour, selected=self._recolour)
        self._recolour()

    def _recolour(self, *_a) -> None:
        screen = hidden_screen(self)
        if screen is not None:      # a contrast switch: the buttons of screens not showing wait
            defer(screen, self._recolour_when_shown)
            return
        app = App.get_running_app()
        theme = getattr(app, "theme", None)
        if theme is None:
            return
        if self.role == "ghost":
            self.fill, self.ink, self.outline = theme.surface, theme.ink, theme.line
        elif self.role == "plain":
            self.fill, self.ink, self.outline = theme.surface, theme.ink, theme.line
            if self.selected:
                self.fill, self.ink = theme.accent, theme.accent_ink
        else:
            self.fill = getattr(theme, self.role)
            self.ink = getattr(theme, f"{self.role}_ink")
            self.outline = (0, 0, 0, 0) if theme.name != "high_contrast" else theme.ink

    def on_release(self) -> None:
        pass

    def dispatch(self, event_type, *args, **kwargs):  # noqa: ANN001,ANN201 - Kivy signature
        if event_type == "on_release":
            now = time.monotonic()
            if now - self._last_release < DEBOUNCE_S:
                return True
            self._last_release = now
        return super().dispatch(event_type, *args, **kwargs)


class KButton(Pressable):
    """A themed button with an optional icon left of its text."""

    fit_words = BooleanProperty(False)    # shrink the type so no word breaks mid-word (narrow rows)


class Tile(Pressable):
    """A large home-screen choice: icon above a word, and a short hint below."""

    hint = StringProperty("")
    show_hint = BooleanProperty(True)     # False where the screen has no room for it (home, large text)


class ClearableBox(SkipWhenClear, BoxLayout):
    """A BoxLayout that is often hidden with ``opacity: 0`` (an empty-list hint, say)."""


class Card(BoxLayout):
    """A surface panel with rounded corners."""

    fill_role = StringProperty("surface")


class Pictogram(Icon):
    """Where something is on the kiosk: the device drawn as an icon (``tap_card``, ``place_items``,
    ``drop_slot``) and an arrow pointing to where it is on this kiosk model (``[guide]``:
    ``below``, ``left``, ``right``, ``above``; ``none`` draws no arrow).  Commercial kiosks show
    this; a patron who does not read the text still finds the reader."""

    where = StringProperty("below")

    def __init__(self, **kw):
        super().__init__(**kw)
        self.bind(where=self._redraw)

    def _redraw(self, *_a) -> None:
        """The device in 3/4 of the box, the arrow in the quarter on the ``where`` side."""
        full = min(self.width, self.height, self.max_size or self.width)
        sides = {"below": (0, -1), "above": (0, 1), "left": (-1, 0), "right": (1, 0)}
        if full <= 0 or not self.kind or self.where not in sides:
            super()._redraw()
            return
        dx, dy = sides[self.where]
        s = full * 0.74
        cx, cy = self.center
        shift = (full - s) / 2
        self.canvas.clear()
        self._rot = None
        ox, oy = cx - s / 2 - dx * shift, cy - s / 2 - dy * shift      # the device, away from the arrow

        def P(*xy: float) -> list[float]:
            return [ox + v * s if i % 2 == 0 else oy + v * s for i, v in enumerate(xy)]

        from kivy.graphics import Color, Line

        from kiosk.ui.icons import _ICONS

        w = max(1.2, s * self.stroke)
        with self.canvas:
            self._colour = Color(*self.color)
            _ICONS[self.kind](P, s, w, ox, oy)
            # the arrow: from the device's edge to the box's edge, pointing where the device is
            x0, y0 = cx + dx * (full / 2 - shift * 1.9), cy + dy * (full / 2 - shift * 1.9)
            x1, y1 = cx + dx * full / 2, cy + dy * full / 2
            head = full * 0.07
            lw = max(1.5, full * 0.035)
            Line(points=[x0, y0, x1, y1], width=lw, cap="round")
            Line(points=[x1 - dx * head + dy * head, y1 - dy * head + dx * head, x1, y1,
                         x1 - dx * head - dy * head, y1 - dy * head - dx * head], width=lw, cap="round", joint="round")


class Banner(BoxLayout):
    """A full-width strip for offline / warning notices: icon + text, in a fill role."""

    text = StringProperty("")
    icon = StringProperty("offline")
    role = StringProperty("warn")


def too_small(root, minimum: int = TOUCH_MIN) -> list[str]:
    """Tappable widgets under ``root`` smaller than ``minimum`` px (for tests and the tour)."""
    bad = []
    for w in root.walk(restrict=True):
        if isinstance(w, ButtonBehavior) and w.get_root_window() is not None and not w.disabled \
                and w.opacity > 0 and (w.width < minimum or w.height < minimum):
            bad.append(f"{type(w).__name__}({getattr(w, 'text', '')!r}) {w.width:.0f}x{w.height:.0f}")
    return bad


Builder.load_file(str(Path(__file__).with_name("widgets.kv")))
