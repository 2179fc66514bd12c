"""A TCP proxy with switchable faults, for the no-loss tests (tests/test_crash_harness.py, the
kill -9 harness, tests/service_rig.py, tests/test_circulation_cli.py).

:class:`FaultProxy` sits between the kiosk and the real demo library system and can be *down*
(connections accepted and closed at once), *drop* the reply to given message codes after the
library system acted on the request (the ambiguous case), or *delay* replies.  It carries bytes,
so it stands in front of SIP2 and FOLIO's HTTP API alike.  Its own test is in
tests/test_crash_harness.py.
"""

from __future__ import annotations

import socket
import threading
import time


class FaultProxy:
    """A TCP proxy on 127.0.0.1:0 in front of the library system, with switchable faults."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.down = False
        self.delay_s = 0.0
        self.down_delay_s = 0.0                # while down: how long a new connection hangs before closing
        self.drop_codes: dict[str, int] = {}   # reply code -> how many replies still to swallow
        self.hold_codes: dict[str, list[float]] = {}   # reply code -> delays for the next replies
        self.dropped = 0
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def set_down(self, down: bool) -> None:
        self.down = down
        if down:
            self.cut_all()

    def drop_next(self, code: str, count: int = 1) -> None:
        with self._lock:
            self.drop_codes[code] = self.drop_codes.get(code, 0) + count

    def cut_all(self) -> None:
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            self._close(s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
        self.cut_all()

    def _close(self, s: socket.socket) -> None:
        with self._lock:
            self._socks.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.down:
                # a dead link is not instant: the connection hangs a moment, then fails
                threading.Timer(self.down_delay_s, client.close).start()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._socks.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, replies: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data or self.down:
                    break
                if replies:
                    if self.delay_s:
                        time.sleep(self.delay_s)
                    code = data.lstrip(b"\r\n")[:2].decode("ascii", "replace")
                    with self._lock:
                        held = self.hold_codes.get(code) or []
                        hold = held.pop(0) if held else 0.0
                    if hold:
                        time.sleep(hold)      # a reply later than the kiosk's timeout
                    with self._lock:
                        drop = self.drop_codes.get(code, 0) > 0
                        if drop:
                            self.drop_codes[code] -= 1
                            self.dropped += 1
                    if drop:   # the library acted on it; the kiosk never hears back
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close(src)
            self._close(dst)
