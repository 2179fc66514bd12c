"""Type that fits its box: a font size at which no single word is wider than the label.

Kivy wraps a word that is wider than its label between two letters: the German tally
"Zurückgegeben: 2" read "Zurückgegeb / en: 2" in the narrow tally card.  A heading that must stay
one word per line shrinks instead, down to a floor (body text stays >= 18 px, issue 14).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

Measure = Callable[[str, float, bool], float]


@functools.lru_cache(maxsize=1024)
def _kivy_width(word: str, size: float, bold: bool) -> float:
    """The width of ``word`` set in Roboto at ``size`` px.  Cached: a kv rule asks again at every
    width its label passes through while a screen is laid out (17 times before the first frame)."""
    from kivy.core.text import Label as CoreLabel

    return float(CoreLabel(font_size=size, bold=bold).get_extents(word)[0])


def word_width(word: str, size: float, bold: bool = False) -> float:
    """The width of ``word`` in Roboto at ``size`` px (cached; see :func:`_kivy_width`)."""
    return _kivy_width(word, size, bold)


def fit_font_size(text: str, width: float, size: float, floor: float, bold: bool = False,
                  measure: Measure = _kivy_width) -> float:
    """``size``, or smaller (not below ``floor``) so that the widest word of ``text`` fits ``width``."""
    words = (text or "").split()
    if not words or width <= 1:
        return size
    widest = max(measure(w, size, bold) for w in words)
    if widest <= width:
        return size
    return max(floor, size * width / widest * 0.97)


def fit_line_size(text: str, width: float, size: float, floor: float, bold: bool = False,
                  measure: Measure = _kivy_width) -> float:
    """``size``, or smaller (not below ``floor``) so that the whole of ``text`` fits one line of
    ``width`` (the library's name in the header: it wrapped out of the bar in a portrait window)."""
    if not text or width <= 1:
        return size
    w = measure(text, size, bold)
    if w <= width:
        return size
    return max(floor, size * width / w * 0.97)
