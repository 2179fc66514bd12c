"""Blocked, refused and cancelled sessions say one thing, and the right thing (issue 14 item 2)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def _visible_texts(k) -> list[str]:  # noqa: ANN001
    from kivy.core.window import Window

    from kiosk.ui.audit import visible_labels

    return [w.text for w in visible_labels(list(Window.children), Window)]


def test_blocked_patron_is_told_why_and_not_invited_to_place_items_and_cancel_says_goodbye(gui_kiosk):
    with gui_kiosk() as k:
        d, lib = k.driver, k.library
        fines = next(p for p in lib["patrons"] if p["status"] == "fines" and p["fines"] == "12.50")
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        k.devices.card_reader.tap(fines["card"])
        d.until_screen("items", 15)
        d.pump(0.3)
        shown = " | ".join(_visible_texts(k))
        assert "You have charges of €12.50 on your account." in shown, shown     # why, with the amount
        assert "Please pay or ask at the desk." in shown                          # the one thing to do
        assert "Place your items on the pad." not in shown, shown                 # not invited to place items
        assert "Borrowed: 0" not in shown
        d.tap(d.button("Done"))
        d.until_screen("goodbye", 15)
        d.pump(0.2)
        shown = " | ".join(_visible_texts(k))
        assert "Please take your items" not in shown and "See you soon." in shown, shown
        d.until_screen("home", 15)
        # cancelling at the card step: nothing was borrowed, so nothing to "take"
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        d.tap(d.button("Cancel"))
        d.until_screen("goodbye", 10)
        d.pump(0.2)
        shown = " | ".join(_visible_texts(k))
        assert "Please take your items" not in shown and "See you soon." in shown, shown


def test_goodbye_lists_the_items_that_were_not_borrowed(gui_kiosk):
    with gui_kiosk() as k:
        d, app, lib = k.driver, k.app, k.library
        patron = next(p for p in lib["patrons"] if p["status"] == "ok" and not p.get("pin") and p["loans"])
        ok = next(i for i in lib["items"] if i["status"] == "available" and not i["holds"] and i["parts"] == 1)
        held = next(i for i in lib["items"] if i["status"] == "available" and i["parts"] == 1
                    and any(h["card"] != patron["card"] for h in i["holds"]))
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        k.devices.card_reader.tap(patron["card"])
        d.until_screen("items", 15)
        for item in (ok, held):
            k.devices.tag_reader.place(item["barcode"])
        d.until(lambda: len(app.view.items) == 2 and all(i.state in ("done", "refused") for i in app.view.items),
                20, "both items")
        d.tap(d.button("Finish"))
        d.until_screen("receipt")
        d.tap(d.button("No receipt"))
        d.until_screen("goodbye", 10)
        d.pump(0.2)
        shown = " | ".join(_visible_texts(k))
        assert "Please take your items and your card." in shown
        assert f"{held['title'][:30]}" in shown and "Leave it at the desk." in shown, shown
        assert ok["title"] not in shown
