"""The staff station page on the touchscreen (its own process, like every GUI test).

Through the real app: staff home -> "Tags and shelves", a scanned barcode, blank tags placed on
the simulated pad (a two-part set: two tags, no tap between them), an overwrite that needs the
"Overwrite" button, then the shelf check listing only the items that need action -- and every
text of the page fits at 800x480 in the four staff languages, normal and large text.
Set KIOSK_STAFF_SHOTS=DIR to keep the screenshots.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui
PIN = "2468"
SHOTS = os.environ.get("KIOSK_STAFF_SHOTS")


def test_station_page_flow_and_fit(gui_kiosk):
    from kiosk.staff.auth import hash_secret
    from kiosk.tags import encode_tag
    from kiosk.ui.i18n import tr
    from kiosk.ui.palette import TOUCH_MIN
    from kiosk.ui.widgets import too_small
    from tests.test_ui_i18n_staff import _misfits

    with gui_kiosk({"staff.pin_hash": hash_secret(PIN)}) as k:
        d, app, dev = k.driver, k.app, k.devices
        items = k.library["items"]
        app.enter_staff()
        d.until_screen("staff")
        for digit in PIN:
            d.tap(d.button(digit))
        d.tap(d.button("OK"))
        d.until_screen("staff_home", 10)
        d.tap(d.button("Tags and shelves"))
        d.until_screen("staff_station")
        page = app.screen("staff_station")
        problems: dict[str, list[str]] = {}

        def look(name: str) -> None:
            for lang in ("en", "de", "es", "fr"):
                for large in (False, True):
                    app.set_language(lang)
                    app.theme.apply(app.theme.name, large_text=large)
                    page.show(page.desk.view)
                    d.pump(0.1)
                    found = _misfits(app.root_widget) + too_small(app.root_widget, TOUCH_MIN)
                    if found:
                        problems[f"{name}-{lang}{'-large' if large else ''}"] = found
                    if SHOTS:
                        d.screenshot(Path(SHOTS) / f"station-{name}-{lang}{'-large' if large else ''}.png")
            app.set_language("en")
            app.theme.apply(app.theme.name, large_text=False)
            page.show(page.desk.view)

        # a two-part set, scanned, then two blank tags one after the other: no tap in between
        box = next(i for i in items if i["parts"] == 2 and i["status"] == "available")
        idle = app.staff_mode._idle_ev
        dev.scanner.scan(box["barcode"])
        d.until(lambda: page.step == "place", 10, "the look-up")
        # a scan restarts staff mode's idle logout: a batch never touches the screen
        assert app.staff_mode._idle_ev is not idle and app.staff_mode.logged_in
        assert page.item_title == box["title"] and "1" in page.part_line
        look("place")
        first = dev.tag_reader.place_blank()
        d.until(lambda: page.desk.view.tags_done == 1, 10, "part 1")
        dev.tag_reader.remove(first)
        second = dev.tag_reader.place_blank()
        d.until(lambda: page.desk.view.items_done == 1, 10, "part 2")
        assert page.outcome == "ok" and page.message == tr("Done: written and verified. Scan the next item")
        assert [dev.tag_reader.read_tag(u).part_number for u in (first, second)] == [1, 2]
        look("done")
        dev.tag_reader.remove(second)

        # a tag that holds another item: nothing is written until staff tap "Overwrite"
        other = next(i for i in items if i["status"] == "available" and i["parts"] == 1)
        dev.scanner.scan(other["barcode"])
        d.until(lambda: page.step == "place", 10, "the second look-up")
        used = dev.tag_reader.place(data=encode_tag("28560-3", "1000000056", isil="DK-718500"))
        d.until(lambda: page.confirm, 10, "the overwrite question")
        assert "1000000056" in page.message and dev.tag_reader.read_tag(used).item_id == "1000000056"
        look("confirm")
        d.tap(d.button("Overwrite"))
        d.until(lambda: page.desk.view.items_done == 2, 10, "the overwrite")
        assert dev.tag_reader.read_tag(used).item_id == other["barcode"]
        dev.tag_reader.remove(used)
        d.until(lambda: not dev.tag_reader.tags, 5, "the pad empty")
        page.desk.drain()

        # shelf check: a stack on the pad; only the items that need action are listed
        d.tap(d.button("Shelf check"))
        d.until(lambda: page.mode == "shelf", 5, "shelf mode")
        on_loan = next(i for i in items if i["status"] == "on_loan" and i["parts"] == 1)
        fine = next(i for i in items if i["status"] == "available" and i["home_branch"] == "MAIN"
                    and not i["holds"] and i["parts"] == 1 and i["barcode"] != other["barcode"])
        for it in (on_loan, fine):
            dev.tag_reader.place(it["barcode"], isil=k.settings.tags.owner_isil)
        d.until(lambda: page.desk.view.seen == 2, 10, "the stack")
        listed = "\n".join(d.texts(page.ids.rows))
        assert on_loan["barcode"] in listed and fine["barcode"] not in listed
        assert page.need_action == 1
        # staff mode routes the barcode scanner to the shelf check too (an item without a tag)
        lost = next(i for i in items if i["status"] in ("lost", "missing") and i["barcode"] != on_loan["barcode"])
        dev.scanner.scan(lost["barcode"])
        d.until(lambda: page.desk.view.seen == 3, 10, "the scanned barcode")
        assert lost["barcode"] in "\n".join(d.texts(page.ids.rows)) and page.need_action == 2
        # the item just read is offered its action: a lost item found on the shelf is checked in
        assert page.offer == tr("Check it in")
        look("shelf")
        d.tap(d.button("Check it in"))
        d.until(lambda: page.desk.view.message == "checked_in", 10, "the check-in")
        assert lost["barcode"] not in "\n".join(d.texts(page.ids.rows)) and page.offer == ""
        assert k.server.db.loan_of_item(lost["barcode"]) is None
        assert [t["ok"] for t in k.server.db.transactions_for_item(lost["barcode"], "checkin")] == [1]
        d.tap(d.button("Change shelf"))
        for ch in "b7":
            d.tap(d.button(ch))
        d.tap(d.button("Done"))
        d.until(lambda: page.shelf == "B7", 5, "the new shelf label")
        assert not problems, "\n".join(f"{n}: {p}" for n, p in problems.items())
