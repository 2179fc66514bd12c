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


def test_a_label_squeezed_to_width_zero_keeps_its_size_so_layouts_settle():
    """A button squeezed until its label wraps one glyph a line (the 'Finish' button of the demo
    window beside its simulation panel): the label's height sets the button's, which sets the
    label's width back to 0.  Had the label dropped its texture size at width 0, button and label
    would swing between two layouts every frame ("too much iteration" from Kivy's clock)."""
    label = FreshLabel(text="Finish", text_size=(10, None))
    label.texture_update()
    tall = tuple(label.texture_size)
    assert tall[1] > 0
    label.text_size = (0, None)
    label.texture_update()
    assert tuple(label.texture_size) == tall             # unchanged: nothing for the layout to undo


def test_unwrapped_and_empty_labels_are_laid_out_as_before(monkeypatch):
    laid_out: list[object] = []
    monkeypatch.setattr(Label, "texture_update", lambda self, *_a: laid_out.append(self.text))
    FreshLabel(text="Borrowed", text_size=(None, None)).texture_update()      # a badge: no wrapping
    FreshLabel(text="", text_size=(0, None)).texture_update()                # empty: Kivy's own path
    assert laid_out == ["Borrowed", ""]


def test_a_colour_change_alone_lays_nothing_out_and_the_canvas_carries_it():
    """A contrast switch changes every label's colour: the text is rendered white and tinted by
    the canvas's Color, so no label is laid out, rasterised and uploaded again for it -- and no kv
    rule runs for it either: the label keeps its Color itself."""
    from kivy.graphics import Color

    label = FreshLabel(text="Borrowed", color=(0, 0, 0, 1))
    triggered: list[int] = []
    label._trigger_texture = lambda *_a: triggered.append(1)
    label.color = (1, 1, 0, 1)
    assert triggered == []                                   # colour: no new texture
    tint = [i for i in label.canvas.children if isinstance(i, Color)]
    assert len(tint) == 1 and tuple(tint[0].rgba) == (1, 1, 0, 1)   # ... the canvas draws it yellow
    label.disabled = True
    assert tuple(tint[0].rgba) == tuple(label.disabled_color)
    label.disabled, label.markup = False, True
    assert tuple(tint[0].rgba) == (1, 1, 1, 1)               # markup: its spans carry their colours
    label.font_size = 31
    assert triggered                                         # a size change still lays it out


def test_the_text_is_drawn_centred_in_the_label_wherever_it_moves():
    """Kivy's Label canvas (the text's Rectangle, centred, whole pixels), kept by the label."""
    from kivy.graphics import Rectangle

    label = FreshLabel(text="Borrowed", size_hint=(None, None), size=(200, 40), pos=(10, 20))
    glyphs = [i for i in label.canvas.children if isinstance(i, Rectangle)]
    assert len(glyphs) == 1
    label.texture_size = (81, 17)
    assert tuple(glyphs[0].size) == (81, 17) and tuple(glyphs[0].pos) == (69, 31)   # 110-40.5, 40-8.5
    label.pos = (100, 0)
    assert tuple(glyphs[0].pos) == (159, 11)
    label.size = (300, 60)
    assert tuple(glyphs[0].pos) == (209, 21)


class _FakeTexture:
    size = (10, 10)


def _no_drawing(monkeypatch) -> None:  # noqa: ANN001
    """A fake texture stands for "shows something already"; it must not reach a Rectangle
    (without a GL context Kivy's graphics would refuse it), so labels made after this draw none."""
    monkeypatch.setattr(FreshLabel, "_retexture", lambda *_a: None)


def test_a_frame_lays_out_its_share_of_text_and_the_rest_waits_one_frame(monkeypatch):
    """A theme switch re-lays out every label at once; past the per-frame budget a label that
    already shows something keeps it one frame longer, and one that shows nothing never waits."""
    from kivy.clock import Clock

    from kiosk.ui import widgets

    laid_out: list[str] = []
    later: list[object] = []
    monkeypatch.setattr(Label, "texture_update", lambda self, *_a: laid_out.append(self.text))
    monkeypatch.setattr(widgets.Clock, "schedule_once", lambda fn, timeout=0: later.append(fn))
    _no_drawing(monkeypatch)
    showing = FreshLabel(text="Due back January 3, 2027", text_size=(300, None))
    blank = FreshLabel(text="Borrowed", text_size=(None, None))
    laid_out.clear()
    showing.texture, blank.texture = _FakeTexture(), None
    showing._on_screen_from = 0        # drawn in the window (widgets.py FreshLabel.texture_update)

    budget = widgets.TEXT_BUDGET
    monkeypatch.setattr(budget, "frame", Clock.frames)
    monkeypatch.setattr(budget, "spent", budget.seconds)                      # spent
    showing.texture_update()
    blank.texture_update()
    assert laid_out == ["Borrowed"] and len(later) == 1            # the showing one waits a frame

    monkeypatch.setattr(budget, "frame", Clock.frames - 1)                    # a new frame: budget anew
    showing.texture_update()
    assert laid_out == ["Borrowed", "Due back January 3, 2027"]


def test_a_label_whose_text_was_never_drawn_does_not_wait_for_the_budget(monkeypatch):
    """A label's first try at its text (wrapped at Kivy's default width of 100 px, before its
    layout gave it its own) is not kept one frame longer when the budget is spent: nobody has seen
    it, and showing it would show the wrong layout -- the kiosk's first frame had the home screen's
    tiles at height 0.  Once a frame has been drawn with its text in the window, the budget
    applies; a text laid out out of sight (a screen built ahead, kiosk/ui/prewarm.py) was never drawn."""
    from kivy.clock import Clock

    from kiosk.ui import widgets

    later: list[object] = []
    monkeypatch.setattr(widgets.Clock, "schedule_once", lambda fn, timeout=0: later.append(fn))
    _no_drawing(monkeypatch)
    label = FreshLabel(text="Welcome to the library", text_size=(100, None))
    label.texture_update()                                   # a try out of sight: not in a window
    assert later == [] and label._on_screen_from > Clock.frames_displayed + 1
    label.get_root_window = lambda: "the window"             # now it is
    label.texture_update()                                   # the first try there, at 100 px
    assert label.texture is not None
    budget = widgets.TEXT_BUDGET
    monkeypatch.setattr(budget, "frame", Clock.frames)
    monkeypatch.setattr(budget, "spent", budget.seconds)      # spent
    label.text_size = (700, None)                            # its layout gives it its width
    label.texture_update()
    assert later == [] and label.texture_size[1] < 40        # laid out again at once: one line
    Clock.tick_draw()                                        # drawn: now it shows that text
    monkeypatch.setattr(budget, "frame", Clock.frames)
    label.text_size = (300, None)
    later.clear()
    shown = label.texture
    label.texture_update()
    assert len(later) == 1 and label.texture is shown        # shown text keeps one frame longer
