"""The demo library's SIP2 server: a threaded TCP (optionally TLS) server on the project's codec.

One thread per connection, as in Koha's SIP server (a pre-forked process per connection there),
so each kiosk's connection is independent: its own login, its own "last reply" for 97.  The
library state lives in SQLite (:mod:`kiosk.demo_ils.db`), so it survives restarts and can be read
by tests while the server runs.

Framing is tolerant of the clients that exist (reference sip2.md 0 and 1.8): requests may end in
CR or CR LF, carry no AY/AZ, have blank dates, a trailing ``|`` or a 2-digit print width.  A
frame with a bad checksum is answered with 96 (as Koha does); a frame that cannot be decoded gets
the failure form of its reply (or 96 when even the message code is unknown), and the connection
stays open.  Replies end in CR LF by default like Koha's (``terminator="CR"`` for bare CR).
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from kiosk.appliance.privacy import scrub_sip_frame
from kiosk.demo_ils import rules
from kiosk.demo_ils.db import LibraryDb
from kiosk.demo_ils.handlers import HANDLERS, SYSTEM_ERROR, Account, Context, refusal
from kiosk.demo_ils.library import Library
from kiosk.sip2 import codec

log = logging.getLogger(__name__)

MAX_FRAME = 64 * 1024          # a frame longer than this without a CR is garbage: answered with 96
READ_ONLY = frozenset({"23", "63", "17", "35", "99"})   # answered from one consistent snapshot
_TRAILER = re.compile(rb"(?:AY([0-9]))?AZ[0-9A-Fa-f]{1,4}\Z")


class DemoIlsServer:
    """The demo library system.  ``start()`` returns once listening; ``port`` is the bound port.

    ``user``/``password``/``institution`` make the one login account (Koha: a ``<login>`` in
    SIPconfig.xml); more can be given with ``accounts``.  ``checked_in_ok`` is Koha's account flag:
    a return of an item that is not on loan then answers ok=1 instead of ok=0.
    """

    def __init__(self, db_path: str | Path, host: str = "127.0.0.1", port: int = 0, latency_ms: int = 0,
                 user: str = "kiosk", password: str = "kiosk", institution: str = "DEMO",
                 tls_cert: str | None = None, tls_key: str | None = None, *, charset: str = "utf-8",
                 terminator: str = "CRLF", checked_in_ok: bool = False, branch: str = rules.THIS_BRANCH,
                 library_name: str = "Demo Library", accounts: list[Account] | None = None,
                 reset: bool = False, client_timeout_s: float = 600.0,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        if terminator not in ("CR", "CRLF"):
            raise ValueError("terminator must be 'CR' or 'CRLF'")
        self.db = LibraryDb(db_path, clock)
        self.db.seed(reset=reset)
        self.host, self._port = host, port
        self.latency_s = max(0, latency_ms) / 1000.0
        self.institution = institution
        self.charset = charset
        self.terminator = b"\r\n" if terminator == "CRLF" else b"\r"
        self.branch = branch
        self.library_name = library_name
        self.client_timeout_s = client_timeout_s
        self.accounts = {a.user: a for a in (accounts or [])}
        self.accounts.setdefault(user, Account(user, password, institution, checked_in_ok))
        self.checked_in_ok = checked_in_ok
        self._tls: ssl.SSLContext | None = None
        if tls_cert or tls_key:
            if not (tls_cert and tls_key):
                raise ValueError("TLS needs both a certificate and a key")
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(tls_cert, tls_key)
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._accept_thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    # --------------------------------------------------------------------------------- control
    @property
    def port(self) -> int:
        return self._sock.getsockname()[1] if self._sock else self._port

    def start(self) -> DemoIlsServer:
        """Bind, listen and accept in a background thread; returns once connections are accepted."""
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        sock.listen(64)
        sock.settimeout(0.2)       # lets the accept loop notice stop()
        self._sock = sock
        self._stopping.clear()
        self._accept_thread = threading.Thread(target=self._accept_loop, name="demo-ils-accept", daemon=True)
        self._accept_thread.start()
        log.info("demo library listening on %s:%d%s", self.host, self.port, " (TLS)" if self._tls else "")
        return self

    def stop(self) -> None:
        """Stop accepting, close every connection, wait for the threads, close the database."""
        self._stopping.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in threads:
            t.join(timeout=5)
        self.db.close()

    def request_stop(self) -> None:
        """Ask :meth:`serve_forever` to stop (safe from a signal handler: it only sets a flag)."""
        self._stopping.set()

    def serve_forever(self) -> None:
        """For the CLI: run until interrupted."""
        if self._sock is None:
            self.start()
        try:
            while not self._stopping.wait(1.0):
                pass
        finally:
            self.stop()

    def __enter__(self) -> DemoIlsServer:
        return self.start() if self._sock is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ connections
    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            t = threading.Thread(target=self._serve_connection, args=(conn, addr), daemon=True,
                                 name=f"demo-ils-{addr[1]}")
            with self._lock:
                self._conns.add(conn)
                self._threads.add(t)
            t.start()

    def new_context(self) -> Context:
        """A fresh per-connection context (also used by tests to call :meth:`process` directly)."""
        return Context(db=self.db, library=Library(self.db, self.branch, self.checked_in_ok),
                       accounts=self.accounts, institution=self.institution, library_name=self.library_name)

    def _serve_connection(self, raw: socket.socket, addr: tuple) -> None:
        sock = raw
        try:
            raw.settimeout(self.client_timeout_s or None)
            if self._tls is not None:
                sock = self._tls.wrap_socket(raw, server_side=True)
                with self._lock:
                    self._conns.discard(raw)
                    self._conns.add(sock)
            ctx = self.new_context()
            buf = b""
            while not self._stopping.is_set():
                data = sock.recv(8192)
                if not data:
                    break
                buf += data
                while b"\r" in buf:
                    frame, buf = buf.split(b"\r", 1)
                    reply = self.process(ctx, frame.strip(b"\n"))
                    if reply:
                        self._send(sock, reply)
                if len(buf) > MAX_FRAME:
                    log.warning("frame of more than %d bytes without CR: discarded", MAX_FRAME)
                    buf = b""
                    self._send(sock, codec.encode(codec.RequestScResend(), error_detection=True))
        except (OSError, ssl.SSLError) as exc:
            if not self._stopping.is_set():
                log.debug("connection from %s ended: %s", addr[0], exc)
        finally:
            try:
                sock.close()
            except OSError:
                pass
            self.db.release()
            with self._lock:
                self._conns.discard(sock)
                self._conns.discard(raw)
                self._threads.discard(threading.current_thread())

    def _send(self, sock: socket.socket, reply: bytes) -> None:
        if self.latency_s:
            time.sleep(self.latency_s)
        sock.sendall(reply)

    # ------------------------------------------------------------------------------- one frame
    def process(self, ctx: Context, frame: bytes) -> bytes:
        """Answer one request frame (without its CR).  Returns the reply bytes ("" = no reply)."""
        frame = frame.strip(b"\r\n")
        if not frame:
            return b""
        if frame[:2] in (b"97", b"96"):     # resend the last reply, byte for byte (pysip2 and 3M do)
            return ctx.session.last_reply or self._encode(codec.RequestScResend(), None, True)
        trailer = _TRAILER.search(frame)
        error_detection = trailer is not None
        seq = int(trailer.group(1)) if trailer is not None and trailer.group(1) else None
        try:
            decoded = codec.decode_frame(frame, charset=self.charset)
        except codec.ChecksumError as exc:
            log.info("bad checksum, asking for a resend (96): %s", exc)
            return self._encode(codec.RequestScResend(), None, True)
        except codec.FrameError as exc:
            code = frame[:2].decode("ascii", "replace")
            log.warning("malformed frame %r: %s", scrub_sip_frame(frame.decode("utf-8", "replace")), exc)
            if code not in HANDLERS:
                return self._encode(codec.RequestScResend(), None, True)
            return self._remember(ctx, self._encode(refusal(ctx, code, None, f"Malformed request: {exc}"),
                                                    seq, error_detection))
        record = decoded.record
        code = record.code
        if log.isEnabledFor(logging.DEBUG):
            log.debug("request %s", scrub_sip_frame(frame.decode(self.charset, "replace")))
        handler = HANDLERS.get(code)
        if handler is None:
            log.warning("message %s is not a request: answered with 96", code)
            return self._encode(codec.RequestScResend(), None, True)
        if ctx.session.account is None and code not in ("93", "99"):
            reply = refusal(ctx, code, record, "Login required")
        else:
            try:
                if code in READ_ONLY:
                    with self.db.snapshot():
                        reply = handler(ctx, record)
                else:
                    reply = handler(ctx, record)
            except Exception:   # a bug here must not cost the kiosk its connection
                log.exception("error handling message %s", code)
                reply = refusal(ctx, code, record, SYSTEM_ERROR)
        return self._remember(ctx, self._encode(reply, decoded.seq, decoded.checksum is not None))

    def _encode(self, record: codec.Message, seq: int | None, error_detection: bool) -> bytes:
        return codec.encode(record, seq=seq, error_detection=error_detection, charset=self.charset)[:-1] \
            + self.terminator

    @staticmethod
    def _remember(ctx: Context, reply: bytes) -> bytes:
        ctx.session.last_reply = reply
        return reply
