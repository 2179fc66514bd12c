"""Shelf check (inventory), the shell: tag reads and scanned barcodes in, exceptions out.

Staff work shelf by shelf (:meth:`ShelfCheck.set_shelf`): each item placed on the pad or scanned
is looked up in the library system, reported seen there where it supports that (SIP2 19), and
**always** recorded locally with the time and the shelf label before its result is shown -- so
``kiosk inventory report`` lists everything seen even when the library system was down.  An item
read twice on the same shelf (a stack left on the pad, both parts of a set) is reported once.

A tag whose data no data model decodes is read once more as raw memory: tags from an older
conversion that hold only the barcode in ASCII are still identified, and flagged for reprogramming.
Every method does I/O: call from a worker thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.errors import HardwareError, IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.hardware.records import TagRead
from kiosk.hardware.tag_reader import TagReader
from kiosk.station.inventory import Finding, ShelfRules, TagState, findings_for
from kiosk.station.library import SEEN_FAILED, SEEN_PENDING, StationLibrary
from kiosk.station.program import BARCODE_ONLY, ItemRecord, classify
from kiosk.station.store import StationStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShelfResult:
    """One item found on a shelf: what needs doing (``findings`` empty: nothing)."""

    item_id: str
    uid: str
    shelf: str
    title: str
    findings: tuple[Finding, ...]
    marked_seen: str
    record_id: int
    circulation_status: str = ""
    library_error: str = ""

    @property
    def needs_action(self) -> bool:
        return bool(self.findings)

    def to_json(self) -> dict:
        out = {"item_id": self.item_id, "uid": self.uid, "shelf": self.shelf, "title": self.title,
               "circulation_status": self.circulation_status,
               "exceptions": [f.to_json() for f in self.findings], "marked_seen": self.marked_seen}
        if self.library_error:
            out["library_error"] = self.library_error
        return out


@dataclass
class ShelfCheck:
    library: StationLibrary
    store: StationStore
    rules: ShelfRules = field(default_factory=ShelfRules)
    shelf: str = ""
    staff_session: str = ""
    reader: TagReader | None = None
    mark_seen: bool = True
    settle: Callable[[str], object] | None = None     # settles unverified programming rows of a UID
    count: int = 0
    exceptions: int = 0

    def __post_init__(self) -> None:
        self._done: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def set_shelf(self, label: str) -> None:
        """Start the next shelf: items already seen on another shelf are reported again here."""
        with self._lock:
            self.shelf = label.strip()

    # ------------------------------------------------------------------ inputs
    def tag_read(self, tag: TagRead) -> ShelfResult | None:
        """A tag on the pad; None when it was already reported on this shelf."""
        if self.settle is not None:
            try:
                self.settle(tag.uid)
            except HardwareError as exc:
                log.info("tag %s: pending programming record not settled yet: %s", tag.uid, exc)
        security = tag.security_on
        if security is None and self.reader is not None:    # drivers that do not report it with the read
            try:
                security = self.reader.read_security(tag.uid)
            except HardwareError:
                security = None
        state = TagState(uid=tag.uid, model=tag.model, owner_isil=tag.owner_isil, security_on=security,
                         error=tag.error or "", parts_in_item=tag.parts_in_item, part_number=tag.part_number)
        item_id = tag.item_id
        if not item_id and self.reader is not None:
            try:
                existing = classify(self.reader.read_blocks(tag.uid, 0, self.reader.blocks_to_read))
            except HardwareError:
                existing = None
            if existing is not None and existing.kind == BARCODE_ONLY:
                item_id = existing.item_id
                state = TagState(uid=tag.uid, security_on=security, barcode_only=True)
        return self._check(item_id or "", state, key=item_id or tag.uid)

    def barcode(self, item_id: str) -> ShelfResult | None:
        """A scanned barcode (an item without a tag, or staff working without the pad)."""
        item_id = item_id.strip()
        return self._check(item_id, None, key=item_id) if item_id else None

    # ------------------------------------------------------------------ the check
    def _check(self, item_id: str, tag: TagState | None, *, key: str) -> ShelfResult | None:
        with self._lock:
            shelf = self.shelf
            if (shelf, key) in self._done:
                return None
            self._done.add((shelf, key))
        item: ItemRecord | None = None
        error = ""
        marked = ""
        if item_id:
            try:
                item = self.library.lookup(item_id)
            except (IlsUnavailable, OutcomeUnknown, ProtocolError) as exc:
                error = f"library system: {exc}"
                marked = SEEN_FAILED
        findings = findings_for(item, tag, self.rules)
        report = item is not None and item.known and self.mark_seen
        # Recorded locally first (fsync), then reported to the library system: a crash or a
        # library system that hangs never loses the fact that the item was on this shelf.
        row = self.store.record_seen(shelf=shelf, item_id=item_id, uid=tag.uid if tag else "",
                                     title=item.title if item else "",
                                     circulation_status=item.circulation_status if item else "",
                                     findings=[f.to_json() for f in findings],
                                     marked_seen=SEEN_PENDING if report else marked,
                                     staff_session=self.staff_session)
        if report:
            marked = self.library.mark_seen(item_id, shelf, datetime.now())
            self.store.set_marked_seen(row, marked)
        with self._lock:
            self.count += 1
            self.exceptions += bool(findings)
        return ShelfResult(item_id=item_id, uid=tag.uid if tag else "", shelf=shelf,
                           title=item.title if item else "", findings=tuple(findings), marked_seen=marked,
                           record_id=row, circulation_status=item.circulation_status if item else "",
                           library_error=error)
