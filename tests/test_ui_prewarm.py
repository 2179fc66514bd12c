"""What the kiosk builds while nobody is at it (kiosk/ui/prewarm.py, issue 19).

The time it saves a patron on a Pi is a benchmark (bench/bench_ui.py); here the behaviour: one
piece per frame, the eager ones at once, the rest only while the kiosk is quiet, and in the real
app the patron screens and a screenful of item rows built before the first patron comes.
"""

from __future__ import annotations

import os

import pytest

from tests.gui_steps import borrow_one

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")


def _frames(n: int) -> None:
    from kivy.clock import Clock

    for _ in range(n):
        Clock.tick()


def test_one_piece_per_frame_and_the_rest_waits_while_the_kiosk_is_busy():
    from kiosk.ui.prewarm import Prewarm

    ran: list[str] = []
    quiet = {"now": False}
    pieces = [lambda n=n: ran.append(n) for n in ("module-a", "module-b", "screen", "row-1", "row-2")]
    warm = Prewarm(pieces, lambda: quiet["now"], eager=2)
    warm.start()
    _frames(1)
    assert ran == ["module-a"]                       # one piece a frame, not all in one
    _frames(6)
    assert ran == ["module-a", "module-b"]           # the eager pieces ran; the rest wait: someone is here
    quiet["now"] = True
    _frames(90)                                      # it looks again after QUIET_RECHECK_S (60 fps cap)
    assert ran == ["module-a", "module-b", "screen", "row-1", "row-2"] and warm.finished


def test_a_patron_arriving_midway_holds_the_rest_back():
    from kiosk.ui.prewarm import Prewarm

    ran: list[int] = []
    quiet = {"now": True}

    def piece(n: int) -> None:
        ran.append(n)
        if n == 1:
            quiet["now"] = False                     # a patron taps Borrow after the second piece

    warm = Prewarm([lambda n=n: piece(n) for n in range(5)], lambda: quiet["now"])
    warm.start()
    _frames(10)
    assert ran == [0, 1] and not warm.finished


def test_a_closing_app_stops_it():
    from kiosk.ui.prewarm import Prewarm

    ran: list[int] = []
    warm = Prewarm([lambda n=n: ran.append(n) for n in range(3)], lambda: True, stopped=lambda: bool(ran))
    warm.start()
    _frames(5)
    assert ran == [0]


@pytest.mark.gui
def test_the_patron_screens_and_rows_are_ready_before_the_first_patron(gui_kiosk):
    with gui_kiosk() as k:
        d, app = k.driver, k.app
        from kivy.uix.recycleview import views as rv_views

        from kiosk.ui import prewarm
        from kiosk.ui.lists import ItemRow

        d.until(lambda: app.prewarm is not None and app.prewarm.finished, 20, "the prewarm")
        sm = app.root_widget.ids.sm
        assert [n for n in prewarm.SCREENS if not sm.has_screen(n)] == []
        assert not sm.has_screen("returns_only")     # its existence means "a drop was shown"
        assert not any(sm.has_screen(n) for n in ("staff", "staff_home", "staff_settings"))
        assert len(rv_views._cached_views[ItemRow]) >= prewarm.rows_wanted()
        assert d.screen == "home"
        # a patron at the kiosk: not quiet any more
        quiet = prewarm.for_app(app)._quiet
        assert quiet()
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        assert not quiet()


@pytest.mark.gui
def test_a_screen_shown_just_after_a_theme_switch_is_laid_out_in_its_first_frame(gui_kiosk, monkeypatch):
    """A theme switch spreads its relayout over a few frames (kiosk/ui/pacing.py); a screen built
    while hidden has no layout at all yet, and must not be shown half laid out (its buttons at 0,0
    with Kivy's default size, where a tap misses them)."""
    with gui_kiosk() as k:
        d, app = k.driver, k.app
        from kiosk.ui import pacing
        from kiosk.ui.palette import TOUCH_MIN
        from kiosk.ui.widgets import too_small

        d.until(lambda: app.prewarm is not None and app.prewarm.finished, 20, "the prewarm")
        d.tap(app.root_widget.ids.large_text)
        pacing.spread_after_switch()                  # the switch's window, however slow this machine is
        monkeypatch.setattr(pacing.LAYOUT_BUDGET, "seconds", 0.0)    # a Pi's CPU, and then some: one layout a frame
        d.tap(d.button("Borrow"))
        d.until_screen("identify")                    # the first frame showing it has been drawn
        screen = app.screen("identify")

        def geometry() -> list:
            return [(type(w).__name__, tuple(map(round, w.to_window(*w.pos))), tuple(map(round, w.size)))
                    for w in screen.walk(restrict=True)]

        first = geometry()
        d.settle()
        assert geometry() == first                     # nothing moved after its first frame
        assert too_small(screen, TOUCH_MIN) == []


@pytest.mark.gui
def test_kv_rules_of_a_hidden_screen_wait_until_it_is_shown(gui_kiosk):
    """A contrast switch on the home screen: the identify screen (built, not showing) re-evaluates
    none of its colour rules then (kiosk/ui/fastkv.py, kiosk/ui/hidden.py), and shows the new
    colours from the frame it is shown."""
    with gui_kiosk() as k:
        d, app = k.driver, k.app
        d.until(lambda: app.prewarm is not None and app.prewarm.finished, 20, "the prewarm")
        identify = app.screen("identify")
        entry = identify.ids.entry_lbl                       # color: app.theme.ink_muted (no entry yet)
        before = list(entry.color)
        assert before == list(app.theme.ink_muted)
        d.tap(app.root_widget.ids.contrast)
        d.settle()
        assert list(app.theme.ink_muted) != before            # the theme changed ...
        assert list(entry.color) == before                    # ... the hidden screen's rule waited
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        assert list(entry.color) == list(app.theme.ink_muted)  # evaluated before its first frame


@pytest.mark.gui
def test_a_session_end_wipes_hidden_screens_at_once(gui_kiosk):
    """Patron data leaves every screen when a session ends -- the items list, hidden behind the
    receipt question and the goodbye, included -- although a hidden screen's rules otherwise wait
    until it is shown."""
    with gui_kiosk() as k:
        d, app = k.driver, k.app
        d.until(lambda: app.prewarm is not None and app.prewarm.finished, 20, "the prewarm")
        patron, item = borrow_one(k)
        first = patron["name"].split()[0]
        assert any(first in t for t in d.texts()) and any(item["title"] in t for t in d.texts())
        d.tap(d.button("Finish"))
        d.until_screen("receipt", 15)
        d.tap(d.button("No receipt"))
        d.until_screen("goodbye", 15)
        everything = "\n".join(d.all_texts())                  # every screen, shown or not
        for secret in (first, patron["card"], item["title"]):
            assert secret not in everything, secret


@pytest.mark.gui
def test_rows_waiting_in_the_list_cache_follow_a_switch_only_when_taken(gui_kiosk):
    """Item rows built ahead wait in Kivy's view cache: a contrast switch does not re-run their
    colour rules there, and a row the list takes out shows the new colours at once."""
    with gui_kiosk() as k:
        d, app = k.driver, k.app
        from kivy.uix.recycleview import views as rv_views

        from kiosk.ui.lists import ItemRow

        d.until(lambda: app.prewarm is not None and app.prewarm.finished, 20, "the prewarm")
        cached = list(rv_views._cached_views[ItemRow])
        before = [list(r.fill) for r in cached]
        d.tap(app.root_widget.ids.contrast)
        d.settle()
        assert [list(r.fill) for r in cached] == before            # not re-evaluated in the cache
        borrow_one(k)
        (row,) = [w for w in app.screen("items").ids.rv.children[0].children if isinstance(w, ItemRow)]
        assert row in cached                                      # a row built ahead, taken out
        assert list(row.fill) == list(app.theme.status_colours("done")[0])   # high contrast's


@pytest.mark.gui
def test_a_hidden_screen_shows_the_language_chosen_while_it_was_hidden_down_to_its_button_labels(gui_kiosk):
    """A language switch on home: the identify screen (built, hidden) waits; when shown, its rules
    run -- and the rules they set off too (a button's text, then the label inside the button),
    although the screen is not yet in the window when it is announced."""
    with gui_kiosk() as k:
        d, app = k.driver, k.app
        from kivy.uix.label import Label

        from kiosk.ui.i18n import tr

        d.until(lambda: app.prewarm is not None and app.prewarm.finished, 20, "the prewarm")
        d.tap(d.button("Deutsch"))
        d.settle()
        d.tap(d.button(tr("Borrow", "de")))
        d.until_screen("identify")
        d.settle()
        labels = [w.text for w in app.screen("identify").walk(restrict=True) if isinstance(w, Label) and w.text]
        assert tr("Cancel", "de") in labels and tr("Delete", "de") in labels, labels
        assert "Cancel" not in labels and "Delete" not in labels, labels


@pytest.mark.gui
def test_the_first_frame_shows_the_home_screen_laid_out(gui_kiosk, monkeypatch):
    """READY=1 goes to systemd from the kiosk's first frame (and the start-up benchmark times it):
    that frame must show the home screen finished.  The per-frame text budget
    (kiosk/ui/widgets.py) once kept each label's first try at its text -- wrapped at Kivy's
    default width of 100 px, before its layout -- on screen for two frames: the welcome line 310 px
    high and the three tiles (Borrow, Return, My account) at height 0."""
    import functools

    first: dict[str, list] = {}

    def spy_on_the_first_frame(settings, _server) -> None:  # noqa: ANN001
        from kiosk.ui import kivyenv

        kivyenv.prepare(settings.data_dir / "kivy", headless=True, width=800, height=480)  # as running_app
        from kiosk.app import KioskApp

        original = KioskApp._after_first_frame

        @functools.wraps(original)      # Kivy's on_flip binding looks the method up by name
        def _after_first_frame(self, *args):  # noqa: ANN001,ANN202
            first.setdefault("home", _geometry(self.root_widget))
            return original(self, *args)

        monkeypatch.setattr(KioskApp, "_after_first_frame", _after_first_frame)

    with gui_kiosk(setup=spy_on_the_first_frame) as k:
        k.driver.settle()
        assert k.driver.screen == "home"
        tiles = [k.app.screen("home").ids[name] for name in ("borrow", "ret", "account")]
        assert all(tile.height > 100 for tile in tiles)
        assert first["home"] == _geometry(k.app.root_widget)    # nothing moved after the first frame


def _geometry(root) -> list:  # noqa: ANN001
    """Every widget under ``root``: kind, text, place in the window, size, text's size."""
    return [(type(w).__name__, getattr(w, "text", None), tuple(map(round, w.to_window(*w.pos))),
             tuple(map(round, w.size)), tuple(map(round, getattr(w, "texture_size", ()))))
            for w in root.walk(restrict=True)]


@pytest.mark.gui
def test_the_screens_on_the_way_to_borrowing_are_laid_out_in_their_first_frame(gui_kiosk):
    """A screen built while nobody was there (kiosk/ui/prewarm.py) laid its labels' text out out of
    sight, at Kivy's default width of 100 px.  Once shown, the text budget (kiosk/ui/widgets.py)
    kept that first try for a frame: the items screen's first frame had its heading 720 px high and
    no room for the list.  Not a theme switch: nothing may be spread over frames here."""
    from kivy.core.window import Window

    from tests.gui_steps import borrower

    with gui_kiosk() as k:
        d, app = k.driver, k.app
        d.until(lambda: app.prewarm is not None and app.prewarm.finished, 20, "the prewarm")
        first: dict[str, list] = {}

        def on_flip(*_a) -> None:  # noqa: ANN002
            first.setdefault(d.screen, _geometry(app.screen(d.screen)))

        Window.bind(on_flip=on_flip)
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        d.settle()
        assert first["identify"] == _geometry(app.screen("identify"))
        d.type(borrower(k.library)["card"])
        d.until_screen("items", 15)
        d.settle()
        Window.unbind(on_flip=on_flip)
        assert first["items"] == _geometry(app.screen("items"))
