"""Whole patron flows on the real app: synthetic touches and scanner typing, simulated hardware, the
real circulation engine and the embedded demo library system (each test in its own process)."""

from __future__ import annotations

import re

import pytest

from kiosk.ui.present import short_title

# Every flow runs over SIP2 and over FOLIO's HTTP API against the one demo library (tests/conftest.py).
pytestmark = [pytest.mark.gui, pytest.mark.both_protocols]


# -- demo data chosen by what it is, not by number -------------------------------------------------
def patron_without_pin(lib: dict) -> dict:
    return next(p for p in lib["patrons"] if p["status"] == "ok" and not p.get("pin") and p["loans"])


def patron_with_pin(lib: dict) -> dict:
    return next(p for p in lib["patrons"] if p["status"] == "ok" and p.get("pin") and p["loans"]
                and any(h["status"] == "waiting" for h in p["holds"]))


def shelf_items(lib: dict, n: int) -> list[dict]:
    out: list[dict] = []
    for i in lib["items"]:
        if i["status"] == "available" and not i["holds"] and i["parts"] == 1 and i["home_branch"] == "MAIN" \
                and all(o["title"] != i["title"] for o in out):
            out.append(i)
    return out[:n]


def settled(view, n: int) -> bool:  # noqa: ANN001
    return len(view.items) >= n and all(i.state in ("done", "refused", "needs_staff") for i in view.items)


def rows(k) -> list[dict]:  # noqa: ANN001
    k.driver.settle()                # a stack's rows come in one a frame (kiosk/screens/items.py)
    return list(k.app.screen("items").ids.rv.data)


def identify_by_scanner(k, card: str) -> None:  # noqa: ANN001
    d = k.driver
    d.tap(d.button("Borrow"))
    d.until_screen("identify")
    d.type(card)                     # a keyboard-wedge scanner: characters, then Enter
    d.until_screen("items", 15)


# -- flows -----------------------------------------------------------------------------------------
def test_checkout_of_a_stack_then_printed_receipt(gui_kiosk):
    with gui_kiosk() as k:
        d, app, lib = k.driver, k.app, k.library
        patron = patron_without_pin(lib)
        identify_by_scanner(k, patron["card"])
        first = patron["name"].split()[0]
        assert any(f"Hello, {first}" in t for t in d.texts())
        stack = shelf_items(lib, 3)
        for item in stack:
            k.devices.tag_reader.place(item["barcode"])
        d.until(lambda: len(app.view.items) >= 1, 10, "the first item on the list")
        d.until(lambda: settled(app.view, 3), 30, "three checkouts")
        d.pump(0.2)
        shown = rows(k)
        assert [r["state"] for r in shown] == ["done"] * 3
        assert {r["title"] for r in shown} == {short_title(i["title"]) for i in stack}
        assert all(r["status"].startswith("Due back ") for r in shown)
        for item in stack:          # happened exactly once in the library system
            assert len(k.server.db.checkouts_of(item["barcode"])) == 1
        assert "success" in app.sounds.history
        d.tap(d.button("Finish"))
        d.until_screen("receipt")
        d.tap(d.button("Print"))
        d.until_screen("goodbye")
        d.until(lambda: bool(k.devices.printer.receipts), 5, "a printed receipt")
        text = "\n".join(k.devices.printer.receipts[-1].lines)
        for item in stack:
            assert item["title"] in text
        assert patron["name"] not in text and patron["card"] not in text     # masked card only


def test_refused_item_says_what_to_do(gui_kiosk):
    with gui_kiosk() as k:
        d, app, lib = k.driver, k.app, k.library
        patron = patron_without_pin(lib)
        held = next(i for i in lib["items"] if i["status"] == "available" and i["parts"] == 1
                    and any(h["card"] != patron["card"] for h in i["holds"]))
        identify_by_scanner(k, patron["card"])
        k.devices.tag_reader.place(held["barcode"])
        d.until(lambda: settled(app.view, 1), 20, "the refusal")
        d.pump(0.2)
        (row,) = rows(k)
        assert row["state"] == "refused" and row["icon"] == "refused" and row["badge"] == "Not possible"
        assert "reserved for another reader" in row["status"] and row["instruction"] == "Leave it at the desk."
        assert row["stands_out"]
        assert k.server.db.checkouts_of(held["barcode"]) == []
        assert "failure" in app.sounds.history


def test_account_renew_one_loan(gui_kiosk):
    with gui_kiosk({"kiosk.require_pin": True}) as k:
        d, app, lib = k.driver, k.app, k.library
        patron = patron_with_pin(lib)
        d.tap(d.button("My account"))
        d.until_screen("identify")
        k.devices.card_reader.tap(patron["card"])
        d.until(lambda: app.view.needs_pin, 10, "the PIN prompt")
        for digit in patron["pin"]:
            d.tap(d.button(digit))
        d.tap(d.button("OK"))
        d.until_screen("account", 15)
        d.until(lambda: bool(k.app.screen("account").ids.rv.data), 10, "loans")
        screen = app.screen("account")
        assert len(screen.ids.rv.data) == len(patron["loans"])
        items = {i["barcode"]: i for i in lib["items"]}
        # SIP2 64 lists item ids only: titles and due dates arrive by Item Information, live
        d.until(lambda: app.view.patron is not None and app.view.patron.details_pending == 0
                and all(not r["title"].startswith("Item ") for r in screen.ids.rv.data), 15, "loan titles")
        d.pump(0.2)
        assert screen.looking_up == "" and not any("Looking up titles" in t for t in d.texts())
        for r in screen.ids.rv.data:
            assert r["title"] == short_title(items[r["item_id"]]["title"])
            assert r["due"].startswith("Overdue since " if r["overdue"] else "Due back "), r
            assert re.search(r"\d{4}$", r["due"]), r["due"]              # a real date, Babel-formatted
        # overdue first, then the soonest due (tests/test_ui_lists.py: not the barcodes' order)
        dues = [k.server.db.loan_of_item(r["item_id"]).due_at for r in screen.ids.rv.data]
        assert dues == sorted(dues), [r["due"] for r in screen.ids.rv.data]
        waiting = [items[h["barcode"]]["title"] for h in patron["holds"] if h["status"] == "waiting"]
        assert waiting and all(short_title(t) in screen.holds for t in waiting)
        assert any(short_title(waiting[0]) in t for t in d.texts())
        renewable = next(r for r in screen.ids.rv.data if r["can_renew"] and not items[r["item_id"]]["holds"]
                         and items[r["item_id"]]["renewals"] < items[r["item_id"]]["renewals_max"])
        before = k.server.db.loan_of_item(renewable["item_id"])
        place = [r["item_id"] for r in screen.ids.rv.data].index(renewable["item_id"])
        button = next(w for w in d.find(lambda w: type(w).__name__ == "LoanRow" and w.item_id == renewable["item_id"]))
        d.tap(next(w for w in button.walk(restrict=True) if type(w).__name__ == "KButton"))
        d.until(lambda: any(i.action == "renew" and i.settled for i in app.view.items), 20, "the renewal")
        d.pump(0.2)
        after = k.server.db.loan_of_item(renewable["item_id"])
        row = next(r for r in screen.ids.rv.data if r["item_id"] == renewable["item_id"])
        assert row["status"] == "Renewed" and not row["can_renew"]
        assert screen.ids.rv.data[place]["item_id"] == renewable["item_id"]     # not moved under the finger
        assert after.due_at > before.due_at and after.renewals == before.renewals + 1
        from kiosk.ui.i18n import format_date

        assert row["due"] == "Due back " + format_date(after.due_at, "en")     # the new due date shows
        assert any(format_date(after.due_at, "en") in t for t in d.texts())
        # QA: "Done" after a renewal offered no receipt.  It asks, as after a checkout, and the
        # receipt lists the renewal with its new due date.
        d.tap(d.button("Done"))
        d.until_screen("receipt", 10)
        assert any("Items renewed: 1." in t for t in d.texts())
        from kiosk.ui.present import receipt_lines

        text = "\n".join(receipt_lines(app.view, "en"))
        assert "Items renewed: 1." in text and "Due back " + format_date(after.due_at, "en") in text
        d.tap(d.button("No receipt"))
        d.until_screen("goodbye", 10)


def test_account_says_titles_are_coming_while_a_slow_library_looks_them_up(gui_kiosk):
    with gui_kiosk(latency_ms=300) as k:
        d, app, lib = k.driver, k.app, k.library
        patron = max(lib["patrons"], key=lambda p: len(p["loans"]))
        assert len(patron["loans"]) >= 2
        d.tap(d.button("My account"))
        d.until_screen("identify")
        k.devices.card_reader.tap(patron["card"])
        d.until_screen("account", 20)
        screen = app.screen("account")
        if k.settings.ils.protocol == "folio":
            # A protocol difference, not a weaker test: FOLIO's /circulation/loans carries each loan's
            # item title and due date with the patron (docs/folio.md, permissions: "the patron's
            # loans"), so nothing is left to look up and no hint is due -- the titles show at once.
            d.until(lambda: len(screen.ids.rv.data) == len(patron["loans"]), 10, "the loans")
            titles = {i["barcode"]: i["title"] for i in lib["items"]}
            assert app.view.patron.details_pending == 0 and screen.looking_up == ""
            assert all(r["title"] == short_title(titles[r["item_id"]]) for r in screen.ids.rv.data)
            return
        d.until(lambda: any("Looking up titles and due dates" in t for t in d.texts()), 10, "the lookup hint")
        assert app.view.patron.details_pending > 0
        d.until(lambda: app.view.patron.details_pending == 0, 30, "every title")
        d.pump(0.2)
        assert screen.looking_up == "" and not any("Looking up titles" in t for t in d.texts())


def test_return_with_hold_alert(gui_kiosk):
    with gui_kiosk() as k:
        d, app, lib = k.driver, k.app, k.library
        hold_item = next(i for i in lib["items"] if i["status"] == "on_loan" and i["parts"] == 1
                         and i["holds"] and i["holds"][0]["pickup"] == "MAIN")
        plain = next(i for i in lib["items"] if i["status"] == "on_loan" and i["parts"] == 1 and not i["holds"]
                     and i["home_branch"] == "MAIN")
        d.tap(d.button("Return"))
        d.until_screen("items")
        k.devices.tag_reader.place(hold_item["barcode"])
        k.devices.tag_reader.place(plain["barcode"])
        d.until(lambda: settled(app.view, 2), 20, "two returns")
        d.pump(0.2)
        by_title = {r["title"]: r for r in rows(k)}
        held_row = by_title[hold_item["title"]]
        assert held_row["state"] == "done" and held_row["badge"] == "Hold"
        assert held_row["instruction"] == "Leave it at the desk." and held_row["icon"] == "hold"
        assert by_title[plain["title"]]["badge"] == "Returned"
        for item in (hold_item, plain):
            assert len(k.server.db.checkins_of(item["barcode"])) == 1
        # the reader waiting for the item is never named to the returning patron
        waiting = next(p for p in lib["patrons"] if p["card"] == hold_item["holds"][0]["card"])
        assert not any(waiting["name"] in t for t in d.all_texts())


def test_timeout_warns_then_wipes_patron_data_everywhere(gui_kiosk):
    with gui_kiosk({"kiosk.session_timeout_s": 4, "kiosk.timeout_warning_s": 3}) as k:
        d, app, lib = k.driver, k.app, k.library
        patron = patron_without_pin(lib)
        (item,) = shelf_items(lib, 1)
        identify_by_scanner(k, patron["card"])
        k.devices.tag_reader.place(item["barcode"])
        d.until(lambda: settled(app.view, 1), 20, "the checkout")
        first = patron["name"].split()[0]
        assert any(first in t for t in d.all_texts()) and any(item["title"] in r["title"] for r in rows(k))
        d.until(lambda: app.warning_s >= 0, 10, "the timeout warning")
        assert "attention" in app.sounds.history
        assert app.root_widget.ids.warning.shown
        assert any("this session ends in" in t for t in d.texts(app.root_widget.ids.warning))
        d.until(lambda: app.view.state in ("ended", "idle"), 10, "the session end")
        d.until_screen("goodbye")
        d.pump(0.3)
        everything = "\n".join(d.all_texts())
        for secret in (first, patron["name"], patron["card"], item["title"]):
            assert secret not in everything, secret
        assert rows(k) == [] and not app.root_widget.ids.warning.shown
        assert app.screen("identify").entry == ""
        assert app.screen("account").ids.rv.data == []


def test_language_switch_is_per_session(gui_kiosk):
    with gui_kiosk() as k:
        d, app, lib = k.driver, k.app, k.library
        patron = patron_without_pin(lib)
        (item,) = shelf_items(lib, 1)
        d.tap(d.button("Deutsch"))
        assert app.lang == "de"
        d.tap(d.button("Ausleihen"))
        d.until_screen("identify")
        assert any("Ausweis" in t for t in d.texts())
        d.type(patron["card"])
        d.until_screen("items", 15)
        k.devices.tag_reader.place(item["barcode"])
        d.until(lambda: settled(app.view, 1), 20, "the checkout")
        d.pump(0.2)
        (row,) = rows(k)
        assert row["status"].startswith("Rückgabe bis ")
        months = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
        assert re.search(rf"\d+\. ({months}) \d{{4}}", row["status"]), row["status"]
        d.tap(d.button("Beenden"))
        d.until_screen("receipt")
        d.tap(d.button("Kein Beleg"))
        d.until_screen("home", 15)
        assert app.lang == "en"                      # the next patron starts in the library's language
        assert d.button("Borrow")


@pytest.mark.sip2_only("a byte-level proxy swallows SIP2 check-in frames (09) and rewrites the ACS status's "
                       "timeout (98); FOLIO's lost and late replies: tests/test_crash_folio.py")
def test_hung_library_system_shows_progress_then_a_friendly_message(gui_kiosk):
    """Check-ins are swallowed by a proxy in front of the demo library: the row shows progress
    (and frames keep coming), then the configured timeout turns into a plain-language message."""
    import socket
    import threading

    from kiosk.sip2.codec import checksum

    state: dict = {}

    def short_acs_timeout(frame: bytes) -> bytes:
        """The ACS status says how long to wait (tenths of a second, chars 8-10): make it 2.0 s so
        the test does not sit through the demo library's 10 s."""
        end = frame.index(b"AZ") + 2
        body = frame[:8] + b"020" + frame[11:end]
        return body + checksum(body).encode() + frame[end + 4:]

    def hang_checkins(settings, server):  # noqa: ANN001
        listener = socket.create_server(("127.0.0.1", 0))
        state["listener"] = listener

        def pipe(src, dst, swallow):  # noqa: ANN001
            try:
                while data := src.recv(65536):
                    if swallow and data.startswith(b"09"):
                        continue        # a check-in: never answered
                    if not swallow and data.startswith(b"98"):
                        data = short_acs_timeout(data)
                    dst.sendall(data)
            except OSError:
                pass

        def accept():
            while True:
                try:
                    client, _ = listener.accept()
                except OSError:
                    return
                upstream = socket.create_connection(("127.0.0.1", server.port))
                threading.Thread(target=pipe, args=(client, upstream, True), daemon=True).start()
                threading.Thread(target=pipe, args=(upstream, client, False), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        settings.ils.port = listener.getsockname()[1]
        settings.ils.timeout_s = 2.0
        settings.ils.retries = 0

    with gui_kiosk(setup=hang_checkins) as k:
        d, app, lib = k.driver, k.app, k.library
        item = next(i for i in lib["items"] if i["status"] == "on_loan" and i["parts"] == 1 and not i["holds"])
        d.tap(d.button("Return"))
        d.until_screen("items")
        k.devices.tag_reader.place(item["barcode"])
        d.until(lambda: any(r["state"] == "in_progress" for r in rows(k)), 10, "progress")
        assert rows(k)[0]["status"] == "Returning..."
        d.until(lambda: settled(app.view, 1), 20, "the timeout outcome")
        d.pump(0.2)
        (row,) = rows(k)
        assert row["state"] in ("done", "needs_staff")
        if row["state"] == "needs_staff":
            assert "desk" in row["status"]
        else:                              # journaled for later: the patron is told so
            assert "updated later" in row["status"]
        state["listener"].close()
