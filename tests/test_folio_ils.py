"""FolioIls against the demo library's FOLIO face and against scripted replies shaped as FOLIO's
documentation says (folio.md): tokens, refusals, lost replies settled with the loans query,
permissions, and the staff tools (config check, `kiosk ils`, doctor)."""

from __future__ import annotations

import json

import pytest

from kiosk import config
from kiosk.cli import main as kiosk_main
from kiosk.demo_ils.folio_http import ALL_PERMISSIONS, FolioDemoServer
from kiosk.errors import ConfigError, IlsUnavailable, OutcomeUnknown
from kiosk.exitcodes import EXIT_CONFIG, EXIT_OK, EXIT_UNREACHABLE
from kiosk.folio.auth import TokenManager
from kiosk.folio.http import FolioHttp
from kiosk.folio.ils import FolioIls, FolioPermissionError
from tests.test_crash_harness import ROOT


def make_ils(url, *, timeout_s=5.0, pool=2, sp="main", tenant="diku", password="kiosk"):
    http = FolioHttp(url, tenant, timeout_s=timeout_s, pool_size=pool)
    return FolioIls(http, TokenManager(http, "kiosk", lambda: password), sp, post_timeout_s=timeout_s)


@pytest.fixture
def demo(tmp_path, seeded_library):
    import shutil
    made = []

    def start(**kw):
        shutil.copy(seeded_library, tmp_path / "library.sqlite3")
        srv = FolioDemoServer(tmp_path / "library.sqlite3", **kw).start()
        ils = make_ils(srv.url)
        made.append((srv, ils))
        return srv, ils, srv.db.export()
    yield start
    for srv, ils in made:
        ils.close()
        srv.stop()


def ok_patron(export, i=0):
    return [p for p in export["patrons"] if p["status"] == "ok" and p["can_checkout"]][i]


def shelf(export, n, skip=0):
    items = [i["barcode"] for i in export["items"]
             if i["status"] == "available" and not i["holds"] and i["parts"] == 1 and not i["scenario"]]
    return items[skip:skip + n]


def checkouts(db, barcode):
    return [t for t in db.transactions_for_item(barcode) if t["kind"] in ("checkout", "renewal") and t["ok"]]


# ---- identification, circulation ----------------------------------------------------------
def test_patron_loans_holds_pin_and_blocks(demo):
    srv, ils, export = demo()
    p = next(x for x in export["patrons"] if x["status"] == "ok" and x["loans"] and x["holds"] and x["pin"])
    patron = ils.patron_information(p["card"], p["pin"])
    assert patron.valid and patron.pin_ok and patron.can_checkout
    assert sorted(lo.item_id for lo in patron.loans) == sorted(p["loans"])
    assert all(lo.title and lo.due_date for lo in patron.loans)
    assert {h.item_id for h in patron.holds} == {h["barcode"] for h in p["holds"]}
    assert ils.patron_information(p["card"], "not-it").pin_ok is False
    assert not ils.patron_information("no-such-card").valid
    for status in ("expired", "blocked", "fines"):
        bad = next(x for x in export["patrons"] if x["status"] == status)
        assert not ils.patron_information(bad["card"]).can_checkout, status


def test_checkout_checkin_renew_and_their_refusals(demo):
    srv, ils, export = demo()
    card = ok_patron(export)["card"]
    item, = shelf(export, 1)
    r = ils.checkout(card, item)
    assert r.ok and r.due_date and r.title and not r.resolved
    info = ils.item_information(item)
    assert info.on_loan and info.patron_id == card and info.due == r.due
    # a set of several parts says so (FOLIO's numberOfPieces), as the tag station reads it from SIP2
    from kiosk.station.program import parts_from_text

    box = next(i for i in export["items"] if i["parts"] == 2)
    assert parts_from_text(ils.item_information(box["barcode"]).screen_message) == 2
    assert parts_from_text(info.screen_message) is None
    # the same patron scanning it again: FOLIO says "already checked out"; the open loan is theirs
    again = ils.checkout(card, item)
    assert again.ok and len(checkouts(srv.db, item)) == 1
    other = ok_patron(export, 1)["card"]
    refused = ils.checkout(other, item)
    assert not refused.ok and refused.reason_key == "on_loan_to_other"
    # FOLIO's 422 names no item; the patron's "not borrowed" list still says which book
    assert refused.title == next(i["title"] for i in export["items"] if i["barcode"] == item)
    assert ils.renew(card, item).reason_key == "renewal_too_soon"     # due date would not move
    back = ils.checkin(item)
    assert back.ok and srv.db.loan_of_item(item) is None
    assert ils.checkin(item).ok                                      # not on loan: still a return (200)
    gone = ils.renew(card, item)                                     # the 500 "More than one open loan"
    assert not gone.ok and gone.reason_key == "not_checked_out"
    assert ils.checkout(card, "no-such-item").reason_key == "unknown_item"
    assert ils.checkin("no-such-item").reason_key == "unknown_item"
    expired = next(x for x in export["patrons"] if x["status"] == "expired")["card"]
    assert ils.checkout(expired, shelf(export, 1, skip=1)[0]).reason_key == "card_expired"


def test_offline_return_keeps_its_date(demo):
    from datetime import datetime, timedelta
    srv, ils, export = demo()
    item = next(i for i in export["items"] if i["status"] == "on_loan" and not i["holds"])["barcode"]
    when = datetime.now().replace(microsecond=0) - timedelta(hours=10)
    assert ils.checkin(item, no_block=True, transaction_date=when, return_date=when).ok
    (t,) = [t for t in srv.db.checkins_of(item)]
    assert abs(datetime.fromisoformat(t["transaction_date"]) - when) < timedelta(seconds=1)


# ---- tokens (folio.md §1) -------------------------------------------------------------------
def test_expired_token_is_refreshed_once_and_a_refresh_token_never_reused(demo):
    srv, ils, export = demo()
    card = ok_patron(export)["card"]
    ils.patron_information(card)
    assert ils.auth.logins == 1
    srv.expire_access_tokens()                  # mid-stack: the next call gets 401 Invalid token
    item, = shelf(export, 1)
    assert ils.checkout(card, item).ok and len(checkouts(srv.db, item)) == 1
    assert ils.auth.refreshes == 1 and ils.auth.logins == 1
    # the server revokes every refresh token when one is presented twice; ours is used once
    srv.expire_access_tokens()
    assert ils.item_information(item).on_loan
    assert ils.auth.refreshes == 2 and ils.auth.logins == 1
    assert [c for c in srv.calls if c[1] == "/authn/refresh" and c[2] != 201] == []


def test_short_lived_tokens_are_renewed_before_they_expire(demo):
    srv, ils, export = demo(access_ttl_s=2.0)
    import time
    card = ok_patron(export)["card"]
    ils.patron_information(card)
    time.sleep(1.6)                             # inside the refresh margin (a quarter of the lifetime)
    ils.patron_information(card)
    assert ils.auth.refreshes == 1
    assert [c for c in srv.calls if c[2] == 401] == []      # renewed before, not after a refusal


def test_wrong_password_and_missing_permission(demo):
    srv, ils, export = demo(permissions=ALL_PERMISSIONS - {"circulation.check-out-by-barcode.post"})
    bad = make_ils(srv.url, password="nope")
    with pytest.raises(IlsUnavailable, match="wrong user name or password"):
        bad.status()
    bad.close()
    card = ok_patron(export)["card"]
    item, = shelf(export, 1)
    with pytest.raises(FolioPermissionError) as exc:
        ils.checkout(card, item)
    assert exc.value.permission == "circulation.check-out-by-barcode.post"
    assert checkouts(srv.db, item) == []


def test_service_point_code_looked_up_once(demo):
    srv, ils, export = demo()
    sp = ils.service_point_id()
    ils.service_point_id()
    assert len([c for c in srv.calls if c[1] == "/service-points"]) == 1 and len(sp) == 36
    nowhere = make_ils(srv.url, sp="attic")
    with pytest.raises(IlsUnavailable, match="no service point"):
        nowhere.status()
    nowhere.close()


# ---- no doubles (folio.md §7) ---------------------------------------------------------------
@pytest.mark.parametrize("fault", ["drop_after", "502_after", "504_after"])
def test_lost_checkout_reply_is_settled_by_the_loans_query_not_resent(demo, fault):
    srv, ils, export = demo()
    card = ok_patron(export)["card"]
    item, = shelf(export, 1)
    srv.fail_next("POST", "/circulation/check-out-by-barcode", fault)
    r = ils.checkout(card, item)
    assert r.ok and r.resolved and r.due_date
    assert len(checkouts(srv.db, item)) == 1
    assert srv.received.count(("POST", "/circulation/check-out-by-barcode")) == 1     # never resent


def test_lost_checkout_that_did_not_happen_is_sent_once_more(demo):
    srv, ils, export = demo()
    card = ok_patron(export)["card"]
    item, = shelf(export, 1)
    srv.fail_next("POST", "/circulation/check-out-by-barcode", "drop_before")
    r = ils.checkout(card, item)
    assert r.ok and r.resolved and len(checkouts(srv.db, item)) == 1
    srv.fail_next("POST", "/circulation/check-out-by-barcode", "drop_before", 2)
    other, = shelf(export, 1, skip=1)
    with pytest.raises(OutcomeUnknown):
        ils.checkout(card, other)
    assert checkouts(srv.db, other) == []


def test_lost_checkout_unreadable_loans_is_unknown(demo):
    srv, ils, export = demo()
    card = ok_patron(export)["card"]
    item, = shelf(export, 1)
    srv.fail_next("POST", "/circulation/check-out-by-barcode", "drop_after")
    srv.fail_next("GET", "/circulation/loans", "drop_before", 2)   # the read and its one retry
    with pytest.raises(OutcomeUnknown):
        ils.checkout(card, item)
    # the next call for that item settles first: no second loan whatever the engine does next
    r = ils.checkout(card, item)
    assert r.ok and r.resolved and len(checkouts(srv.db, item)) == 1


def test_lost_checkin_and_renewal_replies(demo):
    srv, ils, export = demo()
    loaned = [i for i in export["items"] if i["status"] == "on_loan" and not i["holds"]]
    item = loaned[0]["barcode"]
    srv.fail_next("POST", "/circulation/check-in-by-barcode", "drop_after")
    assert ils.checkin(item).ok and len(srv.db.checkins_of(item)) == 1
    srv.fail_next("POST", "/circulation/check-in-by-barcode", "drop_before")
    item2 = loaned[1]["barcode"]
    assert ils.checkin(item2).ok and len(srv.db.checkins_of(item2)) == 1
    # a renewal: settled by renewalCount/dueDate; renewed once only
    card = ok_patron(export)["card"]
    book = next(i["barcode"] for i in export["items"] if i["status"] == "available" and i["media"] == "book"
                and not i["holds"] and not i["scenario"])
    assert ils.checkout(card, book).ok
    with srv.db.transaction() as conn:          # make a renewal move the due date: loaned a week ago
        conn.execute("UPDATE loans SET due_at = datetime(due_at, '-7 days') WHERE barcode = ? "
                     "AND returned_at IS NULL", (book,))
    srv.fail_next("POST", "/circulation/renew-by-barcode", "drop_after")
    r = ils.renew(card, book)
    assert r.ok and r.resolved and r.renewal
    assert srv.db.loan_of_item(book).renewals == 1


# ---- staff tools ----------------------------------------------------------------------------
def test_config_check_names_the_folio_keys(tmp_path):
    with pytest.raises(ConfigError) as exc:
        config.load(None, ["ils.protocol=folio"])
    text = str(exc.value)
    for key in ("url:", "tenant:", "user:", "password_file:", "service_point:"):
        assert key in text
    with pytest.raises(ConfigError, match="url: expected an http"):
        config.load(ROOT / "config" / "demo.toml", ["ils.protocol=folio", "ils.url=okapi.example.org"])
    with pytest.raises(ConfigError, match="expected one of sip2, folio"):
        config.load(None, ["ils.protocol=z3950"])
    s = config.load(ROOT / "config" / "demo.toml", ["ils.protocol=folio"])
    assert (s.ils.tenant, s.ils.service_point) == ("diku", "main")
    assert config.load(None).ils.protocol == "sip2"


def test_kiosk_ils_command_both_protocols(demo, tmp_path, capsys):
    srv, ils, export = demo()
    card = ok_patron(export)["card"]
    item, = shelf(export, 1)
    base = ["--config", str(ROOT / "config" / "demo.toml"), "--set", f"storage.data_dir={tmp_path}"]
    folio = base + ["--set", "ils.protocol=folio", "--set", f"ils.url={srv.url}"]
    assert kiosk_main(["ils", *folio, "checkout", card, item]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert out["protocol"] == "folio" and out["ok"] and out["due"]
    assert kiosk_main(["ils", *folio, "item", item]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["patron_id"] == card
    assert kiosk_main(["ils", *folio, "checkout", card, "nope"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["reason_key"] == "unknown_item"
    assert kiosk_main(["ils", *folio, "--set", "ils.url=http://127.0.0.1:9", "status"]) == EXIT_UNREACHABLE
    assert kiosk_main(["ils", *base, "--set", "ils.protocol=folio", "--set", "ils.tenant=", "status"]) == EXIT_CONFIG
    from kiosk.demo_ils.server import DemoIlsServer
    with DemoIlsServer(srv.db.path if hasattr(srv.db, "path") else tmp_path / "library.sqlite3") as sip:
        assert kiosk_main(["ils", *base, "--set", f"ils.port={sip.port}", "item", item]) == EXIT_OK
        out = json.loads(capsys.readouterr().out)
        assert out["protocol"] == "sip2" and out["circulation_status"] == "04"


def test_doctor_names_the_missing_permission(demo, tmp_path):
    from kiosk.hardware.doctor import check_library_system
    srv, ils, export = demo(permissions=ALL_PERMISSIONS - {"patron-pin.validate"})
    s = config.load(ROOT / "config" / "demo.toml", ["ils.protocol=folio", f"ils.url={srv.url}"])
    check = check_library_system(s)
    assert not check.ok and "patron-pin.validate" in check.hint and "patron-pin.validate" in check.detail
    srv.permissions = set(ALL_PERMISSIONS)
    check = check_library_system(s)
    assert check.ok and "Main Library" in check.detail
    assert checkouts(srv.db, shelf(export, 1)[0]) == []


def test_the_kiosk_limits_pin_attempts_because_folio_does_not(demo):
    srv, ils, export = demo()
    p = next(x for x in export["patrons"] if x["status"] == "ok" and x["pin"])
    clock = [1000.0]
    ils.monotonic = lambda: clock[0]
    for _ in range(5):
        assert ils.patron_information(p["card"], "0000").pin_ok is False
    sent = srv.received.count(("POST", "/patron-pin/verify"))
    locked = ils.patron_information(p["card"], p["pin"])          # the right PIN, but locked now
    assert locked.pin_ok is False and "Too many wrong PINs" in locked.screen_message
    assert srv.received.count(("POST", "/patron-pin/verify")) == sent     # not even asked
    assert not ils.checkout(p["card"], shelf(export, 1)[0], pin=p["pin"]).ok
    clock[0] += 901                                                # the lock-out ends
    assert ils.patron_information(p["card"], p["pin"]).pin_ok is True


def test_a_return_resent_later_keeps_its_original_check_in_date(demo):
    from datetime import datetime, timedelta
    srv, ils, export = demo()
    item = next(i for i in export["items"] if i["status"] == "on_loan" and not i["holds"])["barcode"]
    dropped = datetime.now().replace(microsecond=0) - timedelta(hours=6)     # dropped in the night
    srv.fail_next("POST", "/circulation/check-in-by-barcode", "drop_before", 2)
    with pytest.raises(OutcomeUnknown):
        ils.checkin(item, return_date=dropped)
    assert srv.db.loan_of_item(item) is not None
    assert ils.checkin(item).ok                 # the engine's later retry carries no date of its own
    (t,) = srv.db.checkins_of(item)
    assert abs(datetime.fromisoformat(t["transaction_date"]) - dropped) < timedelta(seconds=1)


def test_status_asks_folio_every_time_so_a_library_gone_down_is_noticed(demo):
    """The engine's probe calls status() to learn whether the library is there; with the token and
    the service point cached it must still ask, or a kiosk never notices FOLIO went away."""
    srv, ils, export = demo()
    assert ils.status().online and ils.status().library_name == "Main Library"
    srv.stop()                     # its keep-alive connections close with it
    with pytest.raises(IlsUnavailable):
        ils.status()
