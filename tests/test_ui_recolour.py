"""A contrast switch recolours what shows, and only that, without rebuilding it (issue 19).

The switch's frame was the busiest of a session with it: every icon showing was tessellated
again for a new colour, and every button of every built screen took its new colours at once.
The time is a benchmark (bench/bench_ui.py's theme scenario); here the behaviour, in the real app.
"""

from __future__ import annotations

import pytest

from tests.gui_steps import open_borrowing

pytestmark = pytest.mark.gui


def _walk(widget):  # noqa: ANN001, ANN202
    yield widget
    for child in widget.children:
        yield from _walk(child)


def test_an_icon_takes_a_new_colour_in_its_colour_instruction_not_a_new_drawing(gui_kiosk):
    with gui_kiosk() as k:
        d, app = k.driver, k.app
        from kiosk.ui.icons import Icon

        d.settle()
        icons = [w for w in _walk(app.screen("home")) if type(w) is Icon and w.kind and w.canvas.children]
        assert icons
        drawn = {id(i): [id(c) for c in i.canvas.children] for i in icons}
        before = {id(i): tuple(i.color) for i in icons}
        app.toggle_contrast()
        d.settle()
        changed = [i for i in icons if tuple(i.color) != before[id(i)]]
        assert changed                                               # high contrast: new inks
        for icon in changed:
            assert [id(c) for c in icon.canvas.children] == drawn[id(icon)]     # the same shapes
            assert tuple(icon._colour.rgba) == pytest.approx(tuple(icon.color))  # in the new colour


def test_the_buttons_of_a_screen_not_showing_take_the_new_colours_when_it_is_shown(gui_kiosk):
    with gui_kiosk({"kiosk.require_pin": False}) as k:
        d, app = k.driver, k.app
        from kiosk.ui.widgets import Tile

        tile = next(w for w in _walk(app.screen("home")) if isinstance(w, Tile))
        open_borrowing(k)
        finish = next(w for w in _walk(app.screen("items")) if getattr(w, "text", "") == "Finish")
        d.settle()
        tile_before, finish_before = tuple(tile.outline), tuple(finish.outline)
        app.toggle_contrast()
        d.settle()
        assert tuple(finish.outline) != finish_before                # the screen showing: at once
        assert tuple(tile.outline) == tile_before                   # home, not showing: waits
        # home shown (going home for real ends the session, and with it the patron's high contrast)
        app.root_widget.ids.sm.current = "home"
        d.settle()
        assert tile.role == "accent" and tuple(tile.outline) == tuple(app.theme.ink)   # high contrast: outlined
