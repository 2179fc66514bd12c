"""A label that has its text but not yet its width is not laid out (kiosk/ui/widgets.py, issue 19).

A list row gets its data before its layout: Kivy would lay the text out at width 0 (one glyph per
line, the costliest layout there is) and again at the real width a moment later.  The time saved
is a benchmark (bench/bench_ui.py counts text layouts); here the behaviour.
"""

from __future__ import annotations

import os

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")

from kivy.uix.label import Label  # noqa: E402

from kiosk.ui.widgets import FreshLabel  # noqa: E402


def test_no_layout_at_width_zero_and_one_at_the_real_width(monkeypatch):
    laid_out: list[object] = []
    monkeypatch.setattr(Label, "texture_update", lambda self, *_a: laid_out.append(self.text_size[0]))
    label = FreshLabel(text="Due back January 3, 2027", text_size=(0, None))
    laid_out.clear()
    label.texture_update()
    assert laid_out == []                                 # nothing laid out at width 0 ...
    assert label.texture is None and list(label.texture_size) == [0, 0]   # ... and nothing stale shown
    label.text_size = (373, None)
    label.texture_update()
    assert laid_out == [373]                              # laid out once, at the real width


def test_unwrapped_and_empty_labels_are_laid_out_as_before(monkeypatch):
    laid_out: list[object] = []
    monkeypatch.setattr(Label, "texture_update", lambda self, *_a: laid_out.append(self.text))
    FreshLabel(text="Borrowed", text_size=(None, None)).texture_update()      # a badge: no wrapping
    FreshLabel(text="", text_size=(0, None)).texture_update()                # empty: Kivy's own path
    assert laid_out == ["Borrowed", ""]
