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
    """A patron touches "Return items" and an item falls through the slot past the antenna.  (While
    the slot is open the button shows the countdown and a tap keeps it open: tapped as a widget.)"""
    d, dev = k.driver, k.devices
    tile = k.app.screen("returns_only").ids.open_slot
    assert not tile.disabled and tile.opacity == 1, (tile.text, tile.disabled)
    d.tap(tile)
    d.until(lambda: dev.door_lock.states and dev.door_lock.states[-1] == "unlocked", 5, "the hatch to unlock")
    uid = dev.tag_reader.place(barcode) if barcode else None
    if uid:
        d.until(lambda: any(t.uid == uid for t in dev.tag_reader.tags), 5, "the tag read")
        # the book drop itself has it (it keeps a tag seen before the beam for read_window_s)
        machine = k.app.staff_mode.bookdrop.machine
        d.until(lambda: uid in machine._recent, 5, "the book drop to see the tag")
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


def test_returns_only_rows_fit_the_slot_button_holds_still_and_speech_can_be_switched_on(gui_kiosk):
    """QA after hours: a refusal's row text touched its frame (German, large text), the "Return
    items" button went disabled and enabled again with every item, and there was no speech switch."""
    from kiosk.speech.engine import Speaker
    from kiosk.speech.narrator import Narrator
    from kiosk.ui.i18n import tr
    from kiosk.ui.lists import ItemRow
    from tests.test_speech_ui import _Proc

    overrides = {"kiosk.mode": "returns", "speech.enabled": True, "bookdrop.checkin_wait_s": 2.0,
                 "bookdrop.read_window_s": 0.5, "bookdrop.feedback_s": 3.0}
    with gui_kiosk(overrides) as k:
        d, app = k.driver, k.app
        d.until_screen("returns_only", 10)
        screen = app.screen("returns_only")
        said: list[tuple[str, str, str]] = []
        app.narrator = Narrator(Speaker(popen=lambda cmd, **kw: _Proc(cmd, said, **kw)))
        d.tap(d.button("Deutsch"))
        d.tap(d.button(tr("Speech off", "de")))           # the switch the home screen has
        assert app.speech_on and d.button(tr("Speech on", "de"))
        d.until(lambda: any("Rückgabe" in text for text, _v, _t in said), 5, "the screen read out")
        app.root_widget.ids.large_text._last_release = 0.0
        d.tap(app.root_widget.ids.large_text)
        tile = screen.ids.open_slot
        disabled = [tile.disabled]
        tile.bind(disabled=lambda _w, value: disabled.append(value))
        _drop(k, None)      # no readable tag: refused, two lines of why
        d.until(lambda: screen.state == "refused" and screen.has_items, 15, "the item refused")
        _drop(k, on_loan(k.server))
        d.until(lambda: screen.state == "accepted" and len(screen.ids.lines.children) == 2, 15, "accepted")
        d.pump(0.2)
        _shot(k, "returns-only-de-large")
        assert not any(disabled), disabled                  # steady through both items
        problems = []
        for row in (w for w in screen.ids.lines.children if isinstance(w, ItemRow)):
            frame = (row.y + 3, row.top - 3)                 # lists.kv draws the frame 3 dp inside
            for label in row.ids.body.children:
                if label.text and (label.y < frame[0] + 4 or label.top > frame[1] - 4):
                    problems.append(f"{label.text[:30]!r} {label.y:.0f}-{label.top:.0f} in frame {frame}")
        from kivy.uix.label import Label

        from kiosk.ui.textfit import fit_font_size

        for w in screen.walk(restrict=True):              # every text inside the widget that holds it
            if isinstance(w, Label) and w.text and w.opacity > 0 and w.parent is not None:
                p = w.parent
                if w.x < p.x - 1 or w.y < p.y - 1 or w.right > p.right + 1 or w.top > p.top + 1:
                    problems.append(f"{w.text[:30]!r} {tuple(w.pos)}+{tuple(w.size)} out of its "
                                    f"{type(p).__name__} {tuple(p.pos)}+{tuple(p.size)}")
                if w.text_size[0] and fit_font_size(w.text, w.width, w.font_size, 0, w.bold) < w.font_size:
                    problems.append(f"{w.text[:30]!r}: a word is wider than its {w.width:.0f}px label")
        assert not problems, "\n".join(problems)
