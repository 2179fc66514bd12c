"""The staff-station desk: the state behind the touchscreen's station page (no Kivy here).

The screen forwards what happens -- a scanned barcode, a tag placed or lifted, "overwrite",
"cancel", a shelf label -- and renders the :class:`DeskView` snapshots it is handed through
``post``.  All reader, library-system and SQLite work runs in order on the desk's own worker
thread, so the UI never waits on it.

Batch flow of tag programming, hands on the items, not the screen::

    scan the barcode -> look-up shown -> place the item (part 1 of N) -> written, read back,
    verified -> "done" sound -> next part, or the next barcode

A tag placed before any scan is used when it already names the item: a barcode-only tag or a tag
in another data model is converted; a blank tag asks for the barcode.  Shelf check: every tag
placed (stacks are fine) and every barcode scanned is checked, and only the items that need
action are listed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kiosk.errors import HardwareError, IlsUnavailable, JournalError, OutcomeUnknown, ProtocolError
from kiosk.hardware.records import TagRead
from kiosk.station.inventory import CATALOGUE, CHECK_IN, REPROGRAM
from kiosk.station.program import BARCODE_ONLY, BLANK, LIBRARY, ItemRecord, PlanError, TagPlan, classify
from kiosk.station.shelf import ShelfResult

log = logging.getLogger(__name__)

PROGRAM, SHELF = "program", "shelf"
MAX_LISTED = 60


@dataclass(frozen=True)
class DeskView:
    """What the station page shows.  ``message`` is a code the page translates."""

    mode: str = PROGRAM
    step: str = "scan"            # scan | looking_up | place | writing | confirm (program); reading (shelf)
    item: ItemRecord | None = None
    part: int = 0
    parts: int = 0
    model: str = ""
    message: str = "scan_first"
    detail: str = ""
    ok: bool | None = None
    old_item_id: str = ""
    tags_done: int = 0
    items_done: int = 0
    rate: float = 0.0             # items programmed per minute (from the first one done)
    shelf: str = "1"
    seen: int = 0
    need_action: int = 0
    shelf_rate: float = 0.0       # items checked per minute (from the first one seen)
    exceptions: tuple[ShelfResult, ...] = ()
    busy: bool = False
    offer: str = ""               # shelf check: what the page offers for the item just read
    offer_item: str = ""          # ("check_in" / "reprogram" / ""), and which item


def next_label(label: str) -> str:
    """"A-12" -> "A-13", "3" -> "4", "Fiction" -> "Fiction 2": the next shelf in one tap."""
    head = label.rstrip("0123456789")
    digits = label[len(head):]
    if digits:
        return f"{head}{int(digits) + 1:0{len(digits)}d}"
    return f"{label} 2" if label else "1"


class StationDesk:
    """State machine and worker of the station page.  ``station_factory`` is called on the worker."""

    def __init__(self, station_factory: Callable[[], Any], post: Callable[[DeskView], None], *,
                 cue: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._factory = station_factory
        self._post = post
        self._cue = cue or (lambda _c: None)
        self._clock = clock
        self.station: Any = None
        self.view = DeskView()
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="station-desk", daemon=True)
        self._thread.start()
        self._present: dict[str, TagRead] = {}
        self._done_uids: set[str] = set()
        self._plans: list[TagPlan] = []
        self._first_done: float | None = None
        self._first_seen: float | None = None

    # ------------------------------------------------------------------ inputs (any thread)
    def open(self, mode: str = PROGRAM) -> None:
        self._put(self._open, mode)

    def set_mode(self, mode: str) -> None:
        self._put(self._set_mode, mode)

    def scanned(self, code: str) -> None:
        self._put(self._scanned, code.strip())

    def tag_present(self, tag: TagRead) -> None:
        self._put(self._tag_present, tag)

    def tag_removed(self, uid: str) -> None:
        self._put(self._tag_removed, uid)

    def confirm_overwrite(self) -> None:
        self._put(self._confirm)

    def cancel(self) -> None:
        self._put(self._cancel)

    def set_shelf(self, label: str) -> None:
        self._put(self._set_shelf, label.strip() or self.view.shelf)

    def next_shelf(self) -> None:
        self._put(lambda: self._set_shelf(next_label(self.view.shelf)))

    def act(self) -> None:
        """Staff took the offer for the item just read: check it in, or reprogram its tag."""
        self._put(self._act)

    def clear_list(self) -> None:
        self._put(lambda: self._show(exceptions=()))

    def drain(self, timeout: float = 10.0) -> None:
        done = threading.Event()
        self._put(done.set)
        done.wait(timeout)

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=5)
        if self.station is not None:
            try:
                self.station.close()
            except Exception:  # noqa: BLE001 - closing must not raise into staff-mode teardown
                log.exception("station close failed")

    # ------------------------------------------------------------------ worker
    def _put(self, fn: Callable[..., Any], *args: Any) -> None:
        self._q.put((fn, args))

    def _loop(self) -> None:
        while True:
            job = self._q.get()
            if job is None:
                return
            fn, args = job
            try:
                fn(*args)
            except (IlsUnavailable, OutcomeUnknown) as exc:
                self._fail("library_down", str(exc))
            except (ProtocolError, HardwareError, JournalError) as exc:
                self._fail("station_error", str(exc))
            except Exception as exc:  # noqa: BLE001 - one bad event must not stop the desk
                log.exception("station desk: %s failed", getattr(fn, "__name__", fn))
                self._fail("station_error", str(exc))

    def _fail(self, code: str, detail: str) -> None:
        self._cue("failure")
        step = "scan" if self.view.mode == PROGRAM and self.view.step in ("looking_up", "scan") else self.view.step
        if step == "writing":
            step = "place"
        self._show(message=code, detail=detail, ok=False, busy=False, step=step)

    def _show(self, **changes: Any) -> None:
        self.view = replace(self.view, **changes)
        self._post(self.view)

    def _ensure(self) -> Any:
        if self.station is None:
            self.station = self._factory()
            try:   # an interrupted write (crash, power cut) of a tag that is on the pad now
                self.station.programmer.settle_all_present()
            except HardwareError as exc:
                log.info("station: pending tag records not settled yet: %s", exc)
        return self.station

    def _open(self, mode: str) -> None:
        self._ensure()
        self._set_mode(mode)

    def _set_mode(self, mode: str) -> None:
        if mode == SHELF:
            self.station.shelf.set_shelf(self.view.shelf)
            self._show(mode=SHELF, step="reading", message="shelf_ready", detail="", ok=None)
            for tag in list(self._present.values()):     # a stack already on the pad counts
                self._shelf_tag(tag)
        else:
            self._plans = []
            self._show(mode=PROGRAM, step="scan", item=None, part=0, parts=0, message="scan_first", detail="",
                       ok=None, old_item_id="")

    # ------------------------------------------------------------------ events
    def _scanned(self, code: str) -> None:
        if not code:
            return
        self._ensure()
        if self.view.mode == SHELF:
            self._shelf_result(self.station.shelf.barcode(code))
            return
        self._start_item(code)

    def _tag_present(self, tag: TagRead) -> None:
        self._present[tag.uid] = tag
        if self.station is None:
            return
        if self.view.mode == SHELF:
            self._shelf_tag(tag)
        elif self.view.step == "place":
            self._try_program()
        elif self.view.step == "scan":
            if len(self._present) > 1:       # a stack: which one to program would be a guess
                self._show(message="two_tags", detail="", ok=False)
            else:
                self._tag_before_scan(tag)

    # What the page said about the tag(s) on the pad before a scan: it no longer holds once they go.
    _PAD_MESSAGES = ("already_programmed", "tag_unreadable", "two_tags", "scan_first")

    def _tag_removed(self, uid: str) -> None:
        self._present.pop(uid, None)
        if self.view.mode == PROGRAM and self.view.step == "confirm" and not self._present:
            self._show(step="place", message="place_part", detail="", old_item_id="", ok=None)
        elif self.view.mode == PROGRAM and self.view.step == "place":
            self._try_program()
        elif self.view.mode == PROGRAM and self.view.step == "scan" and self.view.message in self._PAD_MESSAGES:
            if len(self._present) == 1:      # one left of a stack: say what it is
                self._tag_before_scan(next(iter(self._present.values())))
            elif not self._present:
                self._show(message="scan_first", detail="", ok=None)

    def _confirm(self) -> None:
        if self.view.step == "confirm":
            self._try_program(overwrite=True)

    def _cancel(self) -> None:
        if self.view.mode == PROGRAM:
            self._set_mode(PROGRAM)

    def _set_shelf(self, label: str) -> None:
        self._ensure()
        self.station.shelf.set_shelf(label)
        self._show(shelf=label, message="shelf_ready", detail="")

    # ------------------------------------------------------------------ programming
    def _start_item(self, item_id: str) -> None:
        self._show(step="looking_up", message="looking_up", detail=item_id, ok=None, busy=True, item=None)
        item = self.station.programmer.lookup(item_id)
        if not item.known:
            self._cue("failure")
            self._show(step="scan", message="unknown_item", detail=item_id, ok=False, busy=False)
            return
        try:
            self._plans = self.station.programmer.plans(item)
        except PlanError as exc:
            self._cue("failure")
            self._show(step="scan", message="plan_error", detail=str(exc), ok=False, busy=False, item=item)
            return
        self._done_uids = set()
        first = self._plans[0]
        self._show(step="place", item=item, part=1, parts=first.parts, model=first.model, message="place_part",
                   detail="", ok=None, busy=False, old_item_id="")
        self._try_program()

    def _tag_before_scan(self, tag: TagRead) -> None:
        reader = self.station.reader
        existing = classify(reader.read_blocks(tag.uid, 0, reader.blocks_to_read))
        if existing.kind == BLANK:
            self._show(message="scan_first", detail="", ok=None)
        elif existing.kind == BARCODE_ONLY or (existing.kind == LIBRARY and existing.tag is not None
                                               and existing.tag.model != self.station.programmer.settings.model):
            self._start_item(existing.item_id or "")          # conversion: the tag names the item
        elif existing.kind == LIBRARY:
            self._show(message="already_programmed", detail=existing.item_id or "", ok=None)
        else:
            self._show(message="tag_unreadable", detail=existing.error, ok=None)

    def _try_program(self, overwrite: bool = False) -> None:
        if not self._plans:
            return
        fresh = [u for u in self._present if u not in self._done_uids]
        if not fresh:
            return
        if len(self._present) > 1:
            self._show(message="two_tags", detail="", ok=False)
            return
        plan = self._plans[0]
        self._show(step="writing", message="writing", busy=True, ok=None)
        result = self.station.programmer.program(plan, overwrite=overwrite)
        if result.needs_confirmation:
            self._cue("attention")
            self._show(step="confirm", message=result.code, busy=False, ok=None,
                       old_item_id=result.existing.item_id if result.existing else "",
                       detail=result.detail)
            return
        if not result.ok:
            self._cue("failure")
            self._show(step="place", message=result.code, detail=result.detail or "; ".join(result.problems),
                       busy=False, ok=False)
            return
        self._cue("success")
        now = self._clock()
        if self._first_done is None:
            self._first_done = now
        self._done_uids.add(result.uid)
        self._plans.pop(0)
        tags = self.view.tags_done + 1
        if self._plans:
            self._show(step="place", part=self._plans[0].part_number, message="done_next_part",
                       detail=result.uid, ok=True, busy=False, tags_done=tags)
            return
        items = self.view.items_done + 1
        minutes = max(now - self._first_done, 1.0) / 60.0
        self._show(step="scan", message="done", detail=result.uid, ok=True, busy=False, tags_done=tags,
                   items_done=items, rate=(items - 1) / minutes if items > 1 else 0.0)

    # ------------------------------------------------------------------ shelf check
    def _shelf_tag(self, tag: TagRead) -> None:
        self._shelf_result(self.station.shelf.tag_read(tag))

    def _shelf_result(self, result: ShelfResult | None) -> None:
        if result is None:
            return
        now = self._clock()
        if self._first_seen is None:
            self._first_seen = now
        shelf = self.station.shelf
        minutes = max(now - self._first_seen, 1.0) / 60.0
        listed = self.view.exceptions
        if result.needs_action:
            listed = (result, *listed)[:MAX_LISTED]
            self._cue("attention")
        offer = ""
        actions = {f.action for f in result.findings}
        if result.item_id and CHECK_IN in actions:
            offer = CHECK_IN
        elif result.item_id and REPROGRAM in actions and CATALOGUE not in actions:
            # (an item the library system does not know is catalogued first: programming would
            # only answer "unknown barcode")
            offer = REPROGRAM
        self._show(seen=shelf.count, need_action=shelf.exceptions, exceptions=listed,
                   offer=offer, offer_item=result.item_id if offer else "",
                   shelf_rate=(shelf.count - 1) / minutes if shelf.count > 1 else 0.0,
                   message="needs_action" if result.needs_action else "shelf_ok",
                   detail=result.item_id, ok=not result.needs_action)

    def _act(self) -> None:
        offer, item_id = self.view.offer, self.view.offer_item
        if not offer or not item_id:
            return
        self._show(offer="", offer_item="")
        if offer == REPROGRAM:            # to the programming page with this item, tag on the pad
            self._set_mode(PROGRAM)
            self._start_item(item_id)
            return
        ok, text = self.station.shelf.library.check_in(item_id)
        self._cue("success" if ok else "failure")
        if ok:   # resolved: off the list (the local record keeps what was found)
            listed = tuple(r for r in self.view.exceptions if r.item_id != item_id)
            self._show(exceptions=listed, message="checked_in", detail=" ".join(x for x in (item_id, text) if x),
                       ok=True)
        else:
            self._show(message="checkin_refused", detail=" ".join(x for x in (item_id, text) if x), ok=False)
