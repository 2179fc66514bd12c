"""Conformance: every valid request frame of the reference vectors, replayed against the demo library.

Vectors: /work/shared/reference/vectors/sip2_vectors.json (frames from Koha, Evergreen, jsip2,
node-sip2, PyPI sip2, a real self-check...).  Each request is sent exactly as published (their
patrons and items are unknown here, so the library must refuse the Koha way), then again with
the identifiers replaced by seeded ones (so the library must carry it out).  Every reply must
decode with our codec, be the right message, echo the sequence number and verify its checksum.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from kiosk.demo_ils.library import Library
from kiosk.demo_ils.server import DemoIlsServer
from kiosk.sip2 import codec as c
from tests.test_demo_ils_server import SipTestClient

pytestmark = pytest.mark.sip2_only("reference SIP2 request frames replayed against the demo library")

REPO_VECTORS = Path(__file__).parent / "data" / "sip2_vectors.json"      # copy kept in the repository
VECTORS = Path("/work/shared/reference/vectors/sip2_vectors.json")


def request_vectors() -> list[bytes]:
    path = REPO_VECTORS if REPO_VECTORS.exists() else VECTORS
    vectors = json.loads(path.read_text())
    frames = []
    for v in vectors:
        if not v["checksum_ok"] or v["message"][:2] not in c.REQUESTS:
            continue
        raw = bytes.fromhex(v["bytes_hex_if_non_ascii"]) if v["bytes_hex_if_non_ascii"] else v["message"].encode()
        frames.append(raw)
    return frames


FRAMES = request_vectors()


def test_vectors_cover_every_request_message():
    assert {f[:2].decode() for f in FRAMES} >= {"93", "99", "97", "23", "63", "11", "09", "29", "65", "17",
                                                  "35", "37", "15", "01", "25", "19"}
    assert len(FRAMES) >= 50


@pytest.fixture
def server(tmp_path):
    with DemoIlsServer(tmp_path / "conformance.sqlite") as srv:
        yield srv


def check_reply(raw: bytes, request: bytes) -> c.Message:
    """Every reply: decodes, right message code, checksum present and valid, sequence echoed."""
    req = c.decode_frame(request)
    d = c.decode_frame(raw, require_checksum=True)
    assert d.record.code == c.RESPONSE_TO[req.record.code], (request, raw)
    assert d.seq == req.seq
    return d.record


def test_published_frames_are_refused_the_koha_way(server):
    cl = SipTestClient(server.port)
    assert cl.login()
    previous = b""
    try:
        for frame in FRAMES:
            code = frame[:2].decode()
            raw = cl.send_raw(frame + b"\r")
            if code == "97":
                assert raw == previous
                continue
            reply = check_reply(raw, frame)
            previous = raw
            if code == "93":                       # other projects' credentials
                assert reply.ok is False
                assert cl.login()
            elif code == "99":
                assert reply.online_status is True and reply.supported_messages == "Y" * 16
            elif code in ("23", "01"):
                assert reply.valid_patron is False and reply.patron_status.startswith("YYYY")
            elif code == "63":
                assert reply.valid_patron is False and reply.screen_message == "Invalid cardnumber"
            elif code == "25":
                assert reply.valid_patron is False
            elif code in ("11", "29"):
                assert not reply.ok and not reply.renewal_ok and reply.due_date == ""
                assert reply.screen_message in ("Invalid Patron", "Invalid Item", "Item not checked out to you")
            elif code == "09":                     # Koha: 100NUY ... |CV99|AFInvalid Item| without AQ
                assert raw.startswith(b"100NUY") and reply.alert_type == "99"
                assert reply.permanent_location is None and reply.screen_message == "Invalid Item"
            elif code == "17":
                assert (reply.circulation_status, reply.title) == ("01", "")
            elif code == "19":
                assert reply.item_properties_ok == "0"
            elif code == "35":
                assert reply.end_session is True
            elif code == "37":
                assert reply.payment_accepted is False
            elif code in ("15", "65"):
                assert reply.ok is False
            else:                                   # pragma: no cover - a new request code in the vectors
                pytest.fail(f"no rule for {code}")
    finally:
        cl.close()
    assert server.db.transactions(ok=True) == []    # nothing happened to the library


def test_same_frames_with_seeded_ids_are_carried_out(server):
    db = server.db
    lib = Library(db)
    exp = db.export()
    clean = [p for p in exp["patrons"] if p["status"] == "ok" and p["pin"] and not p["loans"]]
    lender = clean.pop()                  # has the items the hold requests are placed on
    patrons = iter(clean * 8)
    items = iter([i["barcode"] for i in exp["items"] if i["status"] == "available" and i["media"] == "book"
                  and not i["holds"] and i["home_branch"] == "MAIN"])
    fined = next(p for p in exp["patrons"] if p["status"] == "fines" and p["pin"])
    cl = SipTestClient(server.port)
    assert cl.login()
    try:
        for frame in FRAMES:
            code = frame[:2].decode()
            if code in ("93", "97", "99"):
                continue
            decoded = c.decode_frame(frame)
            rec = decoded.record
            p = fined if code == "37" else next(patrons)
            changes: dict = {"institution_id": "DEMO"}
            if hasattr(rec, "patron_id"):
                changes["patron_id"] = p["card"]
            if getattr(rec, "patron_password", None):
                changes["patron_password"] = p["pin"]
            barcode = next(items)
            if getattr(rec, "item_id", None) is not None:
                changes["item_id"] = barcode
            rec = dataclasses.replace(rec, **changes)
            if code in ("09", "29") or (code == "11" and rec.cancel) or (code == "15" and rec.hold_mode == "+"):
                assert lib.checkout(p["card"] if code != "15" else lender["card"], barcode).ok
            raw = cl.send_raw(c.encode(rec, seq=decoded.seq, error_detection=True))
            reply = check_reply(raw, c.encode(rec, seq=decoded.seq))
            card = p["card"]
            if code in ("23", "63"):
                assert reply.valid_patron and reply.personal_name == p["name"]
                assert reply.valid_patron_password is bool(rec.patron_password)
            elif code == "25":
                assert reply.valid_patron and reply.personal_name == p["name"]
            elif code == "01":
                assert reply.patron_status[0] == "Y" and db.patron(card).status == "blocked"
                assert lib.enable_patron(card)   # staff lift the block: the patron is reused below
            elif code == "11" and rec.cancel:
                assert reply.ok and db.loan_of_item(barcode) is None
            elif code == "11":
                assert reply.ok and not reply.renewal_ok, reply.screen_message
                assert db.loan_of_item(barcode).card == card
                if rec.no_block and rec.nb_due_date:
                    assert c.parse_due_date(reply.due_date) == rec.nb_due_date
            elif code == "09":
                assert reply.ok and not reply.alert and db.loan_of_item(barcode) is None
                assert len(db.checkins_of(barcode)) == 1
            elif code == "29":
                if rec.item_id is None:
                    assert not reply.ok and reply.screen_message == "Invalid Item"
                else:
                    assert reply.ok and reply.renewal_ok and db.loan_of_item(barcode).renewals == 1
            elif code == "65":
                assert reply.ok
            elif code == "17":
                assert reply.circulation_status == "03" and reply.title and reply.item_id == barcode
            elif code == "19":
                assert reply.item_properties_ok == "1" and db.item_row(barcode)["properties"] == rec.item_properties
            elif code == "35":
                assert reply.end_session
            elif code == "37":
                assert reply.payment_accepted, reply.screen_message
            elif code == "15":
                if rec.hold_mode == "+" and rec.item_id:
                    assert reply.ok and db.holds_on(barcode)[0].card == card
                else:
                    assert not reply.ok
    finally:
        cl.close()
