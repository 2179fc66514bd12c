"""Kiosk-safety, layout and accessibility of the real app (each test in its own process)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from kiosk.ui.palette import TOUCH_MIN

pytestmark = pytest.mark.gui


def _borrow_one(k) -> None:  # noqa: ANN001
    """Check out one item on the items screen (the receipt question follows only a transaction)."""
    app, lib = k.app, k.library
    item = next(i for i in lib["items"] if i["status"] == "available" and not i["holds"] and i["parts"] == 1)
    k.devices.tag_reader.place(item["barcode"])
    k.driver.until(lambda: [i.state for i in app.view.items] == ["done"], 20, "the checkout")


def _targets_ok(k, where: str) -> None:  # noqa: ANN001
    from kiosk.ui.widgets import too_small

    k.driver.pump(0.2)
    bad = too_small(k.app.root_widget, TOUCH_MIN)
    assert not bad, f"{where}: touch targets under {TOUCH_MIN}px: {bad}"


@pytest.mark.parametrize("size", [(800, 480), (720, 1280)], ids=["landscape-7in", "portrait"])
def test_every_screen_fits_and_has_big_enough_targets(gui_kiosk, size):
    with gui_kiosk(size=size) as k:
        d, app, lib = k.driver, k.app, k.library
        assert tuple(app.root_widget.size) == size
        assert app.portrait == (size[1] > size[0])
        patron = next(p for p in lib["patrons"] if p["status"] == "ok" and not p.get("pin") and p["loans"])
        _targets_ok(k, "home")
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        _targets_ok(k, "identify")
        five = next(w for w in d.find(lambda w: type(w).__name__ == "KButton" and w.text == "5"))
        icon = next(w for w in d.find(lambda w: type(w).__name__ == "Pictogram" and w.kind == "tap_card"))
        if app.portrait:   # the height goes to larger keys and a capped icon, not a poster-sized one
            assert five.height >= 84 and 0 < icon.max_size < min(icon.size), (five.height, icon.size)
        else:
            assert five.height >= TOUCH_MIN and icon.max_size == 0
        d.type(patron["card"])
        d.until_screen("items", 15)
        _targets_ok(k, "items")
        for large in (True, False):       # large text must not push anything off screen or shrink it
            d.pump(0.4)                   # a second tap within the 0.35 s debounce would be dropped
            d.tap(app.root_widget.ids.large_text)
            assert app.theme.large_text is large
            _targets_ok(k, f"items large_text={large}")
            finish = d.button("Finish")
            x, y = finish.to_window(finish.x, finish.y)
            assert x >= 0 and y >= 0 and x + finish.width <= size[0] + 1, "Finish is off screen"
        _borrow_one(k)                    # the receipt question comes only after something was borrowed
        d.tap(d.button("Finish"))
        d.until_screen("receipt")
        _targets_ok(k, "receipt")
        d.tap(d.button("No receipt"))
        d.until_screen("goodbye")
        d.until_screen("home", 15)
        d.tap(d.button("My account"))
        d.until_screen("identify")
        d.type(patron["card"])
        d.until_screen("account", 15)
        d.until(lambda: bool(app.screen("account").ids.rv.data), 10, "loans")
        _targets_ok(k, "account")


def test_escape_f1_and_inspector_keys_do_nothing_and_kivy_stays_in_the_data_dir(gui_kiosk):
    with gui_kiosk() as k:              # Kivy is first imported in here, after the kiosk set it up
        from kivy.core.window import Window

        d, app = k.driver, k.app
        # just after start-up the patron screens' code and kv rules are read (their widgets are
        # built while nobody is here: tests/test_ui_prewarm.py)
        import sys

        from kivy.factory import Factory

        d.until(lambda: "TimeoutWarning" in Factory.classes and "kiosk.screens.out_of_service" in sys.modules,
                10, "the patron screens preloaded")
        for key, mods in ((27, []), (282, []), (101, ["ctrl"])):       # Esc, F1, Ctrl+E (inspector)
            Window.dispatch("on_key_down", key, 0, None, mods)
            Window.dispatch("on_keyboard", key, 0, None, mods)
            d.pump(0.1)
        assert app.root_widget.get_root_window() is not None          # still running
        assert d.screen == "home" and app._app_settings is None       # no settings panel
        assert Window.dispatch("on_request_close") is True           # a handler refused the close
        import kivy

        home = Path(kivy.kivy_home_dir).resolve()
        assert home.is_relative_to(k.settings.data_dir.resolve()), home
        assert os.environ["KIVY_NO_ARGS"] == "1"
        assert not any(isinstance(m, dict) and m.get("activated") for m in _modules())


def _modules() -> list:
    from kivy.modules import Modules

    return [Modules.mods.get(name, {}) for name in ("inspector", "monitor", "keybinding", "webdebugger")]


def test_hidden_gesture_opens_only_the_staff_pin_pad(gui_kiosk):
    from kiosk.staff.auth import hash_secret

    with gui_kiosk({"staff.pin_hash": hash_secret("2468")}) as k:
        d, app = k.driver, k.app
        d.tap(app.root_widget.ids.staff_corner)              # a short tap does nothing
        assert d.screen == "home"
        d.tap(app.root_widget.ids.staff_corner, hold=3.3)    # hold the library name
        d.until_screen("staff")
        staff = app.screen("staff")
        for pin, ok in (("0000", False), ("2468", True)):
            for digit in pin:
                d.tap(d.button(digit))
            ok_button = d.button("OK")
            ok_button._last_release = 0.0       # a person's two OKs are seconds apart: no debounce in the way
            d.tap(ok_button)
            d.until(lambda: not staff.checking, 10, "the PIN check")
            assert staff.authenticated is ok
            assert (staff.message == "wrong") is (not ok)
        d.tap(d.button("Back to patron screens"))
        d.until_screen("home")
        assert not app.screen("staff").authenticated        # leaving staff mode forgets the login


def test_no_print_choice_when_the_printer_is_out_of_paper(gui_kiosk):
    with gui_kiosk() as k:
        d, lib = k.driver, k.library
        patron = next(p for p in lib["patrons"] if p["status"] == "ok" and not p.get("pin"))
        k.devices.printer.paper = "out"
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        d.type(patron["card"])
        d.until_screen("items", 15)
        _borrow_one(k)
        d.tap(d.button("Finish"))
        d.until_screen("receipt")
        d.until(lambda: not k.app.screen("receipt").printer_ok, 5, "the printer status")
        with pytest.raises(AssertionError):
            d.button("Print")
        assert d.button("No receipt")


def test_contrast_switch_and_logs_without_patron_data(gui_kiosk, caplog):
    caplog.set_level(logging.DEBUG)
    with gui_kiosk() as k:
        d, app, lib = k.driver, k.app, k.library
        patron = next(p for p in lib["patrons"] if p["status"] == "ok" and not p.get("pin"))
        d.tap(app.root_widget.ids.contrast)
        assert app.theme.name == "high_contrast" and tuple(app.theme.background[:3]) == (0, 0, 0)
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        d.type(patron["card"])
        d.until_screen("items", 15)
        assert app.theme.name == "high_contrast"              # kept for the patron's whole session
        shown: list[str] = []
        app.root_widget.ids.sm.bind(current=lambda _sm, name: shown.append(name))
        d.tap(d.button("Finish"))                             # nothing borrowed: no receipt question
        d.until_screen("home", 15)
        assert shown[:2] == ["goodbye", "home"] and "receipt" not in shown, shown
        assert app.theme.name == "standard"                   # the next patron starts from the default
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert patron["card"][-4:] in text                         # the card was logged, masked ...
    assert patron["card"] not in text                          # ... never in full
    assert patron["name"] not in text
