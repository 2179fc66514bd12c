"""The demo library's database and circulation operations (no sockets): seed, export, rules applied."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta

import pytest

from kiosk.demo_ils import rules
from kiosk.demo_ils.db import LibraryDb
from kiosk.demo_ils.library import Library

NOW = datetime(2026, 11, 29, 14, 0, 0)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def db(tmp_path, clock):
    d = LibraryDb(tmp_path / "library.sqlite", clock=clock)
    d.seed()
    yield d
    d.close()


@pytest.fixture
def lib(db):
    return Library(db)


@pytest.fixture
def export(db):
    return db.export()


def patron_with(export, status="ok", no_loans=True, pin=True):
    for p in export["patrons"]:
        if p["status"] == status and (not no_loans or not p["loans"]) and (p["pin"] is not None) == pin \
                and not p["holds"]:
            return p
    raise LookupError(status)


def available_items(export, media="book", home="MAIN"):
    return [i for i in export["items"] if i["status"] == "available" and i["media"] == media
            and i["home_branch"] == home and not i["holds"]]


# ----------------------------------------------------------------------------------------- seed
def test_seed_has_the_required_library(export):
    patrons, items = export["patrons"], export["items"]
    assert len(patrons) >= 20 and len(items) >= 200
    statuses = {p["status"] for p in patrons}
    assert {"ok", "expired", "fines", "blocked", "lost_card", "loan_limit"} <= statuses
    assert any(p["pin"] is None and p["status"] == "ok" for p in patrons)
    assert any(p["pin"] and p["status"] == "ok" for p in patrons)
    assert {"book", "dvd", "magazine", "set"} <= {i["media"] for i in items}
    assert {"on_loan", "lost", "withdrawn", "available", "on_hold_shelf", "in_transit"} <= {i["status"] for i in items}
    assert any(h["pickup"] == "MAIN" for i in items for h in i["holds"])
    assert any(h["pickup"] == "EAST" for i in items for h in i["holds"])
    assert any(i["parts"] > 1 for i in items)
    assert any(i["home_branch"] == "EAST" for i in items)
    # every item has a barcode and a unique RFID tag UID; titles keep their accents
    assert len({i["tag_id"] for i in items}) == len(items)
    assert all(len(i["tag_id"]) == 16 and i["tag_id"].startswith("E004") for i in items)
    assert any("é" in i["title"] for i in items) and any("ö" in i["title"] or "ø" in i["title"] for i in items)
    # a loan at its renewal limit and overdue fines exist
    assert any(i["borrower"] and i["renewals"] >= i["renewals_max"] for i in items)
    assert any(float(p["fines"]) > 0 for p in patrons)


def test_seed_is_deterministic_and_not_repeated(tmp_path, clock, export, db):
    other = LibraryDb(tmp_path / "other.sqlite", clock=clock)
    other.seed()
    assert other.export()["items"] == export["items"]
    assert other.export()["patrons"] == export["patrons"]
    assert db.seed() is False                         # an existing library is kept
    other.close()


def test_state_survives_reopen_and_reset_reseeds(tmp_path, clock, db, lib, export):
    p = patron_with(export)
    it = available_items(export)[0]
    assert lib.checkout(p["card"], it["barcode"]).ok
    db.close()
    again = LibraryDb(tmp_path / "library.sqlite", clock=clock)
    again.seed()
    assert again.loan_of_item(it["barcode"]).card == p["card"]
    again.seed(reset=True)
    assert again.loan_of_item(it["barcode"]) is None
    assert again.transactions() == []
    again.close()


def test_export_json_cli_prints_the_same_export(tmp_path):
    path = tmp_path / "cli.sqlite"
    out = subprocess.run([sys.executable, "-m", "kiosk", "demo-ils", "--db", str(path), "--export-json"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    data = json.loads(out)
    assert len(data["items"]) >= 200 and {"card", "pin", "status"} <= set(data["patrons"][0])
    assert {"barcode", "tag_id", "title", "status", "holds"} <= set(data["items"][0])


# ------------------------------------------------------------------------------------ checkout
def test_checkout_then_repeat_is_a_renewal_logged_once_each(db, lib, export):
    p = patron_with(export)
    it = available_items(export)[0]
    first = lib.checkout(p["card"], it["barcode"])
    assert first.ok and not first.renewal and first.due_at == rules.due_date("book", NOW)
    again = lib.checkout(p["card"], it["barcode"])
    assert again.ok and again.renewal
    assert len(db.checkouts_of(it["barcode"])) == 1
    assert len(db.transactions_for_item(it["barcode"], "renewal")) == 1
    assert [ln.barcode for ln in db.loans_of(p["card"])] == [it["barcode"]]


@pytest.mark.parametrize("status,reason", [("expired", "expired"), ("fines", "fines"), ("blocked", "debarred"),
                                           ("lost_card", "lost"), ("loan_limit", "Too many items"),
                                           ("overdue", "overdue")])
def test_blocked_patrons_are_refused_with_reason(lib, export, status, reason):
    p = next(p for p in export["patrons"] if p["status"] == status)
    out = lib.checkout(p["card"], available_items(export)[0]["barcode"])
    assert not out.ok and reason in out.message


def test_item_on_hold_shelf_for_someone_else_is_refused_and_its_patron_gets_it(db, lib, export):
    it = next(i for i in export["items"] if i["status"] == "on_hold_shelf")
    holder = it["holds"][0]["card"]
    other = patron_with(export)
    assert lib.checkout(other["card"], it["barcode"]).message == "Item is on hold for another patron."
    assert lib.checkout(holder, it["barcode"]).ok
    assert db.holds_on(it["barcode"]) == []           # the hold was filled


def test_rental_fee_charged_once_acknowledged(db, lib, export):
    p = patron_with(export)
    it = next(i for i in export["items"] if i["media"] == "dvd-new" and i["status"] == "available")
    refused = lib.checkout(p["card"], it["barcode"])
    assert not refused.ok and refused.fee == 200
    assert lib.checkout(p["card"], it["barcode"], fee_acknowledged=True).ok
    assert db.amount_owed(p["card"]) == 200


def test_no_block_checkout_accepted_with_original_dates_even_when_blocked(db, lib, export):
    p = next(p for p in export["patrons"] if p["status"] == "fines")
    it = available_items(export)[1]
    when, promised = NOW - timedelta(days=1), datetime(2026, 12, 24, 23, 59)
    out = lib.checkout(p["card"], it["barcode"], no_block=True, transaction_date=when, nb_due_date=promised)
    assert out.ok and out.due_at == promised
    hist = db.loan_history(it["barcode"])[-1]
    assert hist["issued_at"] == "2026-11-28 14:00:00" and hist["offline"] == 1


def test_cancelled_checkout_undoes_the_loan(db, lib, export):
    p = patron_with(export)
    it = available_items(export)[2]
    lib.checkout(p["card"], it["barcode"])
    assert lib.cancel_checkout(p["card"], it["barcode"]).ok
    assert db.loan_of_item(it["barcode"]) is None


# ------------------------------------------------------------------------------------- checkin
def test_checkin_routes_holds_here_elsewhere_and_other_branch(db, lib, export):
    here = next(i for i in export["items"] if i["borrower"] and i["holds"] and i["holds"][0]["pickup"] == "MAIN")
    out = lib.checkin(here["barcode"])
    assert out.ok and out.alert_type == "01" and out.hold_card == here["holds"][0]["card"] and out.hold_name
    assert db.holds_on(here["barcode"])[0].status == "waiting"
    assert db.export()["items"][[i["barcode"] for i in export["items"]].index(here["barcode"])]["status"] == \
        "on_hold_shelf"
    away = next(i for i in export["items"] if i["borrower"] and i["holds"] and i["holds"][0]["pickup"] == "EAST")
    out = lib.checkin(away["barcode"])
    assert out.alert_type == "02" and out.destination == "EAST"
    east = next(i for i in export["items"] if i["home_branch"] == "EAST" and i["status"] == "available")
    out = lib.checkin(east["barcode"])
    assert not out.ok and out.message == "Item not checked out"       # not on loan: Koha's answer
    assert out.alert_type == "04" and out.destination == "EAST"


def test_checkin_twice_closes_loan_once(db, lib, export):
    it = next(i for i in export["items"] if i["borrower"] and not i["holds"] and i["home_branch"] == "MAIN")
    assert lib.checkin(it["barcode"]).ok
    second = lib.checkin(it["barcode"])
    assert not second.ok and second.message == "Item not checked out"
    assert len(db.checkins_of(it["barcode"])) == 1
    assert len(db.transactions_for_item(it["barcode"], "checkin")) == 2


def test_checked_in_ok_account_flag(db, export):
    it = available_items(export)[3]
    assert Library(db, checked_in_ok=True).checkin(it["barcode"]).ok


def test_unknown_item_checkin(lib):
    out = lib.checkin("nope")
    assert not out.ok and not out.item_known and out.alert_type == "99"


def test_overdue_fine_charged_at_return_and_backdated_return_removes_later_fines(db, lib, export, clock):
    p = next(p for p in export["patrons"] if "one overdue book" in p["scenario"])
    overdue = [ln for ln in db.loans_of(p["card"]) if ln.due_at < NOW]
    assert len(overdue) == 1
    ln = overdue[0]
    accruing = db.amount_owed(p["card"])
    days = rules.days_overdue(ln.due_at, NOW)
    assert accruing == days * 25 and days >= 2
    # returned in the book drop the day after it was due; processed today
    back = ln.due_at + timedelta(hours=10)
    out = lib.checkin(ln.barcode, return_date=back, no_block=True, transaction_date=back)
    assert out.ok and out.fine == 25
    assert db.amount_owed(p["card"]) == 25


def test_lost_item_returned_cancels_replacement_fee(db, lib, export):
    p = next(p for p in export["patrons"] if "replacement" in p["scenario"])
    owed = db.amount_owed(p["card"])
    lost = next(i for i in export["items"] if i["status"] == "lost" and i["borrower"] == p["card"])
    out = lib.checkin(lost["barcode"])
    assert out.ok and out.sort_bin == rules.BIN_STAFF
    assert db.amount_owed(p["card"]) == owed - 2500
    assert db.item(lost["barcode"]).status == "available"


def test_withdrawn_item_return_alert_99(lib, export):
    it = next(i for i in export["items"] if i["status"] == "withdrawn")
    out = lib.checkin(it["barcode"])
    assert not out.ok and out.alert_type == "99"


# -------------------------------------------------------------------------------------- renewal
def test_renewal_limit_and_holds_block_renewal(db, lib, export):
    at_limit = next(i for i in export["items"] if i["borrower"] and i["renewals"] >= i["renewals_max"])
    out = lib.renew(at_limit["borrower"], at_limit["barcode"])
    assert not out.ok and out.message == "Item has reached maximum renewals"
    held = next(i for i in export["items"] if i["borrower"] and i["holds"])
    out = lib.renew(held["borrower"], held["barcode"])
    assert not out.ok and "holds" in out.message


def test_renewal_of_overdue_loan_makes_its_fine_final(db, lib, export, clock):
    p = next(p for p in export["patrons"] if "one overdue book" in p["scenario"])
    ln = next(ln for ln in db.loans_of(p["card"]) if ln.due_at < NOW)
    owed = db.amount_owed(p["card"])
    out = lib.renew(p["card"], ln.barcode)
    assert out.ok and out.due_at == rules.due_date("book", NOW)
    assert db.amount_owed(p["card"]) == owed                        # accrued fine kept, now final
    assert any(r["barcode"] == ln.barcode for r in db.fines_of(p["card"]))


def test_renew_all_splits_renewed_and_not(db, lib, export):
    p = next(p for p in export["patrons"] if p["card"] == next(
        i["borrower"] for i in export["items"] if i["borrower"] and i["holds"]))
    out = lib.renew_all(p["card"])
    assert out.ok and out.unrenewed and set(out.renewed) | set(out.unrenewed) == set(p["loans"])


def test_fee_paid_reduces_what_is_owed(db, lib, export):
    p = next(p for p in export["patrons"] if p["status"] == "fines" and "Émile" in p["name"])
    ok, msg = lib.pay(p["card"], "5.00")
    assert ok and db.amount_owed(p["card"]) == 750
    assert not lib.pay(p["card"], "abc")[0]


def test_holds_place_and_cancel(db, lib, export):
    p = patron_with(export)
    it = next(i for i in export["items"] if i["borrower"] and not i["holds"])
    out = lib.hold("+", p["card"], it["barcode"], pickup="EAST")
    assert out.ok and out.queue_position == 1 and out.pickup_branch == "EAST"
    assert lib.hold("-", p["card"], it["barcode"]).ok
    assert db.holds_on(it["barcode"]) == []


def test_block_and_enable_patron(db, lib, export):
    p = patron_with(export)
    assert lib.block_patron(p["card"], "card retained")
    assert db.patron(p["card"]).status == "blocked"
    assert lib.enable_patron(p["card"])
    assert db.patron(p["card"]).status == "active"


def test_random_circulation_keeps_the_library_consistent(db, lib, export, clock):
    """A day of random traffic (checkouts, returns, renewals, holds, payments) by every patron on a
    third of the collection: afterwards loans, holds, fines and the log still agree."""
    rng = random.Random(4)
    cards = [p["card"] for p in export["patrons"]]
    barcodes = [i["barcode"] for i in export["items"]][::3]
    before = {r["id"] for r in db.query("SELECT id FROM loans")}
    for _ in range(600):
        clock.now += timedelta(minutes=rng.randint(0, 30))
        op = rng.random()
        card, barcode = rng.choice(cards), rng.choice(barcodes)
        if op < 0.4:
            lib.checkout(card, barcode, fee_acknowledged=rng.random() < 0.5)
        elif op < 0.7:
            lib.checkin(barcode)
        elif op < 0.8:
            lib.renew(card, barcode)
        elif op < 0.9:
            lib.hold(rng.choice("+-"), card, barcode, pickup=rng.choice(["MAIN", "EAST"]))
        else:
            lib.pay(card, rng.choice(["1.00", "0.50"]))
    new_loans = [r for r in db.query("SELECT id FROM loans") if r["id"] not in before]
    ok = Counter((t["kind"], t["card"] is not None) for t in db.transactions(ok=True))
    assert ok[("checkout", True)] == len(new_loans) > 20
    returned = db.query("SELECT COUNT(*) n FROM loans WHERE returned_at IS NOT NULL")[0]["n"]
    assert ok[("checkin", True)] == returned > 10              # every closed loan: one logged return
    for card in cards:
        p = db.patron(card)
        assert db.amount_owed(card) >= 0
        assert p.loans <= rules.CATEGORIES[p.category].max_loans
    for row in db.query("SELECT * FROM holds WHERE status = 'waiting' AND filled_at IS NULL "
                        "AND cancelled_at IS NULL"):
        assert db.loan_of_item(row["barcode"]) is None
    for loan in db.query("SELECT * FROM loans WHERE returned_at IS NOT NULL"):
        assert loan["returned_at"] >= loan["issued_at"]


def test_offline_checkout_of_item_waiting_for_someone_else_puts_the_hold_back_in_queue(db, lib, export):
    it = next(i for i in export["items"] if i["status"] == "on_hold_shelf")
    other = patron_with(export)
    out = lib.checkout(other["card"], it["barcode"], no_block=True, transaction_date=NOW - timedelta(hours=2))
    assert out.ok
    (h,) = db.holds_on(it["barcode"])
    assert h.card == it["holds"][0]["card"] and h.status == "pending"
    back = lib.checkin(it["barcode"])                 # when it comes back, it is trapped again
    assert back.ok and back.alert_type == "01" and back.hold_card == h.card
