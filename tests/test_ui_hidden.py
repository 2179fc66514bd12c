"""Screens not showing wait with their work until shown (kiosk/ui/hidden.py, issue 19).

A theme switch reaches every built screen; the labels and box/grid layouts of screens a patron
cannot see are laid out when their screen is shown, not in the frame of the switch.  The time
saved is a benchmark (bench/bench_ui.py's theme scenario); here the behaviour, with Kivy's real
ScreenManager and Clock.
"""

from __future__ import annotations

import os

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")

import pytest  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.uix.boxlayout import BoxLayout  # noqa: E402
from kivy.uix.label import Label  # noqa: E402
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402

from kiosk.ui import hidden  # noqa: E402
from kiosk.ui.widgets import FreshLabel  # noqa: E402


class _FakeTexture:
    size = (10, 10)


def _no_drawing(monkeypatch) -> None:  # noqa: ANN001
    """A fake texture stands for "shows something already"; it must not reach a Rectangle
    (without a GL context Kivy's graphics would refuse it), so labels made after this draw none."""
    monkeypatch.setattr(FreshLabel, "_retexture", lambda *_a: None)


@pytest.fixture
def two_screens(monkeypatch):  # noqa: ANN201
    monkeypatch.setattr(hidden, "_DEFERRED", {})
    hidden.install()
    sm = ScreenManager(transition=NoTransition())
    sm.bind(current_screen=lambda _sm, screen: screen is not None and hidden.show_deferred(screen))
    shown, away = Screen(name="shown"), Screen(name="away")
    sm.add_widget(shown)
    sm.add_widget(away)
    assert sm.current == "shown" and away.parent is None
    yield sm, shown, away
    # Nothing of a test's widgets may be laid out in a later test's frames (the budget tests count
    # the layouts of one frame): take them away and let their pending layouts run now.
    for screen in (shown, away):
        screen.clear_widgets()
    for _ in range(3):
        Clock.tick()


def test_labels_of_a_hidden_screen_wait_until_it_is_shown(two_screens, monkeypatch):
    sm, shown, away = two_screens
    laid_out: list[str] = []
    monkeypatch.setattr(Label, "texture_update", lambda self, *_a: laid_out.append(self.text))
    _no_drawing(monkeypatch)
    on_shown, on_away = FreshLabel(text="Welcome"), FreshLabel(text="Card number")
    shown.add_widget(on_shown)
    away.add_widget(on_away)
    on_shown.texture = on_away.texture = _FakeTexture()     # both show something already
    fired: list[str] = []
    on_away._trigger_texture = lambda *_a: fired.append("Card number")
    laid_out.clear()
    on_shown.texture_update()
    on_away.texture_update()
    assert laid_out == ["Welcome"] and fired == []           # the hidden one waits ...
    sm.current = "away"
    assert fired == ["Card number"]                          # ... and is laid out once shown
    assert hidden._DEFERRED == {}


def test_box_layouts_of_a_hidden_screen_wait_until_it_is_shown(two_screens):
    sm, shown, away = two_screens
    boxes = []
    for screen in (shown, away):
        box = BoxLayout(size=(400, 100), size_hint=(None, None))
        box.add_widget(Widget())
        screen.add_widget(box)
        boxes.append(box)
    Clock.tick()
    child_shown, child_away = (b.children[0] for b in boxes)
    for box in boxes:
        box.width = 600                                       # a font size or padding changed
    Clock.tick()
    assert child_shown.width == 600                          # the screen a patron sees: at once
    assert child_away.width != 600                           # the hidden one: not yet ...
    assert boxes[1]._trigger_layout in hidden._DEFERRED[away]
    sm.current = "away"
    Clock.tick()
    assert child_away.width == 600                           # ... laid out once shown
    assert hidden._DEFERRED == {}


def test_a_widget_on_no_screen_is_laid_out_and_the_walk_ends_at_the_window():
    """The header is on no screen; the walk up its parents stops at the Window (which is its own
    parent) instead of going round forever."""
    window = Widget()
    window.parent = window            # as Kivy's Window is
    box = BoxLayout()
    window.add_widget(box)
    assert hidden.hidden_screen(box) is None
    orphan = BoxLayout()
    assert hidden.hidden_screen(orphan) is None


def test_install_is_idempotent():
    hidden.install()
    first = BoxLayout.do_layout
    hidden.install()
    assert BoxLayout.do_layout is first and hasattr(first, "__wrapped__")


def _rows_on(screen, rows: int, depth: int = 4):  # noqa: ANN001,ANN202
    """``rows`` labels, each ``depth`` boxes below ``screen``, the boxes shared (as a list's are)."""
    box = screen
    for _ in range(depth):
        inner = BoxLayout()
        box.add_widget(inner)
        box = inner
    labels = [Widget() for _ in range(rows)]
    for label in labels:
        box.add_widget(label)
    return labels


def test_inside_same_tree_each_widget_s_screen_is_looked_up_once(two_screens, monkeypatch):
    """A theme switch runs ~270 rules, each asking which screen its widget is on: inside
    ``same_tree`` the walk up the parents stops where a sibling's walk went already -- with the
    same answers as the full walk."""
    _sm, shown, away = two_screens
    labels = _rows_on(shown, 10) + _rows_on(away, 10)
    plain = [hidden.hidden_screen(w) for w in labels]
    assert plain == [None] * 10 + [away] * 10
    walked: list[int] = []
    walk = hidden._walk

    def counted(widget, path):  # noqa: ANN001,ANN202
        answer = walk(widget, path)
        if path is not None:            # a walk inside same_tree
            walked.append(len(path))
        return answer

    monkeypatch.setattr(hidden, "_walk", counted)
    with hidden.same_tree():
        assert [hidden.hidden_screen(w) for w in labels] == plain
        assert [hidden.hidden_screen(w) for w in labels] == plain      # asked again: no walk at all
    # The first label of each screen walks up to it (itself, 4 boxes, the screen: 6), each sibling
    # only itself -- against 20 walks of 6 without the memo.
    assert len(walked) == 20 and sum(walked) == 2 * 6 + 18
    assert hidden._MEMO is None                                      # gone with the switch


def test_a_widget_moved_inside_same_tree_is_looked_up_again(two_screens):
    """Should a rule add or remove a widget during a switch, no answer of before is kept: a
    label taken to the hidden screen waits there, and one brought back is shown."""
    _sm, shown, away = two_screens
    label = _rows_on(shown, 1, depth=1)[0]
    home = label.parent
    _rows_on(away, 0, depth=1)
    target = away.children[0]
    with hidden.same_tree():
        assert hidden.hidden_screen(label) is None
        home.remove_widget(label)
        target.add_widget(label)
        assert hidden.hidden_screen(label) is away
        hidden.mark_pooled(target)                                   # (a list row into the cache)
        assert hidden.hidden_screen(label) is away
        target.remove_widget(label)
        home.add_widget(label)
        assert hidden.hidden_screen(label) is None


class _MemoProbe(Widget):
    """A canvas rule that notes whether it runs with the screens looked up in one go."""

    seen: list[bool] = []

    def tint(self, _x: float) -> tuple:
        _MemoProbe.seen.append(hidden._MEMO is not None)
        return (1, 1, 1, 1)


def test_the_canvas_rules_of_a_frame_look_their_screens_up_in_one_go():
    """Kivy evaluates a frame's canvas rules together (``Builder.sync``, twice a frame): that runs
    inside ``same_tree``."""
    from kivy.factory import Factory
    from kivy.lang import Builder

    hidden.install()
    Factory.register("_MemoProbe", cls=_MemoProbe)
    Builder.load_string("<_MemoProbe>:\n    canvas:\n        Color:\n            rgba: self.tint(self.x)\n")
    probe = _MemoProbe()
    Builder.sync()
    _MemoProbe.seen.clear()
    probe.x = 5                     # the canvas rule is queued for the next sync ...
    assert _MemoProbe.seen == []
    Builder.sync()
    assert _MemoProbe.seen == [True]                    # ... and runs inside same_tree
    assert hidden._MEMO is None


def _switched_boxes(n: int, pacing):  # noqa: ANN001,ANN202
    """``n`` laid-out boxes, a switch, and all of them made wider: one frame run since."""
    boxes = []
    for _ in range(n):
        box = BoxLayout(size=(400, 100), size_hint=(None, None))
        box.add_widget(Widget())
        boxes.append(box)
    Clock.tick()
    pacing.spread_after_switch()
    for box in boxes:
        box.width = 600
    Clock.tick()
    return boxes


def test_after_a_theme_switch_layouts_share_a_budget_per_frame_and_then_all_run(monkeypatch):
    """kiosk/ui/pacing.py: for a short while after a switch, a frame lays out boxes until its
    budget is spent; the rest keep their old geometry one frame longer and are laid out next."""
    import time

    from kiosk.ui import pacing

    hidden.install()
    monkeypatch.setattr(pacing.LAYOUT_BUDGET, "seconds", 0.0)   # the first layout of a frame spends it
    boxes = _switched_boxes(3, pacing)
    widths = sorted(b.children[0].width for b in boxes)
    assert widths.count(600) == 1                              # one layout in this frame ...
    for _frame in range(10):
        Clock.tick()
    assert all(b.children[0].width == 600 for b in boxes)      # ... the others in the next ones
    for _frame in range(3):                                   # the budget let go
        Clock.tick()
    pacing.spread_after_switch(now=time.monotonic() - pacing.SETTLE_S - 1)   # the window is over
    for box in boxes:
        box.width = 500
    Clock.tick()
    assert all(b.children[0].width == 500 for b in boxes)      # nothing waits outside the window


def test_the_budget_holds_until_the_relayout_is_done_however_few_frames_the_window_had(monkeypatch):
    """On a slow CPU the window after a switch (SETTLE_S) may close after a frame or two: the
    layouts still waiting then must not all run in one frame -- the budget holds for as long as
    it is still sending layouts to the next frame."""
    import time

    from kiosk.ui import pacing

    hidden.install()
    monkeypatch.setattr(pacing.LAYOUT_BUDGET, "seconds", 0.0)   # the first layout of a frame spends it
    boxes = _switched_boxes(4, pacing)
    pacing.spread_after_switch(now=time.monotonic() - pacing.SETTLE_S - 1)   # the window closed meanwhile
    done = [sum(b.children[0].width == 600 for b in boxes)]
    for _frame in range(12):
        Clock.tick()
        done.append(sum(b.children[0].width == 600 for b in boxes))
    assert max(b - a for a, b in zip(done, done[1:], strict=False)) == 1, done   # one a frame at most ...
    assert done[-1] == 4, done                                 # ... until all are done
    assert not pacing.settling()                               # and then nothing waits any more


def test_a_patrons_switch_moves_the_named_sizes_in_the_next_frame_and_the_colours_at_once():
    """Theme.apply(spread=True): the colours (and the sizes bound directly) change in the switch's
    frame, ``revision`` -- the labels' sizes picked by name -- in the next, ``button_revision`` in
    the one after, so their rules do not all run in one frame; a plain apply() (start-up, the end
    of a session) moves everything at once."""
    from kiosk.ui.theme import Theme

    theme = Theme()
    Clock.tick()
    revision, colours, ink = theme.revision, theme.colour_revision, list(theme.ink)
    buttons = theme.button_revision
    theme.apply("high_contrast", large_text=True, spread=True)
    assert list(theme.ink) != ink and theme.colour_revision == colours + 1     # colours: now
    assert theme.revision == revision and theme.button_revision == buttons      # named sizes: ...
    Clock.tick()
    assert theme.revision == revision + 1 and theme.button_revision == buttons  # ... labels next frame
    Clock.tick()
    assert theme.button_revision == buttons + 1                                 # ... buttons the one after
    theme.apply("standard", large_text=False)
    assert theme.revision == revision + 2 and theme.button_revision == buttons + 2   # all at once


def test_a_second_switch_before_the_first_s_stages_ran_takes_their_place():
    """On a Pi-class CPU two taps 0.5 s apart can be two frames apart: the first switch's button
    stage ran in the second switch's own frame, the busiest of a session.  The second switch
    cancels what is left of the first: its own stages do that work, one a frame."""
    from kiosk.ui.theme import Theme

    theme = Theme()
    Clock.tick()
    bumps: list[tuple[int, str]] = []
    theme.bind(revision=lambda *_a: bumps.append((Clock.frames, "labels")),
               button_revision=lambda *_a: bumps.append((Clock.frames, "buttons")))
    from kiosk.ui import pacing

    pacing.spread_after_switch()                        # as a patron's switch does (patron_choices.py)
    theme.apply("high_contrast", spread=True)
    Clock.tick()                                        # the first switch's label stage
    assert [what for _f, what in bumps] == ["labels"]
    second = Clock.frames
    pacing.spread_after_switch()
    theme.apply("high_contrast", large_text=True, spread=True)   # before its button stage
    for _ in range(4):
        Clock.tick()
    assert [what for _f, what in bumps] == ["labels", "labels", "buttons"]       # one of each, in order
    assert [f - second for f, _w in bumps[1:]] == [1, 2]


def test_a_session_view_waits_for_the_last_stage_of_a_switch():
    """kiosk/ui/door.py: a view arriving while a patron's switch runs its stages (its frame and
    the next two, pacing.switching) is drawn with the last stage, which renders the screens
    anyway; the stages before fill their own frames."""
    from kiosk.ui import pacing
    from kiosk.ui.door import LatestOnly

    seen: list[int] = []
    door = LatestOnly(seen.append)
    Clock.tick()
    pacing.spread_after_switch()
    door.post(7)
    door._deliver(0)                     # the delivery falls in the switch's frame ...
    frames = 0
    while not seen and frames < 10:
        assert pacing.switching()        # ... and waits while the stages run ...
        Clock.tick()
        frames += 1
    assert seen == [7] and frames == pacing.SCREENS_STAGE   # ... then comes, in the last stage's frame


def test_no_box_is_laid_out_in_the_switch_s_own_frame_whatever_the_budget_left(monkeypatch):
    """kiosk/ui/pacing.py: the switch's own rules (colours, the sizes bound directly) fill its
    frame; its layouts start in the next one, budget or not."""
    from kiosk.ui import pacing

    hidden.install()
    monkeypatch.setattr(pacing.LAYOUT_BUDGET, "seconds", 10.0)  # a budget nobody spends in a frame
    boxes = []
    for _ in range(3):
        box = BoxLayout(size=(400, 100), size_hint=(None, None))
        box.add_widget(Widget())
        boxes.append(box)
    Clock.tick()
    pacing.spread_after_switch()
    for box in boxes:
        box.width = 600
        box.do_layout()                      # asked in the switch's frame ...
    assert all(b.children[0].width == 400 for b in boxes)
    Clock.tick()
    Clock.tick()
    assert all(b.children[0].width == 600 for b in boxes)     # ... done in the next


def test_a_label_showing_text_keeps_it_through_the_switch_s_frame(monkeypatch):
    """kiosk/ui/widgets.py FreshLabel: in the switch's frame a label that shows something keeps
    it one frame longer; one that shows nothing yet is laid out at once."""
    from kiosk.ui import pacing

    laid_out: list[str] = []
    monkeypatch.setattr(Label, "texture_update", lambda self, *_a: laid_out.append(self.text))
    _no_drawing(monkeypatch)
    showing, empty = FreshLabel(text="Borrowed"), FreshLabel(text="Due back")
    showing.texture = _FakeTexture()
    showing._on_screen_from = 0              # drawn in the window (widgets.py FreshLabel.texture_update)
    waited: list[str] = []
    showing._trigger_texture = lambda *_a: waited.append("Borrowed")
    Clock.tick()
    pacing.spread_after_switch()
    laid_out.clear()
    showing.texture_update()
    empty.texture_update()
    assert laid_out == ["Due back"]
    Clock.tick()
    assert waited == ["Borrowed"]            # asked again in the next frame


def test_the_screens_are_rendered_once_for_two_quick_switches():
    """The last stage (the screens' computed texts and rows) of a switch that another follows
    before it ran is left to the second switch's."""
    from kiosk.ui.patron_choices import PatronChoices

    rendered: list[int] = []

    class Choices(PatronChoices):
        view = "a view"
        service = None

        def render_screens(self, view):  # noqa: ANN001,ANN202
            rendered.append(Clock.frames)

    from kiosk.ui import pacing

    choices = Choices()
    Clock.tick()
    pacing.spread_after_switch()                        # as a patron's switch does (toggle_contrast)
    choices._refresh_soon()
    Clock.tick()
    second = Clock.frames
    pacing.spread_after_switch()
    choices._refresh_soon()
    for _ in range(5):
        Clock.tick()
    assert rendered == [second + 3]


def test_the_screens_stage_leaves_the_screens_to_a_render_of_its_frame_or_one_on_its_way():
    """A view that waited for a switch's stages comes in the last stage's frame: the screens were
    rendered for it and again for the stage.  The stage renders only when nothing else will."""
    from kiosk.ui.door import LatestOnly
    from kiosk.ui.patron_choices import PatronChoices

    rendered: list[str] = []

    class Choices(PatronChoices):
        view = "the view on screen"
        service = None

        def render_screens(self, view):  # noqa: ANN001,ANN202
            rendered.append(view)

    choices = Choices()
    choices._door = LatestOnly(lambda _v: None)
    Clock.tick()
    choices._refresh_screens()
    assert rendered == ["the view on screen"]                # nothing else renders: the stage does
    choices._rendered_frame = Clock.frames                   # a view rendered in this frame
    choices._refresh_screens()
    assert len(rendered) == 1
    Clock.tick()
    choices._door._latest = "a newer view"                   # posted, delivered soon
    choices._refresh_screens()
    assert len(rendered) == 1
