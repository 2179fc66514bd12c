"""Icons drawn with Kivy canvas instructions: crisp at any size, recoloured by the theme, no files.

Each icon is a small function drawing into a unit box (0..1 x 0..1) scaled to the widget.  The
shapes carry meaning on their own, so item status never depends on colour alone (a tick, a
cross, an exclamation mark, a spinner): WCAG 1.4.1.
"""

from __future__ import annotations

from kivy.graphics import Color, Ellipse, Line, PopMatrix, PushMatrix, Rotate, RoundedRectangle
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
        self.bind(pos=self._redraw, size=self._redraw, kind=self._redraw, color=self._redraw,
                  max_size=self._redraw)
        self.bind(angle=self._turn)
        self._rot: Rotate | None = None

    def _turn(self, *_a) -> None:
        if self._rot is not None:
            self._rot.angle = -self.angle
            return
        if self.kind == "in_progress":
            self._redraw()

    def _redraw(self, *_a) -> None:
        self.canvas.clear()
        self._rot = None
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
            Color(*self.color)
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


_ICONS = {
    "borrow": _borrow, "return": _return, "account": _account, "card": _card, "done": _done,
    "refused": _refused, "needs_staff": _needs_staff, "seen": _seen, "in_progress": _in_progress,
    "contrast": _contrast, "hold": _hold, "offline": _offline, "clock": _clock,
    "out_of_service": _tools, "receipt": _receipt, "goodbye": _wave,
}
ICON_NAMES = tuple(_ICONS)

__all__ = ["ICON_NAMES", "Icon"]
