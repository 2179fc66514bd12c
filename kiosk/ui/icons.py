"""Icons drawn with Kivy canvas instructions: crisp at any size, recoloured by the theme, no files.

Each icon is a small function drawing into a unit box (0..1 x 0..1) scaled to the widget.  The
shapes carry meaning on their own, so item status never depends on colour alone (a tick, a
cross, an exclamation mark, a spinner): WCAG 1.4.1.
"""

from __future__ import annotations

from kivy.graphics import Color, Ellipse, Line, PopMatrix, PushMatrix, Rectangle, Rotate, RoundedRectangle
from kivy.properties import ColorProperty, NumericProperty, StringProperty
from kivy.uix.widget import Widget


class Icon(Widget):
    """A named icon (``kind``) in ``color``; ``angle`` turns the spinner."""

    kind = StringProperty("")
    color = ColorProperty((0, 0, 0, 1))
    angle = NumericProperty(0)
    stroke = NumericProperty(0.075)     # line width as a fraction of the icon size
    max_size = NumericProperty(0)       # > 0: drawn at most this big, centred in a larger box

    def __init__(self, **kw):
        super().__init__(**kw)
        self.bind(pos=self._redraw, size=self._redraw, kind=self._redraw, max_size=self._redraw)
        self.bind(angle=self._turn, color=self._recolour)
        self._rot: Rotate | None = None
        self._colour: Color | None = None     # the one Color of the drawing: a new colour is set there

    def _recolour(self, *_a) -> None:
        """A contrast switch recolours every icon showing: one ``rgba`` set, not the whole shape
        built again (a redraw tessellates every line of the icon: ~13 of them in that frame)."""
        if self._colour is not None:
            self._colour.rgba = self.color
        else:
            self._redraw()

    def _turn(self, *_a) -> None:
        if self._rot is not None:
            self._rot.angle = -self.angle
            return
        if self.kind == "in_progress":
            self._redraw()

    def _redraw(self, *_a) -> None:
        self.canvas.clear()
        self._rot = self._colour = None
        s = min(self.width, self.height, self.max_size or self.width)
        if s <= 0 or not self.kind:
            return
        ox = self.x + (self.width - s) / 2
        oy = self.y + (self.height - s) / 2

        def P(*xy: float) -> list[float]:
            return [ox + v * s if i % 2 == 0 else oy + v * s for i, v in enumerate(xy)]

        w = max(1.2, s * self.stroke)
        draw = _ICONS.get(self.kind)
        with self.canvas:
            self._colour = Color(*self.color)
            if self.kind == "in_progress":
                PushMatrix()
                self._rot = Rotate(angle=-self.angle, origin=(ox + s / 2, oy + s / 2))
            if draw:
                draw(P, s, w, ox, oy)
            if self.kind == "in_progress":
                PopMatrix()


def _seg(s: float, part: float = 1.0) -> int:
    """Segments for a circle (or ``part`` of one) ``s`` px wide: enough that no chord strays a
    quarter pixel, far below Kivy's defaults (~180).  Every triangle costs setup time in a
    software rasterizer, and a spinning icon redraws the whole window 10 times a second.  (Arcs
    are drawn with mitred joints for the same reason: between such short segments a round
    joint looks the same and triples the triangles.)"""
    return max(6, int(min(64.0, max(16.0, s / 2)) * part))


def _book(P, s, w, ox, oy, x0=0.18, y0=0.12, x1=0.66, y1=0.80) -> None:
    Line(points=P(x0, y0, x1, y0, x1, y1, x0, y1), close=True, width=w, joint="round")
    Line(points=P(x0 + 0.09, y0, x0 + 0.09, y1), width=w * 0.7)


def _borrow(P, s, w, ox, oy) -> None:
    _book(P, s, w, ox, oy)
    # arrow leaving the book to the right: "take it home"
    Line(points=P(0.44, 0.46, 0.92, 0.46), width=w, cap="round")
    Line(points=P(0.78, 0.60, 0.92, 0.46, 0.78, 0.32), width=w, cap="round", joint="round")


def _return(P, s, w, ox, oy) -> None:
    _book(P, s, w, ox, oy, x0=0.34, x1=0.82)
    # arrow coming back into the book from the left
    Line(points=P(0.06, 0.46, 0.56, 0.46), width=w, cap="round")
    Line(points=P(0.42, 0.60, 0.56, 0.46, 0.42, 0.32), width=w, cap="round", joint="round")


def _account(P, s, w, ox, oy) -> None:
    # head, and shoulders as the top half of an ellipse below it
    Line(circle=(ox + 0.5 * s, oy + 0.70 * s, 0.15 * s, 0, 360, _seg(s, 0.5)), width=w, joint="miter")
    Line(ellipse=(ox + 0.16 * s, oy - 0.36 * s, 0.68 * s, 0.86 * s, -90, 90, _seg(s, 0.5)), width=w, joint="miter")


def _card(P, s, w, ox, oy) -> None:
    Line(rounded_rectangle=(ox + 0.08 * s, oy + 0.22 * s, 0.84 * s, 0.56 * s, 0.07 * s), width=w)
    Line(points=P(0.20, 0.40, 0.52, 0.40), width=w, cap="round")
    Line(points=P(0.20, 0.56, 0.40, 0.56), width=w, cap="round")
    # contactless waves
    for r in (0.10, 0.18):
        Line(circle=(ox + 0.66 * s, oy + 0.50 * s, r * s, 30, 150, _seg(s, 0.34)), width=w * 0.8, joint="miter")


def _done(P, s, w, ox, oy) -> None:
    Line(points=P(0.18, 0.52, 0.42, 0.28, 0.84, 0.74), width=w * 1.3, cap="round", joint="round")


def _refused(P, s, w, ox, oy) -> None:
    Line(points=P(0.22, 0.22, 0.78, 0.78), width=w * 1.3, cap="round")
    Line(points=P(0.22, 0.78, 0.78, 0.22), width=w * 1.3, cap="round")


def _needs_staff(P, s, w, ox, oy) -> None:
    Line(points=P(0.5, 0.90, 0.94, 0.12, 0.06, 0.12), close=True, width=w, joint="round")
    Line(points=P(0.5, 0.66, 0.5, 0.38), width=w * 1.2, cap="round")
    Ellipse(pos=(ox + 0.45 * s, oy + 0.20 * s), size=(0.10 * s, 0.10 * s), segments=_seg(s, 0.25))


def _seen(P, s, w, ox, oy) -> None:
    Line(circle=(ox + 0.5 * s, oy + 0.5 * s, 0.32 * s, 0, 360, _seg(s)), width=w, joint="miter")


def _in_progress(P, s, w, ox, oy) -> None:
    Line(circle=(ox + 0.5 * s, oy + 0.5 * s, 0.34 * s, 0, 270, _seg(s, 0.75)), width=w * 1.2, cap="round", joint="miter")


def _contrast(P, s, w, ox, oy) -> None:
    Line(circle=(ox + 0.5 * s, oy + 0.5 * s, 0.38 * s, 0, 360, _seg(s)), width=w, joint="miter")
    Ellipse(pos=(ox + 0.12 * s, oy + 0.12 * s), size=(0.76 * s, 0.76 * s), angle_start=0, angle_end=180,
            segments=_seg(s, 0.5))


def _hold(P, s, w, ox, oy) -> None:
    # a bookmark ribbon on a book: "someone is waiting for this"
    _book(P, s, w, ox, oy, x0=0.16, x1=0.76)
    Line(points=P(0.46, 0.80, 0.46, 0.40, 0.56, 0.50, 0.66, 0.40, 0.66, 0.80), width=w * 0.8,
         joint="round")


def _offline(P, s, w, ox, oy) -> None:
    # a broken link
    Line(rounded_rectangle=(ox + 0.06 * s, oy + 0.36 * s, 0.38 * s, 0.28 * s, 0.12 * s), width=w)
    Line(rounded_rectangle=(ox + 0.56 * s, oy + 0.36 * s, 0.38 * s, 0.28 * s, 0.12 * s), width=w)
    Line(points=P(0.47, 0.22, 0.53, 0.78), width=w * 0.8, cap="round")


def _clock(P, s, w, ox, oy) -> None:
    Line(circle=(ox + 0.5 * s, oy + 0.5 * s, 0.38 * s, 0, 360, _seg(s)), width=w, joint="miter")
    Line(points=P(0.5, 0.74, 0.5, 0.5, 0.68, 0.40), width=w, cap="round", joint="round")


def _tools(P, s, w, ox, oy) -> None:
    # a closed sign: horizontal bar in a circle ("not in service")
    Line(circle=(ox + 0.5 * s, oy + 0.5 * s, 0.40 * s, 0, 360, _seg(s)), width=w, joint="miter")
    RoundedRectangle(pos=(ox + 0.24 * s, oy + 0.43 * s), size=(0.52 * s, 0.14 * s), radius=[0.05 * s], segments=4)


def _receipt(P, s, w, ox, oy) -> None:
    zig = [0.22, 0.10]
    for i in range(1, 7):
        zig += [0.22 + i * 0.56 / 6, 0.10 + (0.06 if i % 2 else 0)]
    Line(points=P(*zig, 0.78, 0.90, 0.22, 0.90), close=True, width=w * 0.8, joint="round")
    for y in (0.70, 0.54, 0.38):
        Line(points=P(0.34, y, 0.66, y), width=w * 0.7, cap="round")


def _wave(P, s, w, ox, oy) -> None:
    # a hand-wave / goodbye: a smile in a circle
    Line(circle=(ox + 0.5 * s, oy + 0.5 * s, 0.40 * s, 0, 360, _seg(s)), width=w, joint="miter")
    Line(circle=(ox + 0.5 * s, oy + 0.5 * s, 0.22 * s, 120, 240, _seg(s, 0.34)), width=w, cap="round", joint="miter")
    Ellipse(pos=(ox + 0.33 * s, oy + 0.56 * s), size=(0.09 * s, 0.09 * s), segments=_seg(s, 0.25))
    Ellipse(pos=(ox + 0.58 * s, oy + 0.56 * s), size=(0.09 * s, 0.09 * s), segments=_seg(s, 0.25))


def _gear(P, s, w, ox, oy) -> None:
    # settings: a cog (ring with eight teeth)
    import math

    cx, cy = ox + 0.5 * s, oy + 0.5 * s
    Line(circle=(cx, cy, 0.27 * s, 0, 360, _seg(s)), width=w, joint="miter")
    Line(circle=(cx, cy, 0.09 * s, 0, 360, _seg(s, 0.5)), width=w * 0.8, joint="miter")
    for i in range(8):
        a = i * math.pi / 4
        Line(points=[cx + 0.30 * s * math.cos(a), cy + 0.30 * s * math.sin(a),
                     cx + 0.42 * s * math.cos(a), cy + 0.42 * s * math.sin(a)], width=w * 1.3, cap="square")


def _pulse(P, s, w, ox, oy) -> None:
    # diagnostics: a heart-beat line in a frame ("is everything alive?")
    Line(rounded_rectangle=(ox + 0.08 * s, oy + 0.16 * s, 0.84 * s, 0.68 * s, 0.08 * s), width=w * 0.8)
    Line(points=P(0.14, 0.48, 0.34, 0.48, 0.42, 0.70, 0.54, 0.28, 0.62, 0.48, 0.86, 0.48), width=w,
         joint="round", cap="round")


def _list(P, s, w, ox, oy) -> None:
    # journal: lines of a list with bullets
    for y in (0.74, 0.50, 0.26):
        Ellipse(pos=(ox + 0.12 * s, oy + (y - 0.05) * s), size=(0.10 * s, 0.10 * s), segments=_seg(s, 0.25))
        Line(points=P(0.32, y, 0.88, y), width=w, cap="round")


def _bars(P, s, w, ox, oy) -> None:
    # statistics: a bar chart on an axis
    Line(points=P(0.12, 0.88, 0.12, 0.12, 0.90, 0.12), width=w * 0.8, joint="round")
    for x, h in ((0.28, 0.34), (0.48, 0.62), (0.68, 0.46)):
        Rectangle(pos=(ox + x * s, oy + 0.16 * s), size=(0.13 * s, h * s))


def _restart(P, s, w, ox, oy) -> None:
    # restart: a circular arrow
    Line(circle=(ox + 0.5 * s, oy + 0.5 * s, 0.34 * s, 40, 330, _seg(s, 0.8)), width=w, cap="round", joint="miter")
    Line(points=P(0.50, 0.98, 0.62, 0.84, 0.46, 0.74), width=w, cap="round", joint="round")


def _keypad(P, s, w, ox, oy) -> None:
    # a 3x4 keypad: "type your PIN here"
    for row in range(4):
        for col in range(3):
            RoundedRectangle(pos=(ox + (0.16 + col * 0.24) * s, oy + (0.08 + row * 0.22) * s),
                             size=(0.18 * s, 0.16 * s), radius=[0.03 * s], segments=4)


def _speaker(P, s, w, ox, oy) -> None:
    Line(points=P(0.10, 0.38, 0.26, 0.38, 0.46, 0.20, 0.46, 0.80, 0.26, 0.62, 0.10, 0.62), close=True,
         width=w * 0.9, joint="round")
    for r in (0.16, 0.30):
        Line(circle=(ox + 0.50 * s, oy + 0.50 * s, r * s, 50, 130, _seg(s, 0.3)), width=w * 0.9, cap="round",
             joint="miter")


def _speaker_off(P, s, w, ox, oy) -> None:
    Line(points=P(0.10, 0.38, 0.26, 0.38, 0.46, 0.20, 0.46, 0.80, 0.26, 0.62, 0.10, 0.62), close=True,
         width=w * 0.9, joint="round")
    Line(points=P(0.60, 0.36, 0.88, 0.64), width=w, cap="round")
    Line(points=P(0.60, 0.64, 0.88, 0.36), width=w, cap="round")


# ---- pictograms: where things are on the kiosk (kiosk/ui/widgets.py Pictogram adds the arrow) ----
def _tap_card(P, s, w, ox, oy) -> None:
    # a card held flat just above a reader, with contactless waves rising from the reader
    Line(rounded_rectangle=(ox + 0.08 * s, oy + 0.04 * s, 0.84 * s, 0.20 * s, 0.05 * s), width=w)
    Ellipse(pos=(ox + 0.46 * s, oy + 0.10 * s), size=(0.08 * s, 0.08 * s), segments=_seg(s, 0.25))
    for r in (0.10, 0.17):
        Line(circle=(ox + 0.5 * s, oy + 0.16 * s, r * s, -40, 40, _seg(s, 0.25)), width=w * 0.55, cap="round",
             joint="miter")
    Line(rounded_rectangle=(ox + 0.16 * s, oy + 0.46 * s, 0.68 * s, 0.44 * s, 0.05 * s), width=w)
    Line(points=P(0.26, 0.62, 0.52, 0.62), width=w * 0.8, cap="round")
    Line(points=P(0.26, 0.76, 0.42, 0.76), width=w * 0.8, cap="round")


def _place_items(P, s, w, ox, oy) -> None:
    # the pad (a flat plate) with a stack of two books lying on it
    Line(points=P(0.04, 0.14, 0.96, 0.14), width=w * 1.2, cap="round")
    Line(rounded_rectangle=(ox + 0.10 * s, oy + 0.18 * s, 0.80 * s, 0.06 * s, 0.02 * s), width=w * 0.7)
    Line(rectangle=(ox + 0.22 * s, oy + 0.28 * s, 0.56 * s, 0.14 * s), width=w)
    Line(rectangle=(ox + 0.28 * s, oy + 0.46 * s, 0.48 * s, 0.14 * s), width=w)
    Line(rectangle=(ox + 0.32 * s, oy + 0.64 * s, 0.40 * s, 0.12 * s), width=w)


def _place_returns(P, s, w, ox, oy) -> None:
    _place_items(P, s, w, ox, oy)


def _drop_slot(P, s, w, ox, oy) -> None:
    # a wall with a slot, and a book going in
    Line(rounded_rectangle=(ox + 0.06 * s, oy + 0.06 * s, 0.88 * s, 0.88 * s, 0.06 * s), width=w * 0.8)
    RoundedRectangle(pos=(ox + 0.18 * s, oy + 0.30 * s), size=(0.64 * s, 0.10 * s), radius=[0.03 * s], segments=4)
    Line(rectangle=(ox + 0.34 * s, oy + 0.46 * s, 0.32 * s, 0.36 * s), width=w)
    Line(points=P(0.5, 0.76, 0.5, 0.54), width=w * 0.8, cap="round")
    Line(points=P(0.43, 0.62, 0.5, 0.53, 0.57, 0.62), width=w * 0.8, cap="round", joint="round")


def _arrow_up(P, s, w, ox, oy) -> None:
    Line(points=P(0.5, 0.16, 0.5, 0.84), width=w, cap="round")
    Line(points=P(0.24, 0.58, 0.5, 0.86, 0.76, 0.58), width=w, cap="round", joint="round")


def _arrow_down(P, s, w, ox, oy) -> None:
    Line(points=P(0.5, 0.84, 0.5, 0.16), width=w, cap="round")
    Line(points=P(0.24, 0.42, 0.5, 0.14, 0.76, 0.42), width=w, cap="round", joint="round")


_ICONS = {
    "borrow": _borrow, "return": _return, "account": _account, "card": _card, "done": _done,
    "refused": _refused, "needs_staff": _needs_staff, "seen": _seen, "in_progress": _in_progress,
    "contrast": _contrast, "hold": _hold, "offline": _offline, "clock": _clock,
    "out_of_service": _tools, "receipt": _receipt, "goodbye": _wave,
    "settings": _gear, "diagnostics": _pulse, "journal": _list, "statistics": _bars, "restart": _restart,
    "keypad": _keypad, "speaker": _speaker, "speaker_off": _speaker_off,
    "arrow_up": _arrow_up, "arrow_down": _arrow_down,
    "tap_card": _tap_card, "place_items": _place_items, "place_returns": _place_returns, "drop_slot": _drop_slot,
}
ICON_NAMES = tuple(_ICONS)

__all__ = ["ICON_NAMES", "Icon"]
