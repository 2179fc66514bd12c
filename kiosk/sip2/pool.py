"""A small pool of logged-in SIP2 connections, kept alive while idle.

Apart from kiosk/sip2/client.py (one connection's request/reply rules) because this is about how
many connections and when: a stack of items is worked in parallel, and Koha drops clients that stay
silent longer than its client_timeout (sip2.md 2), so idle ones are sent an SC status (99).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

from kiosk.errors import IlsUnavailable
from kiosk.sip2.client import Sip2Client
from kiosk.sip2.codec import Message, ScStatusRequest

__all__ = ["Sip2Pool"]

log = logging.getLogger(__name__)


class Sip2Pool:
    """A small pool of logged-in connections so a stack of items is worked in parallel.

    Connections are created lazily up to ``size``.  When ``keepalive_s`` > 0 a daemon thread sends
    an SC status (99) on connections idle that long (Koha's client_timeout drops silent clients,
    sip2.md 2).
    """

    def __init__(self, factory: Callable[[], Sip2Client], size: int = 4, keepalive_s: float = 0,
                 acquire_timeout_s: float = 120.0) -> None:
        self._factory = factory
        self.size = max(1, int(size))
        self.keepalive_s = float(keepalive_s)
        self.acquire_timeout_s = acquire_timeout_s
        self._idle: list[Sip2Client] = []
        self._all: list[Sip2Client] = []
        self._cond = threading.Condition()
        self._closed = False
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None
        if self.keepalive_s > 0:
            self._keeper = threading.Thread(target=self._keepalive_loop, name="sip2-keepalive", daemon=True)
            self._keeper.start()

    def _acquire(self) -> Sip2Client:
        deadline = time.monotonic() + self.acquire_timeout_s
        with self._cond:
            while True:
                if self._closed:
                    raise IlsUnavailable("the SIP2 connection pool is closed")
                if self._idle:
                    return self._idle.pop()
                if len(self._all) < self.size:
                    client = self._factory()
                    self._all.append(client)
                    return client
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise IlsUnavailable("all SIP2 connections stayed busy")
                self._cond.wait(remaining)

    def _release(self, client: Sip2Client) -> None:
        with self._cond:
            if self._closed:
                client.close()
                return
            self._idle.append(client)
            self._cond.notify()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Sip2Client]:
        client = self._acquire()
        try:
            yield client
        finally:
            self._release(client)

    def request(self, record: Message, *, safe: bool | None = None) -> Message:
        with self.connection() as client:
            return client.request(record, safe=safe)

    def _keepalive_loop(self) -> None:
        interval = max(0.05, min(self.keepalive_s / 4, 30.0))
        while not self._stop.wait(interval):
            with self._cond:
                due = [c for c in self._idle if c.connected and c.idle_for() >= self.keepalive_s]
                for c in due:
                    self._idle.remove(c)
            for c in due:
                try:
                    c.request(ScStatusRequest(), safe=True)
                except Exception as exc:      # noqa: BLE001 - a failed keep-alive only closes the link
                    log.info("keep-alive failed (%s); the connection will be reopened when needed", exc)
                    c.close()
                self._release(c)

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._closed = True
            clients, self._all, self._idle = list(self._all), [], []
            self._cond.notify_all()
        for c in clients:
            c.close()
        if self._keeper is not None and self._keeper is not threading.current_thread():
            self._keeper.join(timeout=2)

    def __enter__(self) -> Sip2Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
