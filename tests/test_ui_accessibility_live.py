"""Large text and high contrast switched in the middle of a session, on every patron screen.

A patron may tap the contrast (◐) or text-size (A+) switch at any moment.  After every switch the
audit (kiosk/ui/audit.py) walks the widget tree and checks what is really drawn: each visible
label against the background painted under it (>= 7:1 in high contrast, >= 4.5:1 in standard),
body text >= 18 px at 800x480 and clearly larger in large-text mode, touch targets >= 44 px.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui

LARGER = 1.2          # large text: every label at least this much bigger than in standard


def _cycle(k, where: str, problems: list[str], must_see: tuple[str, ...] = ()) -> None:  # noqa: ANN001
    """standard -> high contrast -> + large text -> standard + large text -> standard, auditing
    what is drawn after each switch (the switches are the header buttons a patron taps)."""
    from kivy.core.window import Window

    from kiosk.ui.audit import audit, font_sizes

    d, app = k.driver, k.app
    ids = app.root_widget.ids
    roots = list(Window.children)
    portrait = app.portrait
    floor = 18 if not portrait else 20

    def check(state: str) -> dict:
        # Every layout and text render the switch started is done (not "0.1 s of frames": on a
        # loaded machine that was one frame, and the audit looked at a half re-laid-out screen).
        d.settle()
        hc = app.theme.name == "high_contrast"
        found = audit(roots, Window, minimum_contrast=7.0 if hc else 4.5,
                      min_font_px=floor * (LARGER if app.theme.large_text else 1.0))
        problems.extend(f"{where} [{state}] {f}" for f in found)
        return font_sizes(roots, Window)

    standard = check("standard")
    seen = {text for text, _size in standard.values()}
    assert len(standard) >= 3 and set(must_see) <= seen, (where, sorted(seen))   # the audit saw the screen
    steps = (("contrast", "high contrast"), ("large_text", "high contrast + large text"),
             ("contrast", "standard + large text"), ("large_text", "standard again"))
    for switch, state in steps:
        before = (app.theme.name, app.theme.large_text)
        ids[switch]._last_release = 0.0      # a patron's taps are seconds apart: no debounce in the way
        d.tap(ids[switch])
        assert (app.theme.name, app.theme.large_text) != before, f"{where}: the {switch} switch did not react"
        sizes = check(state)
        if app.theme.large_text:
            for key, (text, size) in sizes.items():
                if key in standard and size < standard[key][1] * LARGER:
                    problems.append(f"{where} [{state}] font: {text[:40]!r} {standard[key][1]:.0f}px "
                                    f"-> {size:.0f}px (not enlarged)")
    assert app.theme.name == "standard" and not app.theme.large_text, where


def _goodbye_for(k, seconds: float) -> None:  # noqa: ANN001
    """How long the goodbye screen shows (set on the session, as the gui_kiosk fixture does)."""
    import dataclasses

    session = k.app.service._session
    session.config = dataclasses.replace(session.config, ended_display_s=seconds)


@pytest.mark.parametrize("size", [(800, 480), (720, 1280)], ids=["landscape", "portrait"])
def test_switches_mid_session_keep_every_screen_readable(gui_kiosk, size):
    problems: list[str] = []
    # The goodbye screen stays until the test lets it go (below): with a fixed 8 s it went home in
    # the middle of its audit whenever four switches took longer than that (a loaded machine), and
    # going home resets contrast and text size for the next patron under the test's feet.
    with gui_kiosk({"kiosk.require_pin": True, "kiosk.offline_policy": "none"}, size=size,
                   goodbye_s=3600.0) as k:
        d, app, lib, dev = k.driver, k.app, k.library, k.devices
        patron = next(p for p in lib["patrons"] if p["status"] == "ok" and p.get("pin") and p["loans"]
                      and any(h["status"] == "waiting" for h in p["holds"]))
        _cycle(k, "home", problems)
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        _cycle(k, "identify", problems)
        dev.card_reader.tap(patron["card"])
        d.until(lambda: app.view.needs_pin, 10, "the PIN pad")
        d.tap(d.button("1"))
        _cycle(k, "identify-pin", problems)
        d.tap(d.button("Delete"))
        for digit in patron["pin"]:
            d.tap(d.button(digit))
        d.tap(d.button("OK"))
        d.until_screen("items", 15)
        _cycle(k, "items-empty", problems)
        shelf = [i for i in lib["items"] if i["status"] == "available" and not i["holds"] and i["parts"] == 1]
        refused = next(i for i in lib["items"] if i["status"] == "available" and i["parts"] == 1
                       and any(h.get("card") != patron["card"] for h in i["holds"]))
        for item in shelf[:2] + [refused]:
            dev.tag_reader.place(item["barcode"])
        d.until(lambda: len(app.view.items) == 3 and all(
            i.state in ("done", "refused", "needs_staff") for i in app.view.items), 30, "three items")
        _cycle(k, "items-done-and-refused", problems, must_see=("Not possible", "Borrowed"))
        d.tap(d.button("Finish"))
        d.until_screen("receipt")
        _cycle(k, "receipt", problems)
        d.tap(d.button("No receipt"))
        d.until_screen("goodbye")
        _cycle(k, "goodbye", problems)
        assert d.screen == "goodbye"                   # audited there, not on the next screen
        _goodbye_for(k, 0.0)
        dev.tag_reader.clear()
        d.until_screen("home", 15)
        d.tap(d.button("My account"))
        d.until_screen("identify")
        dev.card_reader.tap(patron["card"])
        d.until(lambda: app.view.needs_pin, 10, "the PIN pad")
        for digit in patron["pin"]:
            d.tap(d.button(digit))
        d.tap(d.button("OK"))
        d.until_screen("account", 15)
        d.until(lambda: not app.view.busy and not app.view.patron.details_pending, 15, "account loaded")
        _cycle(k, "account", problems)
        d.tap(d.button("Done"))
        d.until_screen("home", 15)
        k.server.stop()                      # no library system and no offline policy: out of service
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        dev.card_reader.tap(patron["card"])
        d.until(lambda: app.view.needs_pin, 10, "the PIN pad")
        for digit in patron["pin"]:
            d.tap(d.button(digit))
        d.tap(d.button("OK"))
        d.until(lambda: d.screen == "out_of_service" or not app.view.online, 20, "the library found down")
        if d.screen != "out_of_service":
            d.tap(d.button("Cancel"))
        d.until_screen("out_of_service", 20)
        _cycle(k, "out_of_service", problems)
    assert not problems, "\n".join(problems)
