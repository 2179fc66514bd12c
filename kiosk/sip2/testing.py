"""A small fault-injecting SIP2 server (ACS) on the loopback interface, for tests and the bench.

Not the demo library system (that is kiosk.demo_ils): this one keeps a tiny in-memory library and
can misbehave on purpose, once per injected fault, so tests can prove the client's guarantees:

    drop_before   close the connection without acting on the request
    drop_after    act on the request, then close without replying
    delay         act, then reply after ``delay_s`` (past the client's timeout)
    garble        act, reply with a wrong checksum (a following 97 gets the correct reply,
                  unless a "garble" fault was injected for code "97" too)
    mid_frame     act, send half the reply, close
    resend        answer 96 (request SC resend) without acting
    stale         act, send a reply with another sequence number first, then the real one

    write_twice   act, write the reply twice (a second, stale frame follows the answer)
    other_item    act, reply with another item id (or patron id): a reply that is not ours
    hang          act on nothing and never answer (a silent library system); sticky for ``code``

``personality=`` shapes the replies like a real library system's SIP server (see PERSONALITIES:
Koha, Evergreen, Sierra, Symphony, FOLIO edge-sip2, each with the public source it follows).
``crlf=True`` ends every reply with CR LF (Koha's default).  ``restart()`` drops every open
connection as a server restart would.  ``log`` records every request acted on, so tests can
assert "happened exactly once".  Koha-like rules: a checkout of an item already on loan to the
same patron is answered as a renewal (sip2.md 2), a check-in of an item not on loan answers
``ok=0`` "Item not checked out".
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from kiosk.sip2 import codec
from kiosk.sip2.codec import (
    AcsStatusResponse,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    ChecksumError,
    EndPatronSessionRequest,
    EndPatronSessionResponse,
    FrameError,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    LoginResponse,
    Message,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    RequestAcsResend,
    RequestScResend,
    ScStatusRequest,
)
from kiosk.sip2.personalities import PERSONALITIES, Personality  # noqa: F401 - re-exported for tests

FAULTS = ("drop_before", "drop_after", "delay", "garble", "mid_frame", "resend", "stale", "write_twice",
          "other_item", "hang")


def _garble(wire: bytes) -> bytes:
    """The same reply with one checksum digit changed."""
    bad = bytearray(wire)
    i = bad.rfind(b"AZ") + 2
    bad[i] = ord("0") if bad[i] != ord("0") else ord("1")
    return bytes(bad)


@dataclass
class FakeItem:
    title: str
    borrower: str = ""
    due: datetime | None = None
    renewals: int = 0


@dataclass
class FakeLibrary:
    """Patrons (card -> (name, pin)) and items (barcode -> FakeItem)."""

    patrons: dict[str, tuple[str, str]] = field(default_factory=lambda: {
        "P1": ("Ada Reader", "1234"), "P2": ("Ben Borrower", "0000"), "BLOCKED": ("Cy Blocked", "")})
    items: dict[str, FakeItem] = field(default_factory=lambda: {
        f"I{i}": FakeItem(f"Book number {i}") for i in range(1, 21)})
    loan_days: int = 14


class FakeAcs:
    """Threaded loopback SIP2 server.  Use as a context manager; ``port`` is a free port."""

    def __init__(self, *, user: str = "kiosk", password: str = "kiosk", institution: str = "TEST",
                 charset: str = "utf-8", crlf: bool = False, report_borrower: bool = True,
                 timeout_period: str = "999", retries_allowed: str = "999", latency_s: float = 0.0,
                 ssl_context: ssl.SSLContext | None = None, library: FakeLibrary | None = None,
                 canned: dict[str, bytes] | None = None, personality: str | Personality | None = None) -> None:
        if isinstance(personality, str):
            personality = PERSONALITIES[personality]
        self.personality = personality
        if personality is not None:
            report_borrower = personality.borrower_in_18
        self.user, self.password, self.institution, self.charset = user, password, institution, charset
        self.crlf, self.report_borrower, self.latency_s = crlf, report_borrower, latency_s
        self.timeout_period, self.retries_allowed = timeout_period, retries_allowed
        self.ssl_context = ssl_context
        self.library = library or FakeLibrary()
        self.canned = canned            # code -> fixed reply bytes (bench: no work per request)
        self.delay_s = 2.0
        self.log: list[tuple[str, str, str]] = []      # (code, patron, item) acted on
        self.received: list[str] = []                  # every message code received
        self.logins = 0
        self.connections = 0
        self.max_concurrent = 0
        self._active = 0
        self._faults: list[tuple[str, str]] = []
        self.hanging: set[str] = set()                 # codes never answered ("hang"; "" = all)
        self.wrote_twice = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)     # accept() polls so stop() returns promptly
        self.port = self._listener.getsockname()[1]
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- control
    def start(self) -> FakeAcs:
        self._thread = threading.Thread(target=self._accept_loop, name="fake-acs", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.restart()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> FakeAcs:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(self, fault: str, code: str = "") -> None:
        """Misbehave once on the next request with ``code`` (any code when empty)."""
        assert fault in FAULTS, fault
        with self._lock:
            if fault == "hang":
                self.hanging.add(code)
                return
            self._faults.append((fault, code))

    def restart(self) -> None:
        """Drop every open connection (what clients see when the server restarts)."""
        with self._lock:
            conns, self._conns = set(self._conns), set()
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                c.close()

    def acted(self, code: str, item: str = "") -> int:
        """How many times a request with ``code`` (for ``item``) was acted on."""
        return sum(1 for c, _p, i in self.log if c == code and (not item or i == item))

    # ---------------------------------------------------------------- network
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        if self.ssl_context is not None:
            try:
                conn = self.ssl_context.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                return
        with self._lock:
            self._conns.add(conn)
            self.connections += 1
            self._active += 1
            self.max_concurrent = max(self.max_concurrent, self._active)
        last_reply = b""
        buf = b""
        try:
            while not self._stop.is_set():
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while b"\r" in buf:
                    frame, buf = buf.split(b"\r", 1)
                    frame = frame.lstrip(b"\n")
                    out = self._handle_frame(conn, frame, last_reply)
                    if out is None:
                        return          # a fault closed the connection
                    if out:
                        last_reply = out
        except (OSError, ssl.SSLError):
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
                self._active -= 1
            with contextlib.suppress(OSError):
                conn.close()

    def _terminator(self) -> bytes:
        return b"\r\n" if self.crlf else b"\r"

    def _handle_frame(self, conn: socket.socket, frame: bytes, last_reply: bytes) -> bytes | None:
        self.received.append(frame[:2].decode("ascii", "replace"))
        if self.canned is not None and frame[:2].decode("ascii", "replace") in self.canned:
            reply = self.canned[frame[:2].decode("ascii")]
            conn.sendall(reply)
            return reply
        try:
            got = codec.decode_frame(frame, charset=self.charset)
        except ChecksumError:
            reply = codec.encode(RequestScResend(), charset=self.charset)
            conn.sendall(reply)
            return b""
        except FrameError:
            return b""
        req = got.record
        if self.hanging and ("" in self.hanging or req.code in self.hanging):
            return b""                  # silent: nothing done, nothing answered
        if isinstance(req, RequestAcsResend):
            again = last_reply or codec.encode(RequestScResend(), charset=self.charset)
            conn.sendall(_garble(again) if self._take_fault("97") == "garble" else again)
            return b""
        fault = self._take_fault(req.code)
        if fault == "drop_before":
            return None
        if fault == "resend":
            conn.sendall(codec.encode(RequestScResend(), charset=self.charset))
            return b""
        if self.latency_s:
            time.sleep(self.latency_s)
        reply_record = self._act(req)
        detect = got.checksum is not None
        wire = codec.encode(reply_record, seq=got.seq, error_detection=detect, charset=self.charset)
        wire = wire[:-1] + self._terminator()
        if fault == "drop_after":
            return None
        if fault == "delay":
            time.sleep(self.delay_s)
        if fault == "mid_frame":
            conn.sendall(wire[: len(wire) // 2])
            return None
        if fault == "garble":
            conn.sendall(_garble(wire))
            return wire
        if fault == "write_twice":     # one write: the copy waits in the client's buffer
            conn.sendall(wire + wire)
            self.wrote_twice.set()
            return wire
        if fault == "other_item":      # a reply about another item (or patron): misdirected/stale
            name = "item_id" if getattr(reply_record, "item_id", None) else "patron_id"
            foreign = replace(reply_record, **{name: "X" + (getattr(reply_record, name, "") or "")})
            out = codec.encode(foreign, seq=got.seq, error_detection=detect, charset=self.charset)
            conn.sendall(out[:-1] + self._terminator())
            return wire
        if fault == "stale" and got.seq is not None:
            old = codec.encode(reply_record, seq=(got.seq + 5) % 10, charset=self.charset)
            conn.sendall(old[:-1] + self._terminator())
        conn.sendall(wire)
        return wire

    def _take_fault(self, code: str) -> str:
        with self._lock:
            for i, (fault, want) in enumerate(self._faults):
                if not want or want == code:
                    del self._faults[i]
                    return fault
        return ""

    # ---------------------------------------------------------------- the tiny library
    def _act(self, req: Message) -> Message:
        now = datetime.now().replace(microsecond=0)
        lib = self.library
        with self._lock:
            if isinstance(req, LoginRequest):
                self.logins += 1
                return LoginResponse(ok=req.login_user_id == self.user and req.login_password == self.password)
            if isinstance(req, ScStatusRequest):
                return AcsStatusResponse(online_status=True, checkin_ok=True, checkout_ok=True,
                                         acs_renewal_policy=True, status_update_ok=False, offline_ok=False,
                                         timeout_period=self.timeout_period,
                                         retries_allowed=self.retries_allowed, date_time_sync=now,
                                         institution_id=self.institution, library_name="Fake Library",
                                         supported_messages="YYYYYYYYYYYNYYYY")
            if isinstance(req, (PatronInformationRequest, PatronStatusRequest)):
                return self._patron(req, now)
            if isinstance(req, ItemInformationRequest):
                it = lib.items.get(req.item_id)
                if it is None:
                    return ItemInformationResponse(circulation_status="01", transaction_date=now,
                                                   item_id=req.item_id, title="",
                                                   screen_messages="Item not found")
                return ItemInformationResponse(
                    circulation_status="04" if it.borrower else "03", transaction_date=now,
                    item_id=req.item_id, title=it.title, due_date=codec.sip_datetime(it.due) if it.due else None,
                    patron_id=(it.borrower or None) if self.report_borrower else None)
            if isinstance(req, CheckoutRequest):
                return self._checkout(req, now)
            if isinstance(req, RenewRequest):
                return self._renew(req, now)
            if isinstance(req, CheckinRequest):
                it = lib.items.get(req.item_id)
                self.log.append(("09", "", req.item_id))
                if it is None:
                    return CheckinResponse(ok=False, resensitize=False, alert=True, transaction_date=now,
                                           institution_id=self.institution, item_id=req.item_id,
                                           alert_type="99", screen_messages="Invalid Item")
                if not it.borrower:
                    shape = self.personality.already_in if self.personality else "af"
                    if shape == "bare":     # Evergreen/Sierra: ok=0, no alert, no AF, AQ empty
                        return CheckinResponse(ok=False, resensitize=True, magnetic_media=False, alert=False,
                                               transaction_date=now, institution_id=self.institution,
                                               item_id=req.item_id, permanent_location="", title=it.title)
                    if shape == "ok":
                        return CheckinResponse(ok=True, resensitize=True, alert=False, transaction_date=now,
                                               institution_id=self.institution, item_id=req.item_id,
                                               permanent_location="Main", title=it.title)
                    text = self.personality.already_in_text if self.personality else "Item not checked out"
                    return CheckinResponse(ok=False, resensitize=True, alert=False, transaction_date=now,
                                           institution_id=self.institution, item_id=req.item_id,
                                           permanent_location="Main", title=it.title,
                                           screen_messages=text)
                prev = it.borrower
                it.borrower, it.due = "", None
                return CheckinResponse(ok=True, resensitize=True, alert=False, transaction_date=now,
                                       institution_id=self.institution, item_id=req.item_id,
                                       permanent_location="Main", title=it.title, patron_id=prev)
            if isinstance(req, RenewAllRequest):
                self.log.append(("65", req.patron_id, ""))
                mine = [b for b, it in lib.items.items() if it.borrower == req.patron_id]
                for b in mine:
                    lib.items[b].due = (lib.items[b].due or now) + timedelta(days=lib.loan_days)
                return RenewAllResponse(ok=True, renewed_count=len(mine), unrenewed_count=0,
                                        transaction_date=now, institution_id=self.institution,
                                        renewed_items=tuple(mine))
            if isinstance(req, EndPatronSessionRequest):
                return EndPatronSessionResponse(end_session=True, transaction_date=now,
                                                institution_id=self.institution, patron_id=req.patron_id,
                                                screen_messages="Thank you!")
        return RequestScResend()   # not supported here

    def _patron(self, req: PatronInformationRequest | PatronStatusRequest, now: datetime) -> Message:
        known = self.library.patrons.get(req.patron_id)
        status = "Y" + " " * 13 if req.patron_id == "BLOCKED" else " " * 14
        if known is None:
            status = "YYYY" + " " * 10
        name, pin = known or ("", "")
        pin_ok = None if not req.patron_password else req.patron_password == pin
        base = dict(patron_status=status, language="001", transaction_date=now,
                    institution_id=self.institution, patron_id=req.patron_id, personal_name=name,
                    valid_patron=known is not None, valid_patron_password=pin_ok,
                    screen_messages="Invalid cardnumber" if known is None else "")
        if isinstance(req, PatronStatusRequest):
            return PatronStatusResponse(**base)
        loans = tuple(b for b, it in self.library.items.items() if it.borrower == req.patron_id)
        charged = loans if req.summary[2:3] == "Y" else ()
        pers = self.personality
        if pers is not None and charged:
            if pers.au == "title":
                charged = tuple(self.library.items[b].title for b in charged)
            if pers.au_page is not None:
                first = int(req.start_item or 1) if (req.start_item or "").isdigit() else 1
                last = (int(req.end_item) if (req.end_item or "").isdigit()
                        else first + pers.au_page - 1)
                charged = charged[first - 1:last]
        return PatronInformationResponse(**base, hold_items_count=0, overdue_items_count=0,
                                         charged_items_count=len(loans), fine_items_count=0,
                                         recall_items_count=0, unavailable_holds_count=0,
                                         charged_items=charged, fee_amount="0.00", currency_type="USD")

    def _checkout(self, req: CheckoutRequest, now: datetime) -> Message:
        lib = self.library
        it = lib.items.get(req.item_id)
        base = CheckoutResponse(ok=False, renewal_ok=False, magnetic_media=False, desensitize=False,
                                transaction_date=now, institution_id=self.institution,
                                patron_id=req.patron_id, item_id=req.item_id, title="", due_date="")
        if req.patron_id not in lib.patrons:
            return replace(base, screen_messages=("Invalid Patron",))
        if req.patron_id == "BLOCKED":
            return replace(base, screen_messages=("Patron blocked",))
        if it is None:
            return replace(base, screen_messages=("Invalid Item",))
        if it.borrower and it.borrower != req.patron_id:
            return replace(base, title=it.title, screen_messages=("Item checked out to another patron",))
        if it.borrower == req.patron_id:     # Koha: a repeated checkout is a renewal
            self.log.append(("29", req.patron_id, req.item_id))
            it.renewals += 1
            it.due = (it.due or now) + timedelta(days=lib.loan_days)
            return replace(base, ok=True, renewal_ok=True, desensitize=True, title=it.title,
                           due_date=codec.sip_datetime(it.due),
                           screen_messages=("Item already checked out to you: renewing item.",))
        self.log.append(("11", req.patron_id, req.item_id))
        it.borrower, it.due = req.patron_id, now + timedelta(days=lib.loan_days)
        return replace(base, ok=True, desensitize=True, title=it.title, due_date=codec.sip_datetime(it.due),
                       media_type="001")

    def _renew(self, req: RenewRequest, now: datetime) -> Message:
        it = self.library.items.get(req.item_id or "")
        base = RenewResponse(ok=False, renewal_ok=False, magnetic_media=False, desensitize=False,
                             transaction_date=now, institution_id=self.institution, patron_id=req.patron_id,
                             item_id=req.item_id or "", title="", due_date="")
        if it is None or it.borrower != req.patron_id:
            return replace(base, screen_messages=("Item not checked out to you",))
        self.log.append(("29", req.patron_id, req.item_id or ""))
        it.renewals += 1
        it.due = (it.due or now) + timedelta(days=self.library.loan_days)
        return replace(base, ok=True, renewal_ok=True, title=it.title, due_date=codec.sip_datetime(it.due))
