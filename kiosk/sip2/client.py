"""One SIP2 connection's request/reply rules: login, status, retries, sequence numbers, 96/97.

The thin shell around the pure codec.  What it guarantees (issue 3, sip2.md 1.4 and 2):

* Nothing sent -> :class:`IlsUnavailable`.  Sent but no valid reply (timeout, dropped connection,
  reply damaged beyond a 97 resend) -> :class:`OutcomeUnknown`.  A reply we cannot understand ->
  :class:`ProtocolError`.  A refusal by the library is a normal reply, not an error.
* Only *safe* requests (read-only ones and check-in) are resent after a timeout, each time on a
  fresh connection so a late reply to the first attempt cannot be taken for the answer to the
  second.  Checkout, renewal, renew-all, fee paid and holds are never resent here: the caller
  (SipIls) resolves their outcome with Item Information first.
* A damaged reply is asked for again with 97 (the ACS repeats its last reply, nothing is redone);
  a 96 from the ACS means it could not read our request, so resending it is safe.
* Before a request that must not be doubled, a connection the server has closed meanwhile
  (restart, Koha's client_timeout) is detected and replaced, so nothing is sent into a dead socket.
* Timeout and retries come from the config and are adjusted by the ACS status reply (98).

The socket work (TCP/TLS, reading up to CR, draining) is in kiosk/sip2/transport.py, the pool of
connections and its keep-alive in kiosk/sip2/pool.py.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from datetime import datetime

from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.sip2 import codec
from kiosk.sip2.codec import (
    RESPONSE_TO,
    AcsStatusResponse,
    ChecksumError,
    FrameError,
    LoginRequest,
    LoginResponse,
    Message,
    RequestAcsResend,
    RequestScResend,
    ScStatusRequest,
)
from kiosk.sip2.transport import FrameSocket, GarbledReply, ReplyTimeout

__all__ = ["SAFE_CODES", "GarbledReply", "NotSip2", "ReplyTimeout", "Sip2Client"]

log = logging.getLogger(__name__)

#: Requests that may be resent after a timeout: read-only ones and check-in (a repeated check-in
#: answers "not checked out", which the kiosk treats as "already in").
SAFE_CODES = frozenset({"93", "99", "23", "63", "17", "09", "35", "97"})
# The ACS's own timeout (98) is clamped to this range (sip2.md 7: "clamp to a sane minimum");
# the configured timeout_s is taken as given.
MIN_TIMEOUT_S = 1.0
MAX_ACS_TIMEOUT_S = 60.0


class NotSip2(IlsUnavailable, ProtocolError):
    """The login (or status) got an answer that is not SIP2, or is malformed: nothing of the caller's
    request was sent.  The CLI reports it as a protocol error (exit 2), the engine as unreachable."""


class Sip2Client:
    """One SIP2 connection (TCP or TLS), logged in lazily, reconnected when it breaks.

    Thread-safe: requests on one client are serialised (SIP2 has no request ids).
    """

    def __init__(self, host: str, port: int, *, user: str = "", password: str = "",
                 institution: str = "", location: str = "", charset: str = "utf-8",
                 timeout_s: float = 10.0, retries: int = 2, error_detection: bool = True,
                 tls: bool = False, tls_ca_file: str = "", tls_cert_file: str = "",
                 tls_key_file: str = "", tls_verify_hostname: bool = True,
                 connect_timeout_s: float | None = None, trace: bool = False,
                 status_on_connect: bool = True) -> None:
        self.host, self.port = host, int(port)
        self.user, self._password = user, password
        self.institution, self.location, self.charset = institution, location, charset
        self.config_timeout_s = float(timeout_s)
        self.config_retries = int(retries)
        self.timeout_s = self.config_timeout_s
        self.retries = self.config_retries
        self.error_detection = error_detection
        self.tls = tls
        self.tls_ca_file, self.tls_cert_file, self.tls_key_file = tls_ca_file, tls_cert_file, tls_key_file
        self.tls_verify_hostname = tls_verify_hostname
        self.connect_timeout_s = connect_timeout_s or self.config_timeout_s
        self.status_on_connect = status_on_connect
        self.acs_status: AcsStatusResponse | None = None
        self.trace: list[tuple[str, bytes]] | None = [] if trace else None
        self.last_used = time.monotonic()
        self.reconnects = 0
        self._conn: FrameSocket | None = None
        self._last_frame = b""
        self._seq = 0
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ connection
    @property
    def connected(self) -> bool:
        return self._conn is not None

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.tls_ca_file or None)
        ctx.check_hostname = bool(self.tls_verify_hostname)
        if self.tls_cert_file:
            ctx.load_cert_chain(self.tls_cert_file, self.tls_key_file or None)
        return ctx

    def connect(self) -> None:
        """Open the socket, log in (93) and read the ACS status (98).  Raises IlsUnavailable."""
        with self._lock:
            self.close()
            try:
                self._conn = FrameSocket.open(self.host, self.port, timeout_s=self.connect_timeout_s,
                                              ssl_context=self._ssl_context if self.tls else None,
                                              charset=self.charset, trace=self.trace)
            except (OSError, ssl.SSLError) as exc:
                raise IlsUnavailable(f"cannot connect to the library system at {self.host}:{self.port}: "
                                     f"{exc}") from exc
            self.reconnects += 1
            try:
                if self.user:
                    self.login()
                if self.status_on_connect:
                    self.sc_status()
            except GarbledReply as exc:     # it answered, but not in SIP2 (or not readably)
                self.close()
                raise NotSip2(self._not_sip2(exc)) from exc
            except OutcomeUnknown as exc:   # login/status are read-only: nothing happened
                self.close()
                raise IlsUnavailable(f"library system at {self.host}:{self.port} did not answer the "
                                     f"login/status: {exc}") from exc
            except ProtocolError as exc:    # e.g. a 98 with unreadable timeout/retries
                self.close()
                raise NotSip2(f"the library system at {self.host}:{self.port} answered the login/status "
                              f"with a malformed reply: {exc}") from exc
            except BaseException:
                self.close()
                raise

    def _not_sip2(self, exc: Exception) -> str:
        """The staff message for a login/status answered with something that is not a SIP2 reply."""
        frame = self._last_frame.rstrip(b"\r\n")
        code = frame[:2].decode("ascii", "replace")
        if code not in codec.MESSAGES:
            shown = frame[:48].decode("ascii", "backslashreplace")
            return (f"{self.host}:{self.port}: this is not a SIP2 server (it answered the login with "
                    f"{shown!r}); check [ils] host and port")
        return f"the library system at {self.host}:{self.port} answered the login/status unreadably: {exc}"

    def login(self) -> None:
        reply = self._exchange(LoginRequest(login_user_id=self.user, login_password=self._password,
                                            location_code=self.location or None), safe=True)
        if not (isinstance(reply, LoginResponse) and reply.ok):
            raise IlsUnavailable(f"the library system at {self.host}:{self.port} refused the SIP2 login "
                                 f"of user {self.user!r} (check [ils] user/password)")

    def sc_status(self, status_code: str = "0") -> AcsStatusResponse:
        """Send 99, keep the ACS status and adopt its timeout/retries (tenths of a second)."""
        reply = self._exchange(ScStatusRequest(status_code=status_code), safe=True)
        if not isinstance(reply, AcsStatusResponse):
            raise ProtocolError(f"SC status answered with message {reply.code}")
        for name, value in (("timeout period", reply.timeout_period), ("retries allowed", reply.retries_allowed)):
            text = (value or "").strip()
            # str.isdigit() also accepts '²' and Arabic-Indic digits: SIP2 numbers are ASCII (issue 13.6).
            if text and not (text.isascii() and text.isdigit()):
                raise ProtocolError(f"ACS status (98): {name} {value!r} is not a 3-digit number")
        self.acs_status = reply
        if reply.timeout_s is not None:
            acs = min(max(reply.timeout_s, MIN_TIMEOUT_S), MAX_ACS_TIMEOUT_S)
            self.timeout_s = max(self.config_timeout_s, acs)
        if reply.retries is not None:
            self.retries = min(self.config_retries, reply.retries)
        return reply

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    def __enter__(self) -> Sip2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ requests
    def request(self, record: Message, *, safe: bool | None = None) -> Message:
        """Send one request and return the decoded reply, (re)connecting and logging in as needed.

        ``safe`` (default: by message code, see SAFE_CODES) allows resending after a timeout.
        """
        if safe is None:
            safe = record.code in SAFE_CODES
        with self._lock:
            attempts = 1 + (max(0, self.retries) if safe else 0)
            last: Exception | None = None
            sent_any = False
            for attempt in range(attempts):
                # Drop unread input first: a frame a server wrote twice (or a late reply) must never
                # answer this request (issue 13.2).  _alive() drains the socket without blocking.
                if not self._alive():
                    try:
                        self.connect()
                    except IlsUnavailable as exc:
                        if sent_any:
                            raise OutcomeUnknown(f"{type(record).__name__} was sent but no reply came "
                                                 f"back, and reconnecting failed: {exc}") from exc
                        raise
                try:
                    return self._exchange(record, safe=safe)
                except OutcomeUnknown as exc:
                    sent_any = True
                    last = exc
                    self.close()        # a late reply must never answer the next request
                    if not safe or isinstance(exc, ReplyTimeout):
                        # A server that stayed silent for timeout_s will not answer a resend sooner:
                        # one timeout per request, the caller decides (issue 13.8: an item against a
                        # silent library system costs one timeout plus one resolution).
                        raise
                    log.info("no reply to %s (attempt %d of %d); retrying on a new connection",
                             type(record).__name__, attempt + 1, attempts)
            assert last is not None
            raise last

    def _exchange(self, record: Message, *, safe: bool) -> Message:
        """One request/reply on the open socket, with 96/97 handling.  No reconnects here."""
        seq = self._seq
        self._seq = (seq + 1) % 10
        wire = codec.encode(record, seq=seq, error_detection=self.error_detection, charset=self.charset)
        expected = RESPONSE_TO.get(record.code, "")
        self._send(wire, record)
        deadline = time.monotonic() + self.timeout_s
        resends = max(1, self.retries)
        asked_again = 0
        rescued = 0
        while True:
            frame = self._read_frame(record, deadline)
            try:
                got = codec.decode_frame(frame, charset=self.charset, require_checksum=self.error_detection)
            except ChecksumError as exc:
                if b"AZ" not in frame[-12:]:
                    raise GarbledReply(f"reply to {type(record).__name__} has no checksum although error "
                                       f"detection is on (set [ils] error_detection = false if this "
                                       f"server never sends AY/AZ)") from exc
                if asked_again >= resends:
                    raise GarbledReply(f"reply to {type(record).__name__} still damaged after "
                                       f"{asked_again} resend request(s): {exc}") from exc
                asked_again += 1
                log.info("damaged reply (%s); asking the library system to resend it (97)", exc)
                self._send(codec.encode(RequestAcsResend(), error_detection=self.error_detection,
                                        charset=self.charset), None)
                deadline = self._deadline()
                continue
            except FrameError as exc:
                raise GarbledReply(f"unreadable reply to {type(record).__name__}: {exc}") from exc
            reply = got.record
            if isinstance(reply, RequestScResend):
                # The ACS could not read our request, so it did not act on it: resending is safe --
                # unless the 96 answers our 97, after the ACS may already have acted.
                if asked_again and not safe:
                    raise GarbledReply(f"reply to {type(record).__name__} was damaged and the library "
                                       f"system could not resend it")
                if rescued >= resends:
                    raise OutcomeUnknown(f"library system kept asking to resend {type(record).__name__}")
                rescued += 1
                self._send(wire, record)
                deadline = self._deadline()
                continue
            if self.error_detection and got.seq is not None and got.seq != seq and asked_again == 0:
                log.debug("discarding reply with sequence %s (waiting for %s)", got.seq, seq)
                continue                      # a stale reply to an earlier request
            if expected and reply.code != expected:
                raise GarbledReply(f"{type(record).__name__} answered with message {reply.code} "
                                   f"({type(reply).__name__}), expected {expected}")
            wrong = _foreign_reply(record, reply)
            if wrong:
                # Without error detection nothing else tells a stale frame from the answer: a reply
                # about another item or patron is not ours, so ours is lost (issue 13.2).
                raise GarbledReply(f"{type(record).__name__} answered with a reply for another {wrong}: "
                                   f"a stale or misdirected reply, treated as lost")
            self.last_used = time.monotonic()
            return reply

    def _deadline(self) -> float:
        return time.monotonic() + self.timeout_s

    # ------------------------------------------------------------------ the connection underneath
    def _send(self, wire: bytes, record: Message | None) -> None:
        conn = self._conn
        assert conn is not None
        conn.send(wire, type(record).__name__, self.timeout_s, secret=isinstance(record, LoginRequest))
        self.last_used = time.monotonic()

    def _read_frame(self, record: Message, deadline: float) -> bytes:
        assert self._conn is not None
        frame = self._conn.read_frame(type(record).__name__, deadline, self.timeout_s)
        self._last_frame = frame
        return frame

    def _alive(self) -> bool:
        """Unread input dropped; False when the server has closed the socket while it was idle."""
        return self._conn is not None and self._conn.fresh()

    def idle_for(self) -> float:
        return time.monotonic() - self.last_used

    def transaction_date(self) -> datetime:
        return datetime.now().replace(microsecond=0)


def _norm(value: object) -> str:
    return value.strip().casefold() if isinstance(value, str) else ""


def _foreign_reply(request: Message, reply: Message) -> str:
    """"item" or "patron" when the reply names another item (AB) or patron (AA) than the request;
    "" when they agree or the reply does not say.  Servers echo the request's identifiers (Koha
    C4/SIP/Sip/MsgType.pm; Evergreen SIPServer gives back "the passed barcode", OpenILS/SIP/Patron.pm;
    FOLIO edge-sip2 templates): case and surrounding blanks are ignored."""
    asked, told = _norm(getattr(request, "item_id", None)), _norm(getattr(reply, "item_id", None))
    if asked and told and asked != told:
        return "item"
    asked, told = _norm(getattr(request, "patron_id", None)), _norm(getattr(reply, "patron_id", None))
    if asked and told and asked != told:
        return "patron"
    return ""
