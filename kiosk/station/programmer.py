"""Tag programming, the shell: the pad reader, the library system and the durable record together.

One call programs one tag (:meth:`TagProgrammer.program`); a set of N parts is N calls, one tag
on the pad each time.  The order is what makes "done" trustworthy:

1. exactly one tag on the pad (none or two: refused -- we would not know which tag we wrote);
2. an ``unverified`` row left for this UID by an interrupted write is settled first;
3. the tag's memory is read and classified: data of *another* item is only overwritten after
   staff confirmed it (``overwrite=True``), and the row then keeps the old bytes and item id;
4. locked blocks (ISO 15693 block security status) refuse the tag as read-only;
5. the row is written ``unverified`` with the exact bytes (fsync) **before** the write;
6. write, DSFID, security on (on the shelf: the gate alarms), read back, :func:`verify` --
   retried ``retries`` times -- and only then is the row settled ``verified`` and "done" said.

Every method does reader and library-system I/O: call them from a worker thread, never from
Kivy's main thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.errors import HardwareError
from kiosk.hardware.tag_reader import TagReader
from kiosk.station.library import StationLibrary
from kiosk.station.program import (
    LIBRARY,
    Existing,
    ItemRecord,
    PlanError,
    TagPlan,
    TagSettings,
    classify,
    fit_to,
    plan_tags,
    verify,
)
from kiosk.station.store import FAILED, VERIFIED, StationStore

log = logging.getLogger(__name__)

# Result codes; the English text is for logs and the CLI, the staff screens translate by code.
TEXTS = {
    "done": "Done: tag written, read back and verified; security set for the item's status",
    "no_tag": "No tag on the pad: place the item with its tag on the pad",
    "two_tags": "More than one tag on the pad: leave only the item to program",
    "tag_gone": "The tag left the pad: place it again",
    "locked": "The tag is locked (read-only): use a new tag",
    "other_item": "The tag holds another item's data: confirm to overwrite it",
    "other_part": "The tag already holds another part of this item: confirm to overwrite it",
    "unknown_item": "The library system does not know this barcode",
    "too_small": "The tag's memory is too small for this data model: use a larger tag",
    "plan_error": "This item cannot be written in the configured tag data model",
    "write_failed": "Writing the tag failed after several tries: move the item and try again, or use a new tag",
    "verify_failed": "The tag did not read back as written after several tries: use a new tag",
}


@dataclass(frozen=True)
class ProgramResult:
    """The outcome of programming one tag, with everything the screens and the CLI show."""

    ok: bool
    code: str
    plan: TagPlan | None = None
    uid: str = ""
    record_id: int = 0
    existing: Existing | None = None
    attempts: int = 0
    problems: tuple[str, ...] = ()
    detail: str = ""
    written: bytes = b""              # exactly what was written: the plan's bytes, zeros over old data

    @property
    def text(self) -> str:
        return TEXTS.get(self.code, self.code)

    @property
    def needs_confirmation(self) -> bool:
        return self.code in ("other_item", "other_part")

    def to_json(self) -> dict:
        out: dict = {"result": "verified" if self.ok else "refused" if self.record_id == 0 else "failed",
                     "code": self.code, "message": self.text, "uid": self.uid}
        if self.plan:
            out.update(item_id=self.plan.item_id, model=self.plan.model, part_number=self.plan.part_number,
                       parts=self.plan.parts, bytes_hex=(self.written or self.plan.data).hex().upper())
        if self.existing and self.existing.item_id:
            out["old_item_id"] = self.existing.item_id
        if self.problems:
            out["problems"] = list(self.problems)
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class Settled:
    record_id: int
    uid: str
    result: str


@dataclass
class TagProgrammer:
    """Programs tags on ``reader`` for items the library system knows, recording each in ``store``."""

    reader: TagReader
    library: StationLibrary
    store: StationStore
    settings: TagSettings = field(default_factory=TagSettings)
    staff_session: str = ""
    retries: int = 3
    lock_after_write: bool = False
    on_settled: Callable[[Settled], None] | None = None

    # ------------------------------------------------------------------ look-up and plans
    def lookup(self, item_id: str) -> ItemRecord:
        """The item from the library system (raises IlsUnavailable / OutcomeUnknown / ProtocolError)."""
        return self.library.lookup(item_id.strip())

    def plans(self, item: ItemRecord, parts: int | None = None, model: str | None = None) -> list[TagPlan]:
        return plan_tags(item, self.settings, parts=parts, model=model)

    # ------------------------------------------------------------------ crash recovery
    def settle_pending(self, uid: str, memory: bytes | None = None) -> list[Settled]:
        """Settle ``unverified`` rows of ``uid`` (a write interrupted by a crash) against the tag."""
        out = []
        for rec in self.store.unverified_for(uid):
            if memory is None:
                memory = self.reader.read_blocks(uid, 0, self.reader.blocks_to_read)
            want = bytes.fromhex(rec.data_hex)
            result = VERIFIED if memory[:len(want)] == want else FAILED
            try:
                secured = self.reader.read_security(uid)
            except HardwareError:
                secured = None
            if result == VERIFIED and secured is not True:
                result = FAILED
            detail = ("settled after an interrupted write: the tag holds the recorded bytes"
                      if result == VERIFIED else
                      "settled after an interrupted write: the tag does not hold the recorded bytes "
                      "(or its security is off)")
            self.store.settle_tag(rec.id, result, detail)
            log.warning("tag %s: interrupted write of item %s settled as %s", uid, rec.item_id, result)
            settled = Settled(rec.id, uid, result)
            out.append(settled)
            if self.on_settled:
                self.on_settled(settled)
        return out

    def settle_all_present(self) -> list[Settled]:
        """Settle every ``unverified`` row whose tag is on the pad now (called at start-up)."""
        pending = {rec.uid for rec in self.store.unverified()}
        out: list[Settled] = []
        for uid in self.reader.inventory():
            if uid in pending:
                out += self.settle_pending(uid)
        return out

    # ------------------------------------------------------------------ programming
    def program(self, plan: TagPlan, *, overwrite: bool = False, uid: str | None = None) -> ProgramResult:
        """Program the one tag on the pad with ``plan``.  Never raises for tag problems."""
        try:
            uids = self.reader.inventory()
        except HardwareError as exc:
            return ProgramResult(False, "write_failed", plan, detail=f"the reader did not answer: {exc}")
        if uid is not None and uids and uid not in uids:
            return ProgramResult(False, "tag_gone", plan, uid=uid)
        if not uids:
            return ProgramResult(False, "no_tag", plan)
        if len(uids) > 1:
            return ProgramResult(False, "two_tags", plan, detail=f"{len(uids)} tags on the pad")
        uid = uids[0]
        try:
            memory = self.reader.read_blocks(uid, 0, self.reader.blocks_to_read)
        except HardwareError as exc:
            return ProgramResult(False, "tag_gone", plan, uid=uid, detail=str(exc))
        self.settle_pending(uid, memory)
        existing = classify(memory)
        if existing.holds_other_item(plan.item_id) and not overwrite:
            log.info("tag %s holds item %s, not %s: asking staff before overwriting", uid, existing.item_id,
                     plan.item_id)
            return ProgramResult(False, "other_item", plan, uid=uid, existing=existing)
        if (existing.kind == LIBRARY and existing.item_id == plan.item_id and existing.tag is not None
                and existing.tag.part_number != plan.part_number and not overwrite):
            return ProgramResult(False, "other_part", plan, uid=uid, existing=existing,
                                 detail=f"part {existing.tag.part_number} of {existing.tag.parts_in_item}")
        try:
            capacity = self.reader.memory_size(uid)
        except HardwareError as exc:
            return ProgramResult(False, "tag_gone", plan, uid=uid, detail=str(exc))
        if capacity is not None:
            fitted = fit_to(plan, capacity)
            if fitted is None:
                return ProgramResult(False, "too_small", plan, uid=uid, existing=existing,
                                     detail=f"{capacity} bytes; the data needs {len(plan.data)}")
            plan = fitted
            memory = memory[:capacity]
        data = self._data_to_write(plan, memory)
        nblocks = (len(data) + 3) // 4
        try:
            locks = self.reader.locked_blocks(uid, 0, nblocks)
        except HardwareError as exc:
            return ProgramResult(False, "tag_gone", plan, uid=uid, detail=str(exc))
        if locks and any(locks):
            return ProgramResult(False, "locked", plan, uid=uid, existing=existing,
                                 detail=f"{sum(locks)} of {len(locks)} blocks locked")
        row = self.store.begin_tag(uid=uid, item_id=plan.item_id, model=plan.model, part_number=plan.part_number,
                                   parts=plan.parts, owner_isil=plan.owner_isil, data=data,
                                   staff_session=self.staff_session,
                                   old_item_id=existing.item_id or "" if existing.kind != "blank" else "",
                                   old_data=memory if existing.kind != "blank" else b"",
                                   detail="overwrite confirmed by staff" if existing.holds_other_item(plan.item_id)
                                   else "")
        if existing.holds_other_item(plan.item_id):
            log.warning("tag %s: overwriting item %s with item %s (confirmed by staff; old bytes kept in "
                        "record %d)", uid, existing.item_id, plan.item_id, row)
        return self._write_and_verify(plan, uid, data, row, existing)

    @staticmethod
    def _data_to_write(plan: TagPlan, memory: bytes) -> bytes:
        """The plan's bytes, plus zeros over whatever old data lay beyond them (no stale tail)."""
        used = len(memory.rstrip(b"\x00"))
        length = max(len(plan.data), used)
        length += -length % 4
        return plan.data.ljust(length, b"\x00")

    def _write_and_verify(self, plan: TagPlan, uid: str, data: bytes, row: int, existing: Existing) -> ProgramResult:
        problems: tuple[str, ...] = ()
        last_error = ""
        code = "write_failed"
        attempts = 0
        for attempt in range(1, max(1, self.retries) + 1):
            attempts = attempt
            try:
                self.reader.write_blocks(uid, 0, data)
                if plan.dsfid is not None:
                    self.reader.write_dsfid(uid, plan.dsfid)
                self.reader.set_security(uid, plan.security_on)
                back = self.reader.read_blocks(uid, 0, max(self.reader.blocks_to_read, (len(data) + 3) // 4))
                secured = self.reader.read_security(uid)
            except HardwareError as exc:
                last_error = str(exc)
                code = "locked" if _is_locked_error(exc) else "write_failed"
                log.info("tag %s: attempt %d failed: %s", uid, attempt, exc)
                if code == "locked":
                    break
                continue
            check = verify(plan, back, secured)
            if check.ok:
                if self.lock_after_write:
                    try:
                        self.reader.lock_blocks(uid, 0, (len(plan.data) + 3) // 4)
                    except HardwareError as exc:
                        log.warning("tag %s: verified but could not be locked: %s", uid, exc)
                self.store.settle_tag(row, VERIFIED, f"verified after {attempt} attempt(s)")
                return ProgramResult(True, "done", plan, uid=uid, record_id=row, existing=existing,
                                     attempts=attempt, written=data)
            problems, code = check.problems, "verify_failed"
            log.info("tag %s: attempt %d did not verify: %s", uid, attempt, "; ".join(check.problems))
        detail = "; ".join(problems) if problems else last_error
        self.store.settle_tag(row, FAILED, detail)
        return ProgramResult(False, code, plan, uid=uid, record_id=row, existing=existing, attempts=attempts,
                             problems=problems, detail=last_error, written=data)


def _is_locked_error(exc: HardwareError) -> bool:
    from kiosk.hardware import feig_protocol as fp

    if isinstance(exc, fp.ReaderStatusError):
        return exc.status == 0x95 and exc.detail[:1] == bytes([fp.ISO_ERROR_BLOCK_LOCKED])
    return "locked" in str(exc).lower()


__all__ = ["PlanError", "ProgramResult", "Settled", "TagProgrammer", "TEXTS"]
