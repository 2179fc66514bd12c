"""The home screen with large text on the 7" panel (800x480) and in portrait: every tile's words
inside its tile, on whole words, and a tile icon either drawn at a readable size or not at all.

Before: with large text the welcome wrapped onto two lines, the tiles lost that height, their icons
shrank to dots and "My account" wrapped and spilled above its tile, white on the page.
"""

from __future__ import annotations

import pytest

from tests.test_ui_lists import _fits

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("size", [(800, 480), (720, 1280)], ids=["landscape-7in", "portrait"])
def test_home_tiles_keep_their_words_inside_with_large_text_in_every_language(gui_kiosk, size):
    """... and the language row beside the speech switch keeps whole words too ("Deutsc / h")."""
    with gui_kiosk({"speech.enabled": True}, size=size) as k:
        d, app = k.driver, k.app
        from kivy.metrics import dp

        from kiosk.ui.icons import Icon
        from kiosk.ui.widgets import Tile

        ids = app.root_widget.ids
        d.tap(ids.large_text)
        d.settle()
        assert app.theme.large_text
        problems: list[str] = []
        home = app.screen("home")
        for lang in ("en", "de", "fr", "es"):
            app.set_language(lang)
            d.settle()
            tiles = [w for w in home.walk(restrict=True) if isinstance(w, Tile) and w.opacity > 0]
            assert len(tiles) == 3
            for tile in tiles:
                _fits(f"{lang} tile {tile.text!r}", tile, problems)
                for icon in (w for w in tile.walk(restrict=True) if isinstance(w, Icon)):
                    if icon.opacity > 0 and icon.height < dp(32):
                        problems.append(f"{lang} tile {tile.text!r}: its icon is a {icon.height:.0f}px dot")
            for button in list(home.ids.langs.children) + list(home.ids.speech_slot.children):
                _fits(f"{lang} button {button.text!r}", button, problems)
        assert problems == [], "\n".join(problems)



@pytest.mark.parametrize("large", [False, True], ids=["standard", "large-text"])
def test_the_after_hours_screens_settle_their_layout(gui_kiosk, caplog, large):
    """The returns-only screen's slot tile is sized by its content; a tile hint that hid itself by
    the tile's own height made that layout swing for ever (Kivy's clock: "too much iteration",
    in the tour's after-hours pass).  The home screen's hidden tiles too."""
    import logging

    caplog.set_level(logging.WARNING)
    with gui_kiosk({"kiosk.mode": "returns"}) as k:
        d, app = k.driver, k.app
        d.until_screen("returns_only", 10)
        if large:
            d.tap(app.root_widget.ids.large_text)
        d.settle()
        d.pump(0.5)
        app.screen("home").returns_only = True
        d.settle()
    assert not [r for r in caplog.records if "too much iteration" in r.getMessage()]
