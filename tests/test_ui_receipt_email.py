"""E-mailed receipts: composed from the session view, sent to a local SMTP sink; a failure offers print."""

from __future__ import annotations

import socket
from datetime import datetime

import pytest

from kiosk import config
from kiosk.circulation.view import ItemLine, PatronSummary, SessionView
from kiosk.ui.receipt_mail import compose, email_configured, email_offered, send_receipt, smtp_settings
from tests.test_appliance_alerts import SmtpSink

CARD = "23529000445172"


@pytest.fixture
def sink():
    s = SmtpSink()
    yield s
    s.close()


def settings_with(tmp_path, **receipt):
    sets = [f"storage.data_dir={tmp_path}", "branding.library_name=Riverside Library",
            "receipt.footer=Open Mon-Sat 9-18"]
    sets += [f"receipt.{k}={v}" for k, v in receipt.items()]
    return config.load(None, sets)


def borrow_view(email="reader@example.org") -> SessionView:
    patron = PatronSummary(name="Alice Example", masked_id="**********5172", email=email)
    items = (ItemLine("B1", title="The Owl Book", state="done", action="checkout", due_date=datetime(2026, 12, 20)),
             ItemLine("B2", title="Held Elsewhere", state="refused", reason_key="on_hold_for_other"))
    return SessionView(state="receipt", mode="borrow", patron=patron, items=items, session_id=3)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_receipt_is_sent_with_titles_due_dates_and_no_card_number(tmp_path, sink):
    settings = settings_with(tmp_path, smtp_host="127.0.0.1", smtp_port=sink.port, smtp_security="none",
                             email_from="Riverside Library <noreply@riverside.example>")
    send_receipt(settings, borrow_view(), "en", when=datetime(2026, 11, 29, 14, 30))
    ((frm, rcpts, msg),) = sink.messages
    assert "noreply@riverside.example" in frm and [r.lower() for r in rcpts] == ["rcpt to:<reader@example.org>"]
    assert msg["To"] == "reader@example.org" and "Riverside Library" in msg["Subject"]
    body = msg.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert body.startswith("Riverside Library\nNovember 29, 2026 14:30")
    assert "The Owl Book" in body and "Due back December 20, 2026" in body
    assert "Held Elsewhere" in body and "desk" in body and "Open Mon-Sat 9-18" in body
    assert CARD not in body and "Alice" not in body and "**********5172" in body


def test_returns_receipt_in_german(tmp_path):
    settings = settings_with(tmp_path, smtp_host="mail.example")
    view = SessionView(state="receipt", mode="return", patron=PatronSummary(email="a@example.org"),
                       items=(ItemLine("B1", title="Das Buch", state="done", action="checkin"),))
    body = compose(settings, view, "de", when=datetime(2026, 3, 14)).get_payload(decode=True).decode()
    assert "14. März 2026" in body and "Das Buch" in body


def test_email_only_offered_when_configured_and_the_patron_has_an_address(tmp_path):
    plain = settings_with(tmp_path)
    assert not email_configured(plain) and smtp_settings(plain) is None
    assert not email_offered(plain, borrow_view().patron)
    via_alerts = config.load(None, [f"storage.data_dir={tmp_path}", "alerts.smtp_host=relay.example",
                                    "alerts.smtp_port=25", "alerts.smtp_security=none"])
    smtp, _ = smtp_settings(via_alerts)
    assert (smtp.smtp_host, smtp.smtp_port, smtp.smtp_security) == ("relay.example", 25, "none")
    assert email_offered(via_alerts, borrow_view().patron)
    assert not email_offered(via_alerts, borrow_view(email="").patron)
    assert not email_offered(via_alerts, None)
    no_choice = config.load(None, [f"storage.data_dir={tmp_path}", "alerts.smtp_host=relay.example",
                                   'receipt.choices=["print", "none"]'])
    assert not email_offered(no_choice, borrow_view().patron)


def test_unreachable_mail_server_raises_quickly(tmp_path):
    settings = settings_with(tmp_path, smtp_host="127.0.0.1", smtp_port=closed_port(), smtp_security="none",
                             email_timeout_s=2)
    with pytest.raises(OSError):
        send_receipt(settings, borrow_view(), "en")


# -- on the real app --------------------------------------------------------------------------------
def _borrow_one(k):  # noqa: ANN001,ANN202
    d, app, lib = k.driver, k.app, k.library
    patron = next(p for p in lib["patrons"] if p["status"] == "ok" and not p.get("pin"))
    item = next(i for i in lib["items"] if i["status"] == "available" and not i["holds"] and i["parts"] == 1
                and i["home_branch"] == "MAIN")
    d.tap(d.button("Borrow"))
    d.until_screen("identify")
    d.type(patron["card"])
    d.until_screen("items", 15)
    k.devices.tag_reader.place(item["barcode"])
    d.until(lambda: len(app.view.items) == 1 and app.view.items[0].settled, 20, "the checkout")
    d.tap(d.button("Finish"))
    d.until_screen("receipt")
    d.pump(0.3)
    address = k.server.db.query("SELECT email FROM patrons WHERE card = ?", (patron["card"],))[0]["email"]
    return patron, item, address


@pytest.mark.gui
def test_gui_email_receipt_reaches_the_patron(gui_kiosk):
    sink = SmtpSink()
    try:
        with gui_kiosk({"receipt.smtp_host": "127.0.0.1", "receipt.smtp_port": sink.port,
                        "receipt.smtp_security": "none"}) as k:
            patron, item, address = _borrow_one(k)
            assert address and k.app.screen("receipt").email_ok
            k.driver.tap(k.driver.button("Email"))
            k.driver.until_screen("goodbye", 15)
            assert k.app.view.receipt == "email"
            ((_, rcpts, msg),) = sink.messages
            assert [r.lower() for r in rcpts] == [f"rcpt to:<{address.lower()}>"]
            body = msg.get_payload(decode=True).decode().replace("\r\n", "\n")
            assert item["title"] in body and "Due back " in body
            assert patron["card"] not in body and patron["name"] not in body
    finally:
        sink.close()


@pytest.mark.gui
def test_gui_failed_email_says_so_and_offers_print(gui_kiosk):
    with gui_kiosk({"receipt.smtp_host": "127.0.0.1", "receipt.smtp_port": closed_port(),
                    "receipt.smtp_security": "none", "receipt.choices": ["email", "none"]}) as k:
        d, app = k.driver, k.app
        _patron, item, _address = _borrow_one(k)
        screen = app.screen("receipt")
        (print_tile,) = d.find(lambda w: type(w).__name__ == "Tile" and w.text == "Print")
        assert print_tile.opacity == 0 and print_tile.disabled       # not one of this library's choices
        d.tap(d.button("Email"))
        d.until(lambda: screen.email_state == "failed", 15, "the e-mail failure")
        d.pump(0.3)
        assert app.view.state == "receipt"                     # the session is not stuck or ended
        assert any("could not be sent" in t for t in d.texts())
        assert print_tile.opacity == 1 and not print_tile.disabled   # now offered instead
        d.tap(d.button("Print"))
        d.until_screen("goodbye", 15)
        d.until(lambda: bool(k.devices.printer.receipts), 5, "a printed receipt")
        assert item["title"] in "\n".join(k.devices.printer.receipts[-1].lines)


@pytest.mark.gui
def test_gui_email_only_for_an_account_without_an_address_still_lets_the_patron_finish(gui_kiosk):
    """[receipt] choices = ["email"] and no address on the account: nothing can be offered, so the
    screen offers to finish without a receipt instead of showing no button until the timeout."""
    with gui_kiosk({"receipt.smtp_host": "127.0.0.1", "receipt.smtp_port": closed_port(),
                    "receipt.smtp_security": "none", "receipt.choices": ["email"]}) as k:
        d, app = k.driver, k.app
        with k.server.db.transaction() as conn:
            conn.execute("UPDATE patrons SET email = ''")
        _borrow_one(k)
        assert not app.screen("receipt").email_ok
        d.tap(d.button("No receipt"))
        d.until_screen("goodbye", 15)
        assert app.view.receipt in ("none", None)
