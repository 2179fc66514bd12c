"""The account lookups: Item Information for each loan and ready hold, a few at a time.

SIP2's Patron Information lists only barcodes (see :mod:`kiosk.circulation.account`), so the
account screen asks the library system about each item.  Apart from the service because the rules
are their own: at most ``parallel`` lookups at once (one connection stays free for the renewal the
patron may tap meanwhile); each answer is delivered as it arrives (the screen fills in live); the
first "unreachable" stops the asking, and the items not asked are delivered as "no details" so the
screen stops showing them as pending; a patron who left stops it too.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from kiosk.appliance.privacy import mask
from kiosk.errors import IlsUnavailable, OutcomeUnknown
from kiosk.ils.base import ItemInfo

log = logging.getLogger(__name__)


def look_up_items(item_ids: tuple[str, ...], *, parallel: int, submit: Callable[[Callable[[], None]], Any],
                  ask: Callable[[str], ItemInfo], wanted: Callable[[], bool],
                  deliver: Callable[[str, ItemInfo | None], None]) -> None:
    """Start up to ``parallel`` workers through ``submit``; each takes the next id, checks the
    patron is still ``wanted()``, asks ``ask(item_id)`` and calls ``deliver(item_id, info)``
    (``info`` None when the lookup failed)."""
    todo = deque(item_ids)
    guard = threading.Lock()
    gone = threading.Event()     # the library system is unreachable: stop asking

    def next_id() -> str | None:
        with guard:
            return todo.popleft() if todo and not gone.is_set() else None

    def worker() -> None:
        while (item_id := next_id()) is not None:
            if not wanted():
                return               # the patron has gone: nothing to fill in
            info = None
            try:
                info = ask(item_id)
            except (IlsUnavailable, OutcomeUnknown) as exc:
                log.info("item %s: no details (%s); stopping account lookups", mask(item_id), exc)
                gone.set()
            except Exception as exc:   # noqa: BLE001 - a failed lookup keeps the barcode shown
                log.info("item %s: no details (%s)", mask(item_id), exc)
            deliver(item_id, info)
        if gone.is_set():              # the rest stay as they are (barcode), but not "pending"
            with guard:
                rest = list(todo)
                todo.clear()
            for item_id in rest:
                deliver(item_id, None)

    for _ in range(min(len(todo), parallel)):
        submit(worker)
