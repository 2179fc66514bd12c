"""After hours on the touchscreen (each test in its own process): the returns-only screen with
per-item answers from the book drop, and the staff morning report.  Set KIOSK_STAFF_SHOTS=DIR to
keep 800x480 screenshots."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui
PIN = "2468"
SHOTS = os.environ.get("KIOSK_STAFF_SHOTS")


def _shot(k, name: str) -> None:  # noqa: ANN001
    if SHOTS:
        k.driver.screenshot(Path(SHOTS) / f"{name}.png")


def on_loan(server, home: str = "MAIN", hold_pickup: str | None = None) -> str:  # noqa: ANN001
    """Put one available item of ``home`` on loan (with a hold for pickup at ``hold_pickup``)."""
    from kiosk.demo_ils.db import fmt

    db = server.db
    (row,) = db.query("SELECT barcode FROM items WHERE status='available' AND home_branch=? AND parts=1 AND "
                      "barcode NOT IN (SELECT barcode FROM holds) ORDER BY barcode LIMIT 1", (home,))
    cards = [r["card"] for r in db.query("SELECT card FROM patrons WHERE scenario LIKE 'valid, nothing%'")]
    issued = datetime.now() - timedelta(days=10)
    with db.transaction() as conn:
        conn.execute("INSERT INTO loans(card, barcode, issued_at, due_at) VALUES (?,?,?,?)",
                     (cards[0], row["barcode"], fmt(issued), fmt(issued + timedelta(days=28))))
        conn.execute("UPDATE items SET status='on_loan' WHERE barcode=?", (row["barcode"],))
        if hold_pickup:
            conn.execute("INSERT INTO holds(card, barcode, pickup_branch, placed_at) VALUES (?,?,?,?)",
                         (cards[1], row["barcode"], hold_pickup, fmt(issued)))
    return row["barcode"]


def _drop(k, barcode: str | None) -> None:  # noqa: ANN001
    """A patron touches "Return items" and an item falls through the slot past the antenna."""
    d, dev = k.driver, k.devices
    d.tap(d.button("Return items"))
    d.until(lambda: dev.door_lock.states and dev.door_lock.states[-1] == "unlocked", 5, "the hatch to unlock")
    uid = dev.tag_reader.place(barcode) if barcode else None
    if uid:
        d.until(lambda: any(t.uid == uid for t in dev.tag_reader.tags), 5, "the tag read")
    dev.slot_sensor.drop_item(0.05)
    if uid:
        d.pump(0.6)                                      # the read window after the beam clears
        dev.tag_reader.remove(uid)                       # it fell into the bin, out of the field


def test_returns_only_screen_and_morning_report(gui_kiosk):
    from kiosk.staff.auth import hash_secret

    overrides = {"kiosk.mode": "returns", "staff.pin_hash": hash_secret(PIN), "bookdrop.checkin_wait_s": 2.0,
                 "bookdrop.read_window_s": 0.5, "bookdrop.feedback_s": 3.0}
    with gui_kiosk(overrides) as k:
        d, app = k.driver, k.app
        d.until_screen("returns_only", 10)
        screen = app.screen("returns_only")
        assert "Returns only." in screen.message("en")
        assert "Borrow" not in d.texts()                  # no patron identification, no borrowing
        _shot(k, "returns-only")
        hold_here = on_loan(k.server, hold_pickup="MAIN")
        transfer = on_loan(k.server, home="EAST")

        _drop(k, hold_here)
        d.until(lambda: screen.state == "accepted" and "Returned" in d.texts(), 15, "the item accepted")
        assert any("Thank you: item returned." in t for t in d.texts()), screen.message_key
        _shot(k, "returns-only-accepted")
        d.until(lambda: screen.can_open, 10, "ready for the next item")

        _drop(k, None)                                   # an item without a readable tag
        d.until(lambda: screen.state == "refused" and "Not accepted" in d.texts(), 15, "the item refused")
        assert any("We could not read this item." in t for t in d.texts())
        _shot(k, "returns-only-refused")
        d.until(lambda: screen.can_open, 10, "ready again")
        _drop(k, transfer)
        d.until(lambda: app.staff_mode.bookdrop.wait_idle(0.05) and screen.state == "accepted", 15, "transfer")

        # a patron card identifies nobody here; the staff entry still opens the staff pages
        k.devices.card_reader.tap("23529000445172")
        d.pump(0.3)
        assert d.screen == "returns_only" and app.service.view().state == "idle"
        app.enter_staff()
        d.until_screen("staff")
        for digit in PIN:
            d.tap(d.button(digit))
        d.tap(d.button("OK"))
        d.until_screen("staff_home")
        d.tap(d.button("Night returns"))
        d.until_screen("morning_report")
        page = app.screen("morning_report")
        d.until(lambda: "3 returns" in page.summary, 10, "the report")
        text = "\n".join(d.texts())
        # SIP2's check-in names the destination branch by code (CT); FOLIO's names the destination
        # service point, which routes returned items (docs/folio.md, "The service point").
        to = "to East Branch" if k.settings.ils.protocol == "folio" else "to EAST"
        for words in ("Holds to shelve (1)", "Transfers (1)", "Needs staff (1)", "All returns (3)",
                      hold_here, transfer, "no readable tag", "hold: shelve for pickup", to):
            assert words in text, words
        assert "Returns only" in page.status
        _shot(k, "morning-report")
        d.tap(d.button("Staffed now"))                    # staff override: back to borrowing
        d.until(lambda: not app.staff_mode.returns_only, 10, "staffed mode")
        d.tap(d.button("Staff home"))
        d.tap(d.button("Back to patron screens"))
        d.until_screen("home")
        assert d.button("Borrow")
