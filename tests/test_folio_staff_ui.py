"""`kiosk demo --set ils.protocol=folio` end to end: the real app over FolioIls against the demo
library's FOLIO face, and the staff settings page switching protocol and testing the FOLIO link."""

from __future__ import annotations

import pytest

from tests.test_staff_ui import _enter, _shot

pytestmark = pytest.mark.gui
PIN = "2468"


def _tap_again(k, text: str) -> None:  # noqa: ANN001
    """Tap a button this test tapped a moment ago: a person's taps are seconds apart, the test's
    can be closer than the 0.35 s debounce (then the tap was dropped and the test waited 20 s for
    an answer to a question never asked -- more often the faster the machine)."""
    button = k.driver.button(text)
    button._last_release = 0.0
    k.driver.tap(button)


def test_the_kiosk_over_folio_and_its_staff_settings(gui_kiosk):
    from kiosk.circulation import view as v
    from kiosk.folio.ils import FolioIls
    from kiosk.staff.auth import hash_secret

    with gui_kiosk({"staff.pin_hash": hash_secret(PIN), "ils.protocol": "folio"}) as k:
        d, app = k.driver, k.app
        assert isinstance(app.service.ils, FolioIls)
        export = k.server.db.export()
        card = next(p["card"] for p in export["patrons"] if p["status"] == "ok" and p["can_checkout"])
        item = next(i["barcode"] for i in export["items"] if i["status"] == "available" and not i["holds"]
                    and i["parts"] == 1 and not i["scenario"])
        app.service.card_presented(card)
        app.service.wait_idle(20)
        app.service.item_seen(item, source="barcode")
        app.service.wait_idle(20)
        line = next(x for x in app.service.view().items if x.item_id == item)
        assert line.state == v.DONE and line.due_date, line
        assert k.server.db.loan_of_item(item).card == card      # FOLIO's loan is the library's loan
        app.service.finish("none")
        app.service.wait_idle(20)

        _enter(k, PIN)
        d.until_screen("staff_home")
        d.tap(d.button("Settings"))
        d.until_screen("staff_settings")
        page = app.screen("staff_settings")
        d.settle()
        assert page.folio and "Gateway URL" in d.texts() and page.url.startswith("http://127.0.0.1:")
        d.tap(d.button("Test connection"))
        d.until(lambda: page.connection.startswith(("Connected", "No connection")), 20, "the FOLIO test")
        assert page.connection.startswith("Connected"), page.connection
        _shot(k, "staff-settings-folio")
        # a wrong tenant, typed on the on-screen keyboard: the test names what failed
        d.tap(d.button(page.tenant))
        assert page.editing == "ils.tenant"
        d.settle()
        for ch in "xyz":
            d.tap(d.button(ch))
        # under load the key row may still be settling after three quick taps: wait for Done to be
        # there (and enabled) instead of failing on the first frame that lacks it
        d.until(lambda: bool(d.find(lambda w: getattr(w, "text", None) == "Done" and not w.disabled
                                    and w.opacity > 0)), 10, "the keyboard's Done key")
        d.tap(d.button("Done"))
        assert page.form["ils.tenant"] == "dikuxyz"
        _tap_again(k, "Test connection")
        d.until(lambda: page.connection.startswith(("Connected", "No connection")), 20, "the FOLIO test")
        assert page.connection.startswith("No connection") and "dikuxyz" in page.connection
        _shot(k, "staff-settings-folio-refused")
        # back to SIP2: host and port again, and that link works too (one demo library)
        d.tap(d.button("SIP2"))
        d.settle()
        assert not page.folio and "Host name" in d.texts()
        _tap_again(k, "Test connection")
        d.until(lambda: page.connection.startswith(("Connected", "No connection")), 20, "the SIP2 test")
        assert page.connection.startswith("Connected"), page.connection
