"""The notifier thread: every new session view goes to the listener, newest only, in order.

Apart from the service because it is the one rule the screens depend on (UI = f(view)): the
listener is called from this thread, never from the caller's (Kivy's main thread must never wait
on the engine, nor be re-entered by it); a burst of changes is coalesced into the newest view; views
are delivered in increasing ``version`` order, never an older one after a newer; a listener that
raises is logged and the thread goes on.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from kiosk.circulation.view import SessionView

log = logging.getLogger(__name__)


class ViewNotifier:
    """Calls ``listener()(snapshot())`` on its own thread after each :meth:`notify`.

    ``listener`` is a getter so the owner may replace its listener at any time."""

    def __init__(self, snapshot: Callable[[], SessionView],
                 listener: Callable[[], Callable[[SessionView], None] | None], name: str = "circ-notify") -> None:
        self._snapshot = snapshot
        self._listener = listener
        self._q: queue.Queue = queue.Queue()
        self._delivered = -1
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Something changed: deliver the newest view soon (returns at once)."""
        self._q.put(1)

    def join(self) -> None:
        """Wait until every notification so far was delivered (tests, CLI)."""
        self._q.join()

    def close(self, timeout: float = 5) -> None:
        """Deliver what is pending, then stop the thread."""
        self._q.put(None)
        self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        while True:
            item = self._q.get()
            stop = item is None
            drained = 1
            while True:   # coalesce: only the newest view matters
                try:
                    more = self._q.get_nowait()
                except queue.Empty:
                    break
                drained += 1
                stop = stop or more is None
            try:
                view = self._snapshot()
                listener = self._listener()
                if listener is not None and view.version > self._delivered:
                    self._delivered = view.version
                    listener(view)
            except Exception:
                log.exception("session listener failed")
            finally:
                for _ in range(drained):
                    self._q.task_done()
            if stop:
                return
