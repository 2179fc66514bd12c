"""One open SIP2 connection as a carrier of frames: TCP or TLS, CR-terminated reads, draining.

What it knows is sockets, not SIP2 semantics: open a connection (TCP_NODELAY, optional TLS), send
a frame, read up to the next CR before a deadline (CR LF and a leading LF tolerated, sip2.md 0.1),
drop whatever arrived unasked, and tell a connection the server has closed while idle.  It logs
frames scrubbed of patron data and keeps the ``--raw`` trace with the login password masked.

Apart from kiosk/sip2/client.py, which decides *what* to send and *whether* to send it again
(sequence numbers, 96/97 resends, which requests are safe to repeat): this part only has to be
fast and never block past its deadline.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import struct
import sys
import time
from collections.abc import Callable

from kiosk.appliance.privacy import scrub_sip_frame
from kiosk.errors import OutcomeUnknown, ProtocolError

__all__ = ["MAX_FRAME", "FrameSocket", "GarbledReply", "ReplyTimeout"]

log = logging.getLogger("kiosk.sip2.client")   # one logger name for the SIP2 connection, as before

MAX_FRAME = 64 * 1024
_KERNEL_TIMEOUTS = sys.platform.startswith("linux") and hasattr(socket, "SO_RCVTIMEO")
_HAVE_POLL = hasattr(select, "poll")


class GarbledReply(OutcomeUnknown, ProtocolError):
    """A request was sent and only an unreadable reply came back: the outcome is unknown."""


class ReplyTimeout(OutcomeUnknown):
    """A request was sent and nothing came back within the timeout (the server is silent)."""


class FrameSocket:
    """An open connection carrying SIP2 frames.  Not thread-safe: the client serialises use."""

    def __init__(self, sock: socket.socket, *, tls: bool, charset: str,
                 trace: list[tuple[str, bytes]] | None) -> None:
        self.sock = sock
        self.tls = tls
        self.charset = charset
        self.trace = trace
        self.last_frame = b""
        self._poller: select.poll | None = None     # idle-socket check, registered once per connection
        if _HAVE_POLL:
            self._poller = select.poll()
            self._poller.register(sock, select.POLLIN)
        self._kernel_timeouts = _KERNEL_TIMEOUTS and not tls
        if self._kernel_timeouts:
            sock.settimeout(None)   # blocking; SO_RCVTIMEO/SO_SNDTIMEO bound every wait
        self._io_timeout = -1.0
        self._buf = bytearray()

    @classmethod
    def open(cls, host: str, port: int, *, timeout_s: float,
             ssl_context: Callable[[], ssl.SSLContext] | None, charset: str,
             trace: list[tuple[str, bytes]] | None) -> FrameSocket:
        """Connect, then wrap in TLS when ``ssl_context`` (a factory: the certificate files are read
        once the server is known to answer) is given.  Raises OSError / ssl.SSLError."""
        sock = socket.create_connection((host, port), timeout=timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_context is not None:
            try:
                sock = ssl_context().wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        return cls(sock, tls=ssl_context is not None, charset=charset, trace=trace)

    def close(self) -> None:
        self._poller = None
        self._buf.clear()
        with contextlib.suppress(OSError):
            self.sock.close()

    def send(self, wire: bytes, what: str, timeout_s: float, *, secret: bool = False) -> None:
        """Send one frame.  ``secret``: a login, whose password the trace masks."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("SIP2 send %s", scrub_sip_frame(wire.decode(self.charset, "replace").rstrip("\r")))
        if self.trace is not None:
            self.trace.append(("sent", _mask_login(wire) if secret else wire))
        try:
            if self._io_timeout != timeout_s:
                self._set_io_timeout(timeout_s)
            self.sock.sendall(wire)
        except (OSError, ssl.SSLError) as exc:
            # Part of the frame may have left: from here on the outcome is unknown.
            raise OutcomeUnknown(f"connection lost while sending {what}: {exc}") from exc

    def read_frame(self, what: str, deadline: float, timeout_s: float) -> bytes:
        """Read up to the next CR before ``deadline``; CR LF and a leading LF are tolerated."""
        buf = self._buf
        while True:
            if buf:
                while buf[:1] in (b"\n", b"\r"):
                    del buf[:1]
                i = buf.find(b"\r")
                if i >= 0:
                    frame = bytes(buf[: i + 1])
                    del buf[: i + 1]
                    return self._received(frame)
                if len(buf) > MAX_FRAME:
                    raise GarbledReply(f"reply to {what} exceeds {MAX_FRAME} bytes without a terminator")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReplyTimeout(f"no reply to {what} within {timeout_s:g} s")
            try:
                if remaining < self._io_timeout - 0.01:   # later waits within one reply
                    self._set_io_timeout(remaining)
                chunk = self.sock.recv(65536)
            except (TimeoutError, BlockingIOError) as exc:
                raise ReplyTimeout(f"no reply to {what} within {timeout_s:g} s") from exc
            except (OSError, ssl.SSLError) as exc:
                raise OutcomeUnknown(f"connection lost waiting for the reply to {what}: {exc}") from exc
            if not chunk:
                detail = " in the middle of a reply" if buf else ""
                raise OutcomeUnknown(f"library system closed the connection{detail} before answering {what}")
            if not buf and chunk[0] != 10 and chunk[0] != 13:
                # The usual case: exactly one reply in one chunk (CR, or Koha's CR LF whose LF the
                # buffer would drop before the next frame anyway): no copy through the buffer.
                i = chunk.find(b"\r")
                if i == len(chunk) - 1:
                    return self._received(chunk)
                if i == len(chunk) - 2 and chunk[-1] == 10:
                    return self._received(chunk[:-1])
            buf += chunk

    def _received(self, frame: bytes) -> bytes:
        self.last_frame = frame
        if log.isEnabledFor(logging.DEBUG):
            log.debug("SIP2 recv %s", scrub_sip_frame(frame.decode(self.charset, "replace").rstrip("\r")))
        if self.trace is not None:
            self.trace.append(("received", frame))
        return frame

    def fresh(self) -> bool:
        """Drop all unread input (buffered, or waiting in the socket) without blocking: a frame a
        server wrote twice, or a late reply, must never answer the next request (issue 13.2).
        False when the server has closed the connection while it was idle (nothing is sent then)."""
        self._buf.clear()
        sock = self.sock
        try:
            # One poll(2) on a descriptor registered at connect: select.select() rebuilds its fd
            # sets on every call and cost more than the rest of the request path around it.
            # TLS may hold decrypted bytes the descriptor no longer shows.
            if self.tls and isinstance(sock, ssl.SSLSocket) and sock.pending():
                pass
            elif self._poller is not None:
                if not self._poller.poll(0):
                    return True
            elif not select.select([sock], [], [], 0)[0]:
                return True
        except (OSError, ValueError):
            return False
        drained, noise = 0, False
        while drained <= 4 * MAX_FRAME:        # drain everything unread, never blocking
            try:
                if self._kernel_timeouts:
                    data = sock.recv(65536, socket.MSG_DONTWAIT)
                else:
                    self._io_timeout = 0.0
                    sock.settimeout(0.0)
                    data = sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                break
            except (OSError, ssl.SSLError):
                return False
            if not data:
                return False
            drained += len(data)
            noise = noise or bool(data.strip(b"\r\n"))
        if noise:   # a lone LF of Koha's CR LF is not worth a log line
            log.info("discarding %d unsolicited bytes from the library system", drained)
        self._buf.clear()
        return True

    def _set_io_timeout(self, seconds: float) -> None:
        """Bound the next socket waits.  Plain TCP uses kernel timeouts (SO_RCVTIMEO/SO_SNDTIMEO):
        Python's own timeout mode adds a poll() before every send and recv, which is most of the
        cost of a loopback round trip (bench/bench_sip2.py)."""
        if seconds == self._io_timeout:
            return
        seconds = max(seconds, 0.001)
        if self._kernel_timeouts:
            tv = struct.pack("ll", int(seconds), int((seconds % 1) * 1_000_000))
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
        else:
            self.sock.settimeout(seconds)
        self._io_timeout = seconds


def _mask_login(wire: bytes) -> bytes:
    """A login frame for --raw output with the password (CO) masked."""
    out = []
    for part in wire.split(b"|"):
        out.append(part[:2] + b"****" if part.startswith(b"CO") else part)
    return b"|".join(out)
