"""Simulated twins of every device, for the demo, the tests and ``[hardware] simulate = true``.

They implement the same contract as the real drivers (:mod:`kiosk.hardware.base`) and -- like
them -- deliver events from their own thread, never from the caller's: a test that taps a card
exercises the same thread hand-off as a real MFRC522.  Each twin adds verbs for a person at the
demo panel or a test (the gpiozero ``MockPin.drive_high()`` habit):

``SimCardReader.tap(card)``, ``SimTagReader.place(...)`` / ``remove(uid)`` / ``clear()``,
``SimScanner.scan(code)``, ``SimPrinter.output`` / ``receipts`` / ``paper``,
``SimSlotSensor.block()`` / ``clear()``, ``SimDoorLock.states``, ``SimIndicators.history``.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable

from kiosk.errors import HardwareError
from kiosk.hardware.base import BarcodeScanner, CardReader, DoorLock, Indicators, ReceiptPrinter, SlotSensor
from kiosk.hardware.records import DeviceInfo, PrinterStatus, Receipt, TagRead
from kiosk.hardware.tag_reader import TagReader

log = logging.getLogger(__name__)

AFI_ON_SHELF, AFI_ON_LOAN = 0x07, 0xC2   # rfid-tags.md 4.3 (lainuri: C2 on loan, 07 on shelf)
SIM_TAG_BLOCKS = 28                       # an ICODE SLIX: 28 blocks of 4 bytes


class EventPump:
    """One daemon thread that runs posted calls in order (the sim's "driver thread").

    It blocks on a queue (no polling), so an idle pump costs no CPU.
    """

    def __init__(self, name: str) -> None:
        self._queue: queue.Queue[tuple[Callable[..., object], tuple] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def post(self, fn: Callable[..., object], *args: object) -> None:
        self._queue.put((fn, args))

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            fn, args = job
            try:
                fn(*args)
            except Exception:
                log.exception("simulated device event failed")

    def stop(self) -> None:
        self._queue.put(None)
        if self._started and threading.current_thread() is not self._thread:
            self._thread.join(2)

    def drain(self, timeout: float = 2.0) -> None:
        """Wait until every posted event has run (for tests)."""
        done = threading.Event()
        self.post(done.set)
        done.wait(timeout)


class _Pumped:
    """Mixin: a twin whose events go through an :class:`EventPump`."""

    _pump: EventPump

    def _init_pump(self, name: str) -> None:
        self._pump = EventPump(name)

    def _start(self) -> None:
        self._pump.start()

    def _close(self) -> None:
        self._pump.stop()

    def wait_idle(self, timeout: float = 2.0) -> None:
        """Block until every event posted so far has been delivered (tests, demo scripts)."""
        if self._pump._started:
            self._pump.drain(timeout)


class SimCardReader(_Pumped, CardReader):
    driver = "sim"

    def __init__(self, card_format: str = "hex", prefix: str = "") -> None:
        CardReader.__init__(self, card_format, prefix)
        self._init_pump("sim-card-reader")

    def tap(self, card: str | bytes) -> None:
        """A patron taps a card.  ``str``: the card number as the library knows it;
        ``bytes``: a raw UID, formatted like the real reader does (card_format, prefix)."""
        if isinstance(card, bytes):
            def present(uid: bytes = card) -> None:
                self._card_seen(uid)
                self._card_gone()
            self._pump.post(present)
        else:
            self._pump.post(self._fire, "card", card)

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, "simulated")


class SimTagReader(TagReader):
    """An ISO 15693 reader field in memory: tags are placed and removed by hand.

    Tag memory is real ISO 28560 bytes (encoded with :func:`kiosk.tags.encode_tag`), so the
    decode path is the production one.  Security is AFI (0x07 on shelf / 0xC2 on loan) or EAS.
    """

    driver = "sim"
    poll_interval = 0.1

    def __init__(self, security: str = "afi", poll_interval: float | None = None) -> None:
        super().__init__()
        self.security = security
        if poll_interval is not None:
            self.poll_interval = poll_interval
        self._field: dict[str, dict] = {}
        self._field_lock = threading.Lock()
        self._uids = itertools.count(1)
        self.fail_security_writes = False     # test hook: the tag ignores security writes
        self.fail_writes = 0                  # test hook: refuse this many block writes (tag moved)
        self.corrupt_writes = 0               # test hook: this many writes store one wrong byte
        self.polls = 0

    # -- verbs -------------------------------------------------------------------------------
    def place(self, tag: TagRead | str | None = None, *, parts_in_item: int = 1, part_number: int = 1,
              uid: str | None = None, model: str = "28560-3", isil: str = "",
              security_on: bool = True, data: bytes | None = None) -> str:
        """Put a tag in the field; returns its UID.

        ``tag`` is an item id (str) or a :class:`TagRead` (its fields are used); ``data`` puts
        raw memory instead (e.g. garbage, to test how an unreadable tag is reported).
        """
        from kiosk.tags import encode_tag

        if isinstance(tag, TagRead):
            uid = uid or tag.uid
            parts_in_item, part_number = tag.parts_in_item, tag.part_number
            isil = isil or (tag.owner_isil or "")
            security_on = tag.security_on if tag.security_on is not None else security_on
            item_id = tag.item_id
        else:
            item_id = tag
        if data is None:
            if not item_id:
                raise ValueError("place(): give an item id, a TagRead with item_id, or data=")
            data = encode_tag(model, item_id, isil=isil, parts_in_item=parts_in_item,
                              part_number=part_number)
        uid = (uid or f"E00401{next(self._uids):010X}").upper()
        with self._field_lock:
            self._field[uid] = {"data": bytes(data),
                                "afi": AFI_ON_SHELF if security_on else AFI_ON_LOAN,
                                "eas": bool(security_on), "locked": set(), "blocks": SIM_TAG_BLOCKS,
                                "dsfid": 0}
        return uid

    def place_blank(self, *, uid: str | None = None, locked: bool = False, security_on: bool = False,
                    blocks: int = SIM_TAG_BLOCKS) -> str:
        """Put a new, never-programmed tag (all zero memory, ``blocks`` x 4 bytes) in the field;
        ``locked``: read-only."""
        uid = self.place(uid=uid, data=bytes(blocks * 4), security_on=security_on)
        with self._field_lock:
            self._field[uid]["blocks"] = blocks
            if locked:
                self._field[uid]["locked"] = set(range(blocks))
        return uid

    def place_barcode_only(self, barcode: str, *, uid: str | None = None) -> str:
        """A tag from an older conversion that holds only the barcode as plain ASCII (no data model)."""
        return self.place(uid=uid, data=barcode.encode("ascii").ljust(SIM_TAG_BLOCKS * 4, b"\x00"),
                          security_on=False)

    def memory(self, uid: str) -> bytes:
        """The tag's whole memory (tests)."""
        with self._field_lock:
            return bytes(self._field[uid.upper()]["data"])

    def remove(self, uid: str) -> None:
        with self._field_lock:
            self._field.pop(uid.upper(), None)

    def clear(self) -> None:
        """Take every tag out of the field."""
        with self._field_lock:
            self._field.clear()

    def wait_idle(self, timeout: float = 2.0) -> None:
        """Block until one full poll has run after this call (tests, demo scripts)."""
        start = self.polls
        deadline = time.monotonic() + timeout
        while self.polls < start + 2 and time.monotonic() < deadline:
            time.sleep(self.poll_interval / 4)

    # -- driver contract ---------------------------------------------------------------------
    def inventory(self) -> list[str]:
        with self._field_lock:
            return list(self._field)

    def poll_once(self) -> None:
        try:
            super().poll_once()
        finally:
            self.polls += 1

    def read_blocks(self, uid: str, first: int, count: int) -> bytes:
        with self._field_lock:
            tag = self._field.get(uid)
        if tag is None:
            raise HardwareError(f"tag {uid} left the field")
        return tag["data"][first * 4:(first + count) * 4]

    def write_blocks(self, uid: str, first: int, data: bytes) -> None:
        data = bytes(data) + bytes(-len(data) % 4)
        with self._field_lock:
            tag = self._field.get(uid)
            if tag is None:
                raise HardwareError(f"tag {uid} left the field")
            blocks = range(first, first + len(data) // 4)
            if any(b in tag["locked"] for b in blocks):
                raise HardwareError(f"tag {uid} refused the write: block locked")
            if blocks.stop > tag["blocks"]:
                raise HardwareError(f"tag {uid} has only {tag['blocks']} blocks")
            if self.fail_writes > 0:
                self.fail_writes -= 1
                raise HardwareError(f"tag {uid}: no answer to the write (RF error)")
            if self.corrupt_writes > 0 and data:
                self.corrupt_writes -= 1
                data = bytes([data[0] ^ 0x01]) + data[1:]
            memory = bytearray(tag["data"].ljust(tag["blocks"] * 4, b"\x00"))
            memory[first * 4:first * 4 + len(data)] = data
            tag["data"] = bytes(memory)

    def lock_blocks(self, uid: str, first: int, count: int) -> None:
        with self._field_lock:
            tag = self._field.get(uid)
            if tag is None:
                raise HardwareError(f"tag {uid} left the field")
            tag["locked"].update(range(first, first + count))

    def locked_blocks(self, uid: str, first: int, count: int) -> list[bool] | None:
        with self._field_lock:
            tag = self._field.get(uid)
            if tag is None:
                raise HardwareError(f"tag {uid} left the field")
            return [b in tag["locked"] for b in range(first, min(first + count, tag["blocks"]))]

    def memory_size(self, uid: str) -> int | None:
        with self._field_lock:
            tag = self._field.get(uid)
            if tag is None:
                raise HardwareError(f"tag {uid} left the field")
            return tag["blocks"] * 4

    def write_dsfid(self, uid: str, dsfid: int) -> bool:
        with self._field_lock:
            tag = self._field.get(uid)
            if tag is None:
                raise HardwareError(f"tag {uid} left the field")
            tag["dsfid"] = dsfid
        return True

    def read_tag(self, uid: str) -> TagRead:
        tag = super().read_tag(uid)
        try:
            on = self.read_security(uid)
        except HardwareError:
            return tag
        return dataclasses.replace(tag, security_on=on)

    def _write_security(self, uid: str, on: bool) -> None:
        with self._field_lock:
            tag = self._field.get(uid)
            if tag is None:
                raise HardwareError(f"tag {uid} is not in the field")
            if self.fail_security_writes:
                return
            if self.security == "eas":
                tag["eas"] = on
            else:
                tag["afi"] = AFI_ON_SHELF if on else AFI_ON_LOAN

    def read_security(self, uid: str) -> bool:
        with self._field_lock:
            tag = self._field.get(uid)
            if tag is None:
                raise HardwareError(f"tag {uid} is not in the field")
            return tag["eas"] if self.security == "eas" else tag["afi"] != AFI_ON_LOAN

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, f"simulated ({self.security})")


class SimScanner(_Pumped, BarcodeScanner):
    driver = "sim"

    def __init__(self, pattern: str = r"[0-9A-Za-z\-]{1,32}") -> None:
        BarcodeScanner.__init__(self, pattern)
        self._init_pump("sim-scanner")

    def scan(self, code: str, terminator: str = "\r") -> None:
        """A code is scanned (raw, as the scanner would send it, CR-terminated)."""
        self._pump.post(self._feed, code + terminator)


class SimPrinter(ReceiptPrinter):
    """Renders real ESC/POS through python-escpos's ``Dummy`` printer and keeps the bytes.

    ``paper`` is "ok", "low" or "out"; ``offline = True`` makes every print fail.
    """

    driver = "sim"

    def __init__(self, width: int = 42) -> None:
        super().__init__()
        self.width = width
        self.paper = "ok"
        self.offline = False
        self.receipts: list[Receipt] = []
        self._output = bytearray()

    @property
    def output(self) -> bytes:
        return bytes(self._output)

    def status(self) -> PrinterStatus:
        if self.offline:
            return PrinterStatus(ok=False, detail="printer offline")
        if self.paper == "out":
            return PrinterStatus(ok=False, paper_out=True, detail="paper out")
        return PrinterStatus(ok=True, paper_low=self.paper == "low",
                             detail="paper low" if self.paper == "low" else "ok")

    def _print(self, receipt: Receipt) -> None:
        from escpos.printer import Dummy

        from kiosk.hardware.printer import render_receipt

        dummy = Dummy()
        render_receipt(dummy, receipt, self.width)
        self._output += dummy.output
        self.receipts.append(receipt)

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, "simulated")


class SimIndicators(Indicators):
    driver = "sim"

    def __init__(self) -> None:
        super().__init__()
        self.history: list[tuple[str, str]] = []
        self.lights: dict[str, str] = dict.fromkeys(self.LIGHTS, "off")

    def set_light(self, name: str, state: str) -> None:
        if state not in self.STATES:
            raise ValueError(f"light state {state!r}: expected one of {self.STATES}")
        self.lights[name] = state
        self.history.append((name, state))

    def beep(self, kind: str = "ok") -> None:
        self.history.append(("beep", kind))


class SimSlotSensor(_Pumped, SlotSensor):
    driver = "sim"

    def __init__(self) -> None:
        SlotSensor.__init__(self)
        self._init_pump("sim-slot-sensor")
        self._blocked = False

    @property
    def is_blocked(self) -> bool:
        return self._blocked

    def block(self) -> None:
        """Something interrupts the light barrier."""
        self._blocked = True
        self._pump.post(self._fire, "blocked")

    def clear(self) -> None:
        self._blocked = False
        self._pump.post(self._fire, "cleared")

    def drop_item(self, seconds: float = 0.05) -> None:
        """An item falls through the slot: blocked, then clear."""
        self.block()
        self._pump.post(time.sleep, seconds)
        self.clear()


class SimDoorLock(DoorLock):
    """Records every commanded state: ``states`` is a list of "locked"/"unlocked"."""

    driver = "sim"

    def __init__(self, max_unlock_s: float = 10.0) -> None:
        super().__init__()
        self.max_unlock_s = max_unlock_s
        self.states: list[str] = []

    def _energise(self, on: bool) -> None:
        self.states.append("unlocked" if on else "locked")
