"""The stoppable polling thread every polling driver runs on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PollingThread(threading.Thread):
    """A stoppable daemon thread that calls ``poll()`` every ``interval`` seconds.

    It sleeps on an ``Event`` between polls (so idle CPU stays near zero and ``stop()`` returns
    at once), and it survives exceptions in ``poll()``: the error is logged once per streak and
    retried after ``error_backoff`` seconds, so an unplugged reader does not crash the kiosk.
    """

    def __init__(self, name: str, poll: Callable[[], None], interval: float,
                 error_backoff: float = 2.0) -> None:
        super().__init__(name=name, daemon=True)
        self._poll = poll
        self.interval = interval
        self.error_backoff = error_backoff
        self.stopping = threading.Event()
        self.failing: str | None = None

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._poll()
                if self.failing:
                    log.info("%s: recovered", self.name)
                self.failing = None
                wait = self.interval
            except Exception as exc:
                if self.failing is None:
                    log.warning("%s: %s", self.name, exc)
                self.failing = str(exc) or type(exc).__name__
                wait = self.error_backoff
            self.stopping.wait(wait)

    def stop(self, timeout: float = 2.0) -> None:
        self.stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
