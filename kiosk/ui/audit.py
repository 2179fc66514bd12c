"""A runtime accessibility audit of what is on the window right now (tests and the tour).

Checks the *drawn* result rather than the palette: for every visible label, the colour it is
drawn in against the background actually painted under it (found by walking up its parents to
the nearest canvas shape that covers the label's centre), its font size, and every tappable
widget's size.  The palette tests (tests/test_ui_theme.py) prove the colour pairs are good;
this proves the screens use them -- including after a patron switches contrast or text size in
the middle of a session, when a value read once at build time would leave dark text on black.
"""

from __future__ import annotations

from dataclasses import dataclass

from kivy.graphics import Color, Ellipse, Rectangle, RoundedRectangle
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk.ui.palette import TOUCH_MIN, contrast_ratio
from kiosk.ui.widgets import too_small


@dataclass(frozen=True)
class Finding:
    """One label (or target) that fails a rule, in words a failing test can print."""

    rule: str
    text: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.text[:40]!r} {self.detail}"


def _shapes(widget):  # noqa: ANN001, ANN202
    """(rgba, window rect) of each filled shape ``widget`` draws under its children, in order."""
    out = []
    colour = None
    for group in (widget.canvas.before, widget.canvas):
        if group is None:
            continue
        for ins in group.children:
            if isinstance(ins, Color):
                colour = tuple(ins.rgba)
            elif isinstance(ins, (Rectangle, RoundedRectangle, Ellipse)) and colour is not None:
                x, y = ins.pos
                w, h = ins.size
                if w <= 0 or h <= 0 or colour[3] <= 0.05:
                    continue
                x0, y0 = widget.to_window(x, y)
                x1, y1 = widget.to_window(x + w, y + h)
                out.append((colour, (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))))
    return out


def background_of(label, window_bg) -> tuple:  # noqa: ANN001
    """The colour painted under the centre of ``label``: its own canvas.before shapes first
    (a badge, a chip), then each parent's, nearest first; ``window_bg`` if nothing covers it."""
    cx, cy = label.to_window(*label.center)
    w = label
    while isinstance(w, Widget):
        hit = None
        for colour, (x0, y0, x1, y1) in (_own_shapes(w) if w is label else _shapes(w)):
            if x0 <= cx <= x1 and y0 <= cy <= y1:
                hit = colour                          # the last shape drawn wins
        if hit is not None:
            return hit
        parent = w.parent
        if parent is None or parent is w:
            break
        w = parent
    return window_bg


def _own_shapes(label):  # noqa: ANN001, ANN202
    """A label's own canvas.before only (its canvas is the text texture itself)."""
    out = []
    colour = None
    if label.canvas.before is None:
        return out
    for ins in label.canvas.before.children:
        if isinstance(ins, Color):
            colour = tuple(ins.rgba)
        elif isinstance(ins, (Rectangle, RoundedRectangle, Ellipse)) and colour is not None:
            x, y = ins.pos
            w, h = ins.size
            if w > 0 and h > 0 and colour[3] > 0.05:
                x0, y0 = label.to_window(x, y)
                x1, y1 = label.to_window(x + w, y + h)
                out.append((colour, (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))))
    return out


def _shown(widget, window) -> bool:  # noqa: ANN001
    """On the window, not hidden by opacity anywhere up the tree, and with its centre inside
    the window and inside every clipping parent (a list's rows scrolled out of sight)."""
    if widget.get_root_window() is None:
        return False
    cx, cy = widget.to_window(*widget.center)
    if not (0 <= cx <= window.width and 0 <= cy <= window.height):
        return False
    w = widget
    while isinstance(w, Widget):
        if w.opacity <= 0.01 or w.width <= 0 or w.height <= 0:
            return False
        parent = w.parent
        if isinstance(parent, ScrollView):        # RecycleViews too (whichever copy of Kivy's module)
            px0, py0 = parent.to_window(parent.x, parent.y)
            px1, py1 = parent.to_window(parent.right, parent.top)
            if not (px0 <= cx <= px1 and py0 <= cy <= py1):
                return False
        w = parent
    return True


def visible_labels(roots, window) -> list:  # noqa: ANN001
    """Labels with text that a patron can see under ``roots``."""
    out = []
    for root in roots:
        for w in root.walk(restrict=True):
            if isinstance(w, Label) and w.text.strip() and _shown(w, window):
                out.append(w)
    return out


def audit(roots, window, *, minimum_contrast: float, min_font_px: float = 0.0,
          window_bg=(0, 0, 0, 1), touch_min: int = TOUCH_MIN) -> list[Finding]:  # noqa: ANN001
    """Every rule broken under ``roots`` right now."""
    found: list[Finding] = []
    for label in visible_labels(roots, window):
        bg = background_of(label, window_bg)
        fg = tuple(label.color)
        if fg[3] < 1:                      # a translucent text colour reads as a mix
            fg = tuple(fg[i] * fg[3] + bg[i] * (1 - fg[3]) for i in range(3)) + (1.0,)
        ratio = contrast_ratio(fg, bg)
        if ratio < minimum_contrast:
            found.append(Finding("contrast", label.text,
                                 f"{ratio:.2f}:1 < {minimum_contrast}:1 (text {_hex(fg)} on {_hex(bg)})"))
        if label.font_size < min_font_px:
            found.append(Finding("font", label.text, f"{label.font_size:.1f}px < {min_font_px}px"))
    for root in roots:
        for bad in too_small(root, touch_min):
            found.append(Finding("target", bad, f"< {touch_min}px"))
    return found


def font_sizes(roots, window) -> dict[int, tuple[str, float]]:  # noqa: ANN001
    """{id(label): (text, font size)} of the visible labels: to compare before/after a switch."""
    return {id(w): (w.text, float(w.font_size)) for w in visible_labels(roots, window)}


def _hex(c) -> str:  # noqa: ANN001
    return "#" + "".join(f"{round(v * 255):02x}" for v in c[:3])
