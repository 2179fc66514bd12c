"""The demo library's SIP2 server over real sockets: login, framing, error detection, Koha-like replies."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest

from kiosk.demo_ils.server import DemoIlsServer
from kiosk.sip2 import codec as c

pytestmark = pytest.mark.sip2_only("the demo library's SIP2 server on the wire; its FOLIO face: tests/test_demo_ils_folio.py")


class SipTestClient:
    """A minimal SIP2 client on the project's codec (tests only; the kiosk's own is kiosk.sip2.client)."""

    def __init__(self, port: int, *, tls: ssl.SSLContext | None = None, timeout: float = 10.0) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = tls.wrap_socket(sock, server_hostname="localhost") if tls else sock
        self.buf = b""
        self.seq = 0
        self.last_raw = b""

    def read_frame(self) -> bytes:
        while b"\r" not in self.buf:
            chunk = self.sock.recv(8192)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        frame, self.buf = self.buf.split(b"\r", 1)
        return frame.lstrip(b"\n") + b"\r"

    def send_raw(self, data: bytes) -> bytes:
        self.sock.sendall(data)
        self.last_raw = self.read_frame()
        return self.last_raw

    def request(self, record: c.Message, *, error_detection: bool = True) -> c.Message:
        self.seq = (self.seq + 1) % 10
        raw = self.send_raw(c.encode(record, seq=self.seq, error_detection=error_detection))
        decoded = c.decode_frame(raw, require_checksum=error_detection)
        assert decoded.seq == (self.seq if error_detection else None)
        assert decoded.record.code == c.RESPONSE_TO[record.code]
        return decoded.record

    def login(self, user: str = "kiosk", password: str = "kiosk") -> bool:
        return self.request(c.LoginRequest(login_user_id=user, login_password=password,
                                           location_code="MAIN-KIOSK-1")).ok

    def close(self) -> None:
        self.sock.close()


def checkout(card: str, barcode: str, **kw) -> c.CheckoutRequest:
    return c.CheckoutRequest(institution_id="DEMO", patron_id=card, item_id=barcode, **kw)


def checkin(barcode: str, **kw) -> c.CheckinRequest:
    return c.CheckinRequest(institution_id="DEMO", item_id=barcode, current_location="MAIN", **kw)


def item_info(barcode: str) -> c.ItemInformationRequest:
    return c.ItemInformationRequest(institution_id="DEMO", item_id=barcode)


@pytest.fixture
def server(tmp_path):
    with DemoIlsServer(tmp_path / "library.sqlite") as srv:
        yield srv


@pytest.fixture
def export(server):
    return server.db.export()


@pytest.fixture
def client(server):
    cl = SipTestClient(server.port)
    assert cl.login()
    yield cl
    cl.close()


def ok_patron(export, n=0):
    return [p for p in export["patrons"] if p["status"] == "ok" and not p["loans"] and not p["holds"]][n]


def shelf_items(export):
    return [i for i in export["items"] if i["status"] == "available" and i["media"] == "book"
            and not i["holds"] and i["home_branch"] == "MAIN"]


# --------------------------------------------------------------------------------------- login
def test_login_is_required(server):
    cl = SipTestClient(server.port)
    try:
        status = cl.request(c.ScStatusRequest())
        assert status.online_status is False and "Login required" in status.screen_message
        refused = cl.request(checkout("2000000001", "3900000001"))
        assert not refused.ok and refused.screen_message == "Login required"
        assert not cl.login("kiosk", "wrong")
        assert cl.login()
        assert cl.request(c.ScStatusRequest()).online_status is True
    finally:
        cl.close()
    assert server.db.transactions() == []           # the refused checkout never reached the library


def test_acs_status_reports_support_and_policy(client):
    st = client.request(c.ScStatusRequest())
    assert st.checkin_ok and st.checkout_ok and st.offline_ok and st.institution_id == "DEMO"
    assert st.supported_messages == "Y" * 16 and st.timeout_s == 10.0


# ------------------------------------------------------------------------------------- framing
def test_error_detection_is_honoured_both_ways(client, export):
    raw = client.send_raw(c.encode(item_info(shelf_items(export)[0]["barcode"]), error_detection=False))
    assert b"AZ" not in raw[-10:]
    assert c.decode_frame(raw).checksum is None
    raw = client.send_raw(c.encode(item_info("x"), seq=7))
    d = c.decode_frame(raw, require_checksum=True)
    assert d.seq == 7 and d.checksum is not None


def test_bad_checksum_is_answered_with_96_and_connection_stays(client):
    frame = c.encode(c.ScStatusRequest(), seq=1)
    broken = frame[:-5] + (b"0000" if frame[-5:-1] != b"0000" else b"1111") + b"\r"
    assert client.send_raw(broken) == b"96AZFEF6\r"
    assert client.request(c.ScStatusRequest()).online_status


def test_97_resends_last_reply_byte_for_byte(server, client, export):
    first = client.send_raw(c.encode(item_info(shelf_items(export)[0]["barcode"]), seq=3))
    assert client.send_raw(b"97AZFEF5\r") == first
    assert client.send_raw(b"97\r") == first
    other = SipTestClient(server.port)
    try:
        assert other.send_raw(b"97AZFEF5\r") == b"96AZFEF6\r"   # nothing sent yet on this connection
    finally:
        other.close()


@pytest.mark.parametrize("terminator", [b"\r", b"\r\n"])
def test_cr_and_crlf_requests(client, terminator):
    frame = c.encode(c.ScStatusRequest(), seq=2)[:-1] + terminator
    assert c.decode(client.send_raw(frame)).online_status


def test_reply_terminators(tmp_path):
    for term, tail in (("CRLF", b"\r\n"), ("CR", b"\r")):
        with DemoIlsServer(tmp_path / "t.sqlite", terminator=term) as srv:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"9300CNkiosk|COkiosk|\r")
            time.sleep(0.2)
            data = s.recv(100)
            s.close()
            assert data == b"941" + tail


def test_lenient_requests_from_real_clients(client, export):
    # trailing '|' (jsip2), 2-digit print width (node-sip2), blank dates and no AY/AZ (3M example)
    assert c.decode(client.send_raw(b"9900002.00|\r")).online_status
    assert c.decode(client.send_raw(b"990401.00|\r")).online_status
    p, it = ok_patron(export), shelf_items(export)[0]
    raw = (f"11YN{' ' * 18}{' ' * 18}AODEMO|AA{p['card']}|AB{it['barcode']}|AC|\r").encode()
    out = c.decode(client.send_raw(raw))
    assert out.ok and out.due_date
    raw = (f"09N{' ' * 18}{' ' * 18}AP|AO|AB{it['barcode']}|AC|\r").encode()      # no AY/AZ, empty AO
    assert c.decode(client.send_raw(raw)).ok


@pytest.mark.parametrize("garbage", [b"garbage", b"11short", b"zz|||", b"63\x00000", b"\xff\xfe\xfd"])
def test_malformed_frames_get_an_answer_and_the_connection_stays(client, garbage):
    raw = client.send_raw(garbage + b"\r")
    reply = c.decode(raw)
    assert reply.code in ("96", "12", "64")
    if reply.code != "96":
        assert "Malformed" in reply.screen_message
    assert client.request(c.ScStatusRequest()).online_status


def test_connections_are_independent(server, export):
    a, b = SipTestClient(server.port), SipTestClient(server.port)
    try:
        assert a.login()
        assert not b.request(item_info("x")).title            # b is not logged in: refused
        assert b.request(item_info("x")).screen_message == "Login required"
        assert a.request(item_info(shelf_items(export)[0]["barcode"])).title
    finally:
        a.close()
        b.close()


# ------------------------------------------------------------------------------ Koha-like replies
def test_checkout_renewal_and_item_information(client, server, export):
    p, it = ok_patron(export), shelf_items(export)[0]
    first = client.request(checkout(p["card"], it["barcode"]))
    assert first.ok and not first.renewal_ok and first.desensitize and first.title == it["title"]
    assert c.parse_due_date(first.due_date).date() > dt.date.today()
    info = client.request(item_info(it["barcode"]))
    assert info.circulation_status == "04" and info.due_date == first.due_date
    assert dict(info.extra)["XB"] == p["card"] == info.patron_id    # documented extension: current borrower
    again = client.request(checkout(p["card"], it["barcode"]))
    assert again.ok and again.renewal_ok                      # Koha: already yours -> renewed
    assert len(server.db.checkouts_of(it["barcode"])) == 1
    other = client.request(checkout(ok_patron(export, 1)["card"], it["barcode"]))
    assert not other.ok and other.screen_message == "Item checked out to another patron"
    assert client.send_raw(c.encode(checkout("nobody", it["barcode"]), seq=1)).startswith(b"120NUN")


def test_unknown_item_replies_like_koha(client):
    raw = client.send_raw(c.encode(checkin("nosuchitem"), seq=4))
    assert raw.startswith(b"100NUY") and b"|CV99|AFInvalid Item|" in raw and b"AQ" not in raw
    info = client.request(item_info("nosuchitem"))
    assert (info.circulation_status, info.security_marker, info.fee_type, info.title) == ("01", "01", "01", "")
    assert info.patron_id is None and "XB" not in dict(info.extra)


def test_checkin_alerts_for_holds_and_transfers(client, export):
    here = next(i for i in export["items"] if i["borrower"] and i["holds"] and i["holds"][0]["pickup"] == "MAIN")
    r = client.request(checkin(here["barcode"]))
    assert r.ok and r.alert and r.alert_type == "01" and r.hold_patron_id == here["holds"][0]["card"]
    assert r.hold_patron_name and r.sort_bin
    away = next(i for i in export["items"] if i["borrower"] and i["holds"] and i["holds"][0]["pickup"] == "EAST")
    r = client.request(checkin(away["barcode"]))
    assert r.alert_type == "02" and r.destination_location == "EAST"
    east = next(i for i in export["items"] if i["home_branch"] == "EAST" and i["status"] == "available")
    r = client.request(checkin(east["barcode"]))
    assert r.alert_type == "04" and r.destination_location == "EAST"
    assert not r.ok and r.screen_message == "Item not checked out"


def test_patron_information_lists_pin_and_blocks(client, export):
    alice = next(p for p in export["patrons"] if p["name"] == "Alice Example")
    r = client.request(c.PatronInformationRequest(summary="  Y       ", institution_id="DEMO",
                                                  patron_id=alice["card"], patron_password=alice["pin"]))
    assert r.valid_patron and r.valid_patron_password and r.personal_name == "Alice Example"
    assert set(r.charged_items) == set(alice["loans"]) and r.hold_items_count == 1
    r = client.request(c.PatronInformationRequest(summary="Y         ", institution_id="DEMO",
                                                  patron_id=alice["card"], patron_password="0000"))
    assert r.valid_patron and r.valid_patron_password is False and len(r.hold_items) == 1
    fined = next(p for p in export["patrons"] if p["status"] == "fines")
    r = client.request(c.PatronStatusRequest(institution_id="DEMO", patron_id=fined["card"]))
    assert r.patron_status[0] == "Y" and r.patron_status[10] == "Y" and "fines" in r.screen_message
    r = client.request(c.PatronInformationRequest(summary=" " * 10, institution_id="DEMO", patron_id="000"))
    assert r.patron_status.startswith("YYYY") and r.valid_patron is False
    assert r.screen_message == "Invalid cardnumber"


def test_refused_checkout_reason_in_af(client, export):
    limited = next(p for p in export["patrons"] if p["status"] == "loan_limit")
    r = client.request(checkout(limited["card"], shelf_items(export)[0]["barcode"]))
    assert not r.ok and "Too many items" in r.screen_message and r.due_date == ""


def test_renew_and_end_session(client, export):
    p, it = ok_patron(export), shelf_items(export)[1]
    assert client.request(checkout(p["card"], it["barcode"])).ok
    r = client.request(c.RenewRequest(institution_id="DEMO", patron_id=p["card"], item_id=it["barcode"]))
    assert r.ok and r.renewal_ok
    r = client.request(c.RenewAllRequest(institution_id="DEMO", patron_id=p["card"]))
    assert r.ok and r.renewed_items == (it["barcode"],)
    r = client.request(c.EndPatronSessionRequest(institution_id="DEMO", patron_id=p["card"]))
    assert r.end_session and r.screen_message == "Thank you!"


def test_no_block_offline_transactions_keep_their_dates(client, server, export):
    p, it = ok_patron(export), shelf_items(export)[2]
    when = dt.datetime.now().replace(microsecond=0) - dt.timedelta(days=2)
    promised = when.replace(hour=23, minute=59, second=0) + dt.timedelta(days=14)
    r = client.request(checkout(p["card"], it["barcode"], no_block=True, transaction_date=when,
                                nb_due_date=promised))
    assert r.ok and c.parse_due_date(r.due_date) == promised
    assert server.db.loan_of_item(it["barcode"]).issued_at == when
    back = when + dt.timedelta(days=1)
    assert client.request(checkin(it["barcode"], no_block=True, transaction_date=back, return_date=back)).ok
    assert server.db.loan_history(it["barcode"])[-1]["returned_at"] == back.strftime("%Y-%m-%d %H:%M:%S")


# ------------------------------------------------------------------------- state, latency, TLS
def test_state_survives_restart_and_reset_reseeds(tmp_path):
    path = tmp_path / "persist.sqlite"
    with DemoIlsServer(path) as srv:
        exp = srv.db.export()
        p, it = ok_patron(exp), shelf_items(exp)[0]
        cl = SipTestClient(srv.port)
        assert cl.login() and cl.request(checkout(p["card"], it["barcode"])).ok
        cl.close()
    with DemoIlsServer(path) as srv:
        cl = SipTestClient(srv.port)
        assert cl.login() and cl.request(item_info(it["barcode"])).circulation_status == "04"
        cl.close()
    with DemoIlsServer(path, reset=True) as srv:
        assert srv.db.loan_of_item(it["barcode"]) is None


def test_latency_delays_every_reply(tmp_path):
    with DemoIlsServer(tmp_path / "slow.sqlite", latency_ms=150) as srv:
        cl = SipTestClient(srv.port)
        t0 = time.monotonic()
        assert cl.login()
        cl.request(c.ScStatusRequest())
        assert time.monotonic() - t0 >= 0.3
        cl.close()


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls(tmp_path):
    cert, key = _self_signed(tmp_path)
    with DemoIlsServer(tmp_path / "tls.sqlite", tls_cert=str(cert), tls_key=str(key)) as srv:
        ctx = ssl.create_default_context(cafile=str(cert))
        cl = SipTestClient(srv.port, tls=ctx)
        assert cl.login() and cl.request(c.ScStatusRequest()).online_status
        cl.close()
        plain = SipTestClient(srv.port, timeout=3)      # a plain-text client gets no SIP reply
        with pytest.raises((ConnectionError, OSError)):
            plain.send_raw(b"9300CNkiosk|COkiosk|\r")
        plain.close()


def test_cli_runs_the_server(tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "demo-ils", "--port", "0", "--db",
                             str(tmp_path / "cli.sqlite"), "--user", "u1", "--password", "p1",
                             "--institution", "LIB1"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        port = int(re.search(r":(\d+) ", line).group(1))
        cl = SipTestClient(port)
        assert not cl.login("kiosk", "kiosk") and cl.login("u1", "p1")
        assert cl.request(c.ScStatusRequest()).institution_id == "LIB1"
        cl.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_internal_error_is_answered_and_connection_stays(client, monkeypatch):
    from kiosk.demo_ils import handlers

    def broken(ctx, req):
        raise RuntimeError("a bug in a handler")

    monkeypatch.setitem(handlers.HANDLERS, "17", broken)
    r = client.request(item_info("3900000001"))
    assert r.screen_message == "System error. Please contact library staff."
    assert client.request(c.ScStatusRequest()).online_status


def test_cp850_link_replaces_what_it_cannot_carry(tmp_path):
    with DemoIlsServer(tmp_path / "cp850.sqlite", charset="cp850") as srv:
        exp = srv.db.export()
        greek = next(i for i in exp["items"] if i["title"] == "Ζορμπάς")
        french = next(i for i in exp["items"] if i["title"] == "Les Misérables")
        cl = SipTestClient(srv.port)
        assert cl.login()
        for it, shown in ((greek, "???????"), (french, "Les Misérables")):
            cl.seq += 1
            raw = cl.send_raw(c.encode(item_info(it["barcode"]), seq=cl.seq, charset="cp850"))
            assert c.decode(raw, charset="cp850").title == shown
        cl.close()


def test_backdated_return_removes_fines_accrued_after_it(client, server, export):
    jurgen = next(p for p in export["patrons"] if "one overdue book" in p["scenario"])
    info = c.PatronInformationRequest(summary=" Y        ", institution_id="DEMO",
                                      patron_id=jurgen["card"], patron_password=jurgen["pin"])
    before = client.request(info)
    (late,) = before.overdue_items
    assert float(before.fee_amount) >= 0.5                   # 0.25 a day for each day since the due date
    due = server.db.loan_of_item(late).due_at
    back = due + dt.timedelta(hours=10)                      # found in the book drop the next morning
    r = client.request(checkin(late, no_block=True, transaction_date=back, return_date=back))
    assert r.ok
    after = client.request(info)
    assert after.fee_amount == "0.25" and after.overdue_items == ()
