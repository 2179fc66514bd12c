"""The one door from worker threads into Kivy's main thread.

Drivers and the circulation service call us from their own threads; widgets may only be touched
on the main thread.  Kivy documents ``Clock.schedule_once`` as safe to call from any thread
(kivy/clock.py), so everything crosses here.  Session views are *coalesced*: a burst of 20 tag
reads produces 20 views, but the screens only render the newest one per frame (Electrum's
trigger habit, reference style.md §4).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock

from kiosk.ui import pacing


def on_ui(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``fn(*args, **kwargs)`` on Kivy's main thread at the next frame (thread-safe)."""
    Clock.schedule_once(lambda _dt: fn(*args, **kwargs), 0)


class LatestOnly:
    """Hand the newest value posted from any thread to ``sink`` on the main thread, once per frame.

    Views carry a ``version``; an older view arriving late (threads race) is dropped, so the
    screen never steps backwards.
    """

    def __init__(self, sink: Callable[[Any], None], min_interval: float = 0.0):
        self._sink = sink
        self._lock = threading.Lock()
        self._latest: Any = None
        self._last_version = -1
        self._min_interval = min_interval
        self._last_delivery = 0.0
        self._scheduled = False

    @property
    def waiting(self) -> bool:
        """A value is posted and not yet delivered (it will be, on the main thread)."""
        return self._latest is not None

    def post(self, value: Any) -> None:
        """Called from any thread."""
        import time

        with self._lock:
            version = getattr(value, "version", None)
            if version is not None and self._latest is not None:
                latest_v = getattr(self._latest, "version", -1)
                if version < latest_v:
                    return
            self._latest = value
            if self._scheduled:
                return
            self._scheduled = True
            # At most one delivery per min_interval: a burst of results (a stack finishing)
            # becomes a few renders instead of one per item (Electrum's trigger habit).
            wait = max(0.0, self._last_delivery + self._min_interval - time.monotonic())
        Clock.schedule_once(self._deliver, wait)

    def _deliver(self, _dt: float) -> None:
        import time

        if pacing.switching():               # a theme switch's stages fill these frames: the view after
            Clock.schedule_once(self._deliver, 0)
            return
        with self._lock:
            value, self._latest = self._latest, None
            self._scheduled = False
            self._last_delivery = time.monotonic()
        if value is None:
            return
        version = getattr(value, "version", None)
        if version is not None:
            if version < self._last_version:
                return
            self._last_version = version
        self._sink(value)


class IntentQueue:
    """Calls into the circulation service from one background thread, in order.

    The service promises that intents return at once; the UI does not bet its frame rate on it.
    Taps, the once-a-second tick and scanner input are queued here, so Kivy's main thread never
    waits on the service's lock (or on anything a future service might do inline).
    """

    def __init__(self, name: str = "ui-intents"):
        import queue

        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def put(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._q.put((fn, args, kwargs))

    def _loop(self) -> None:
        import logging

        log = logging.getLogger(__name__)
        while True:
            item = self._q.get()
            if item is None:
                return
            fn, args, kwargs = item
            try:
                fn(*args, **kwargs)
            except Exception:  # noqa: BLE001 - one bad intent must not stop the next ones
                log.exception("intent %s failed", getattr(fn, "__name__", fn))

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until everything queued so far has run (tests)."""
        done = threading.Event()
        self.put(done.set)
        done.wait(timeout)

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=5)
