"""SipIls against the demo library system (contract B): the two sides of the codec agree."""

from __future__ import annotations

import pytest

from kiosk.demo_ils import server as server_mod
from kiosk.sip2.client import Sip2Client
from kiosk.sip2.ils import SipIls
from kiosk.sip2.pool import Sip2Pool

pytestmark = pytest.mark.sip2_only("the SIP2 codec's two sides (SipIls and the demo server) agree; the FOLIO face: tests/test_demo_ils_folio.py")


@pytest.fixture
def demo(tmp_path):
    with server_mod.DemoIlsServer(tmp_path / "library.db") as srv:
        pool = Sip2Pool(lambda: Sip2Client("127.0.0.1", srv.port, user="kiosk", password="kiosk",
                                           institution="DEMO", location="KIOSK1", timeout_s=5), size=2)
        ils = SipIls(pool, institution="DEMO", location="KIOSK1")
        try:
            yield srv, ils
        finally:
            ils.close()


def _export(srv) -> dict:
    return srv.db.export()


def test_status_patron_checkout_checkin_round(demo):
    srv, ils = demo
    data = _export(srv)
    patron = next(p for p in data["patrons"] if p["status"] == "ok")
    item = next(i for i in data["items"] if i["circulation_status"] == "03" and not i["holds"])
    st = ils.status()
    assert st.online and st.checkout_ok
    who = ils.patron_information(patron["card"], patron["pin"])
    assert who.valid and who.pin_ok and who.can_checkout and who.name == patron["name"]
    assert not ils.patron_information(patron["card"], "wrong-pin").pin_ok
    assert not ils.patron_information("no-such-card").valid
    out = ils.checkout(patron["card"], item["barcode"])
    assert out.ok and out.due_date is not None and out.title == item["title"]
    info = ils.item_information(item["barcode"])
    assert info.on_loan and info.patron_id == patron["card"]
    back = ils.checkin(item["barcode"])
    assert back.ok and not back.not_on_loan
    again = ils.checkin(item["barcode"])
    assert again.not_on_loan
    after = {i["barcode"]: i for i in _export(srv)["items"]}[item["barcode"]]
    assert after["circulation_status"] == "03"


def test_blocked_patron_is_refused_with_a_reason(demo):
    srv, ils = demo
    data = _export(srv)
    blocked = next(p for p in data["patrons"] if not p["can_checkout"])
    item = next(i for i in data["items"] if i["circulation_status"] == "03" and not i["holds"])
    who = ils.patron_information(blocked["card"], blocked["pin"])
    assert not who.can_checkout or who.blocks
    out = ils.checkout(blocked["card"], item["barcode"])
    assert not out.ok and out.screen_message
