"""The device contract: one small interface per kind of device the kiosk drives.

Every device here follows the same three rules, so the app can treat them alike:

* **Events are callbacks named ``when_<event>``**, assigned by the app and called *from the
  driver's own thread* (a reader thread, a GPIO callback thread).  Drivers never import Kivy and
  never touch widgets; the app marshals each event to Kivy's main thread with ``Clock``.  A
  callback that raises is logged and does not kill the driver's thread.
* **Nothing blocks the caller for long.**  Polling drivers sleep between polls (``Event.wait``),
  never spin; commands that must talk to hardware (``set_security``, ``print_receipt``) are meant
  to be called from a worker thread, not from Kivy's main thread.
* **Every device has ``start()``, an idempotent ``close()``, ``closed`` and ``with`` support.**
  ``start()`` begins delivering events; before it, a device is configured but quiet.

Drivers subclass the classes below.  Each class docstring says what a driver *must* override and
what it *may* override (the gpiozero ``Factory``/``Pin`` habit); the simulated twins in
:mod:`kiosk.hardware.sim` implement the same contract in memory for the demo and the tests.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.errors import HardwareError
from kiosk.hardware.threads import PollingThread

log = logging.getLogger(__name__)

#: start of ``TagRead.error`` when the tag's memory could not be read (as opposed to decoded)
UNREADABLE = "could not read the tag"
#: ``TagRead.error`` of a tag whose data made a decoder fail unexpectedly (logged as a bug)
UNDECODABLE = "tag data could not be decoded (unexpected content; see the log)"


# --------------------------------------------------------------------------------------------
# plain records
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TagRead:
    """One RFID item tag in the reader's field, decoded as far as it could be.

    ``uid`` is the tag's unique id as upper-case hex, MSB first (ISO 15693 UIDs are 8 bytes).
    ``item_id`` is the primary item identifier (usually the barcode) decoded from the tag data,
    or None when the data could not be decoded -- then ``error`` says why, in words staff can act
    on.  ``security_on`` is the gate-alarm state (AFI or EAS) when the reader reported it.
    """

    uid: str
    item_id: str | None = None
    parts_in_item: int = 1
    part_number: int = 1
    owner_isil: str | None = None
    security_on: bool | None = None
    error: str | None = None
    model: str | None = None          # "28560-3", "28560-2", "3m" (or None if undecoded)


@dataclass(frozen=True)
class Receipt:
    """A receipt as plain data; the printer driver lays it out for its paper width."""

    library_name: str
    lines: tuple[str, ...] = ()
    date: datetime | None = None
    title: str = ""
    footer: str = ""


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said about itself.  ``ok`` False means do not offer a printed receipt."""

    ok: bool
    paper_low: bool = False
    paper_out: bool = False
    detail: str = ""


@dataclass(frozen=True)
class DeviceInfo:
    """What ``describe()`` returns for ``kiosk doctor``: driver name and where it is attached."""

    kind: str
    driver: str
    address: str = ""


# --------------------------------------------------------------------------------------------
# the common base
# --------------------------------------------------------------------------------------------

class Device:
    """Base of every device.

    Drivers *may* override :meth:`_start` (begin delivering events), :meth:`_close` (release the
    hardware; called once) and :meth:`describe`.  They call :meth:`_fire` to deliver an event.
    """

    kind = "device"
    driver = "abstract"

    def __init__(self) -> None:
        self._closed = False
        self._started = False
        self._lock = threading.RLock()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Begin delivering events (starts the driver's thread where it has one)."""
        with self._lock:
            if self._closed:
                raise HardwareError(f"{self.kind}: start() after close()")
            if not self._started:
                self._started = True
                self._start()

    def close(self) -> None:
        """Stop the driver's thread and release the hardware.  Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._close()
        except Exception:  # closing must never raise into shutdown code
            log.exception("%s: error while closing", self.kind)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        """Hook: begin delivering events."""

    def _close(self) -> None:
        """Hook: release the hardware."""

    def describe(self) -> DeviceInfo:
        """Driver name and address, for ``kiosk doctor`` and the staff screen."""
        return DeviceInfo(self.kind, self.driver)

    def check(self) -> str:
        """Probe the device; return a short detail string or raise :class:`HardwareError`.

        Used by ``kiosk doctor``.  The default only checks the device is not closed.
        """
        if self._closed:
            raise HardwareError(f"{self.kind} is closed")
        return "ok"

    # -- events ------------------------------------------------------------------------------
    def _fire(self, name: str, *args: Any) -> None:
        """Call ``self.when_<name>(*args)`` if set; a failing callback is logged, not raised."""
        callback: Callable[..., object] | None = getattr(self, f"when_{name}", None)
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            log.exception("%s: when_%s callback failed", self.kind, name)


# --------------------------------------------------------------------------------------------
# one interface per device kind
# --------------------------------------------------------------------------------------------

class CardReader(Device):
    """Reads patron cards (ISO 14443 UIDs) and reports each card once per presentation.

    Event: ``when_card(card_number: str)`` -- the card number already formatted the way the
    library numbers its cards (see :func:`kiosk.hardware.cardformat.format_card_number`).
    A card left on the reader is reported once; it is reported again only after it was removed.

    Drivers *must* call ``self._card_seen(uid_bytes)`` whenever a card answers and
    ``self._card_gone()`` when the field is empty; the base class de-duplicates and formats.
    """

    kind = "card_reader"
    when_card: Callable[[str], object] | None = None

    def __init__(self, card_format: str = "hex", prefix: str = "") -> None:
        super().__init__()
        self.card_format = card_format
        self.prefix = prefix
        self._present: bytes | None = None

    def _card_seen(self, uid: bytes) -> None:
        from kiosk.hardware.cardformat import format_card_number

        if uid == self._present:
            return
        self._present = uid
        self._fire("card", format_card_number(uid, self.card_format, self.prefix))

    def _card_gone(self) -> None:
        self._present = None


class TagReader(Device):
    """Reads RFID item tags: inventory of every tag in the field, their data, and security.

    Events (from the reader thread): ``when_tags_changed(tags: list[TagRead])`` with the full
    current set whenever it changes, plus ``when_tag_present(tag: TagRead)`` for each new tag
    and ``when_tag_removed(uid: str)`` for each tag that left the field.

    Drivers *must* override :meth:`inventory` (UIDs in the field), :meth:`read_blocks`,
    :meth:`_write_security` and :meth:`read_security`.  They *may* override :meth:`read_tag`
    (the default reads the user memory and decodes it with :func:`kiosk.tags.decode_tag`).
    The base class runs the polling thread and computes present/removed.
    """

    kind = "tag_reader"
    when_tags_changed: Callable[[list[TagRead]], object] | None = None
    when_tag_present: Callable[[TagRead], object] | None = None
    when_tag_removed: Callable[[str], object] | None = None

    #: seconds between inventories; a FEIG inventory takes ~30-100 ms, so 0.3 s keeps the kiosk
    #: responsive while leaving the CPU idle.
    poll_interval = 0.3
    #: blocks read when decoding a tag (28 x 4 bytes covers ISO 28560-3 + extension blocks on
    #: an ICODE SLIX; shorter tags are read as far as they go).
    blocks_to_read = 28
    security = "afi"
    #: seconds to wait before retrying after the reader failed (unplugged, no answer)
    error_backoff = 2.0
    #: times a tag whose memory could not be read is read again while it stays in the field
    read_retries = 3

    def __init__(self) -> None:
        super().__init__()
        self._tags: dict[str, TagRead] = {}
        self._tags_lock = threading.Lock()
        self._retries: dict[str, int] = {}
        self._thread: PollingThread | None = None

    # -- must override -----------------------------------------------------------------------
    def inventory(self) -> list[str]:
        """UIDs (hex) of every tag in the field, after anti-collision."""
        raise NotImplementedError

    def read_blocks(self, uid: str, first: int, count: int) -> bytes:
        """``count`` blocks of user memory from ``first``, concatenated, in memory order."""
        raise NotImplementedError

    def _write_security(self, uid: str, on: bool) -> None:
        """Write the gate-alarm state (AFI or EAS)."""
        raise NotImplementedError

    def read_security(self, uid: str) -> bool:
        """The gate-alarm state read back from the tag (True = the gate alarms)."""
        raise NotImplementedError

    # -- may override ------------------------------------------------------------------------
    def read_tag(self, uid: str) -> TagRead:
        """Read and decode one tag; never raises for bad data (``error`` says what was wrong)."""
        from kiosk.tags import TagDecodeError, decode_tag

        try:
            data = self.read_blocks(uid, 0, self.blocks_to_read)
        except HardwareError as exc:
            return TagRead(uid=uid, error=f"{UNREADABLE}: {exc}")
        try:
            tag = decode_tag(data)
        except TagDecodeError as exc:
            return TagRead(uid=uid, error=str(exc))
        except Exception:   # a decoder bug: this tag only, never the whole field
            log.exception("%s: decoding tag %s failed", self.kind, uid)
            return TagRead(uid=uid, error=UNDECODABLE)
        if tag.crc_ok is False:   # a damaged tag could name the wrong item: staff must look
            return TagRead(uid=uid, model=tag.model,
                           error="tag data failed its CRC check (damaged or badly written tag)")
        return TagRead(uid=uid, item_id=tag.primary_item_id, parts_in_item=tag.parts_in_item,
                       part_number=tag.part_number, owner_isil=tag.owner_isil, model=tag.model)

    # -- may override: writing tags (the staff station, kiosk.station) -----------------------
    # Circulation never writes tag memory; only the staff station does.  Drivers that can write
    # override these; the defaults say plainly that this reader cannot.
    def write_blocks(self, uid: str, first: int, data: bytes) -> None:
        """Write ``data`` (padded to whole blocks) from block ``first`` (ISO 15693 write
        single/multiple block).  Raises :class:`HardwareError` when the tag refused (locked block)."""
        raise HardwareError(f"the {self.driver} tag reader cannot write tags")

    def lock_blocks(self, uid: str, first: int, count: int) -> None:
        """Lock ``count`` blocks from ``first`` permanently (ISO 15693 lock block)."""
        raise HardwareError(f"the {self.driver} tag reader cannot lock tag blocks")

    def locked_blocks(self, uid: str, first: int, count: int) -> list[bool] | None:
        """Lock state of each block (ISO 15693 block security status); None: the reader cannot tell."""
        return None

    def write_dsfid(self, uid: str, dsfid: int) -> bool:
        """Write the DSFID (0x3E ISO 28560-3, 0x06 ISO 28560-2); False when the reader cannot."""
        return False

    def memory_size(self, uid: str) -> int | None:
        """Bytes of user memory on the tag (ISO 15693 system information); None: not known."""
        return None

    # -- provided ----------------------------------------------------------------------------
    def _read_contained(self, uid: str) -> TagRead:
        """:meth:`read_tag`, with anything it raises kept to that one tag's ``TagRead.error``.

        One tag with bytes no parser foresaw must never stop the reader from reporting the other
        tags in the field (an exception here used to abort the whole poll, every poll).  A
        :class:`HardwareError` reads as unreadable (read again on the next polls); anything else
        is a bug in a decoder: logged with its traceback, shown to staff as undecodable.
        """
        try:
            return self.read_tag(uid)
        except HardwareError as exc:
            return TagRead(uid=uid, error=f"{UNREADABLE}: {exc}")
        except Exception:
            log.exception("%s: reading tag %s failed", self.kind, uid)
            return TagRead(uid=uid, error=UNDECODABLE)

    def set_security(self, uid: str, on: bool) -> None:
        """Set the gate-alarm state and read it back; raises :class:`HardwareError` on mismatch.

        Called from a worker thread by the circulation engine after a checkout (off) or a
        check-in (on).  The read-back matters: a tag that silently kept its alarm bit makes the
        gate beep at an honest patron.
        """
        self._write_security(uid, on)
        if self.read_security(uid) != on:
            raise HardwareError(f"tag {uid}: security still {'off' if on else 'on'} after write")

    @property
    def tags(self) -> list[TagRead]:
        """The tags currently in the field (last inventory).  Safe from any thread."""
        with self._tags_lock:
            return list(self._tags.values())

    def poll_once(self) -> None:
        """One inventory round: read new tags, forget gone ones, fire events on change.

        A tag that could not be read (at the edge of the field, moved mid-read) is read again on
        the next polls, up to ``read_retries`` times; when that succeeds it is announced again
        with ``when_tag_present`` carrying the item id.
        """
        uids = self.inventory()
        current = dict.fromkeys(uids)
        with self._tags_lock:
            known = dict(self._tags)
        removed = [u for u in known if u not in current]
        added = [u for u in uids if u not in known]
        retry = [u for u in uids if u in known and known[u].error and known[u].error.startswith(UNREADABLE)
                 and self._retries.get(u, 0) < self.read_retries]
        fresh: dict[str, TagRead] = {}
        for uid in added:
            fresh[uid] = self._read_contained(uid)
        for uid in retry:
            self._retries[uid] = self._retries.get(uid, 0) + 1
            tag = self._read_contained(uid)
            if tag != known[uid]:
                fresh[uid] = tag
        with self._tags_lock:
            for uid in removed:
                self._tags.pop(uid, None)
                self._retries.pop(uid, None)
            self._tags.update(fresh)
        if not removed and not fresh:
            return
        for uid in removed:
            self._fire("tag_removed", uid)
        for tag in fresh.values():
            self._fire("tag_present", tag)
        self._fire("tags_changed", self.tags)

    def _start(self) -> None:
        self._thread = PollingThread(f"{self.kind}-{self.driver}", self.poll_once, self.poll_interval,
                                     self.error_backoff)
        self._thread.start()

    def _close(self) -> None:
        if self._thread:
            self._thread.stop()


class BarcodeScanner(Device):
    """A barcode scanner.  Event: ``when_scan(code: str)`` with a checked, printable code.

    Drivers *must* feed raw input to ``self._feed(text)`` (or decoded characters one by one);
    the base class splits lines, drops control characters and rejects codes that do not match
    the configured pattern (:class:`kiosk.hardware.scanner_filter.ScanFilter`).
    """

    kind = "scanner"
    when_scan: Callable[[str], object] | None = None
    when_rejected: Callable[[str], object] | None = None

    def __init__(self, pattern: str = r"[0-9A-Za-z\-]{1,32}") -> None:
        from kiosk.hardware.scanner_filter import ScanFilter

        super().__init__()
        self.filter = ScanFilter(pattern)

    def _feed(self, text: str) -> None:
        for code, ok in self.filter.feed(text):
            self._fire("scan" if ok else "rejected", code)


class ReceiptPrinter(Device):
    """A receipt printer.

    Drivers *must* override :meth:`_print` (send a laid-out receipt) and :meth:`status`.
    :meth:`print_receipt` raises :class:`HardwareError` on any fault; callers print *after*
    the loan is recorded, on a worker thread, so a printer fault never blocks a loan.
    """

    kind = "printer"
    width = 42

    def status(self) -> PrinterStatus:
        raise NotImplementedError

    def print_receipt(self, receipt: Receipt) -> None:
        st = self.status()
        if not st.ok:
            raise HardwareError(f"printer not ready: {st.detail or 'paper out or offline'}")
        try:
            self._print(receipt)
        except HardwareError:
            raise
        except Exception as exc:  # transport errors from python-escpos / pyserial / pyusb
            raise HardwareError(f"printer: {exc}") from exc

    def _print(self, receipt: Receipt) -> None:
        raise NotImplementedError


class Indicators(Device):
    """Status lights and buzzer.

    ``set_light(name, state)`` with name in ``("ready", "busy", "error")`` (drivers map names to
    pins) and state in ``("off", "on", "blink")``; ``beep(kind)`` with kind in
    ``("ok", "error", "attention")``.  Drivers *must* override both.  They never raise for an
    unknown light name (a kiosk without that LED just ignores it).
    """

    kind = "indicators"
    LIGHTS = ("ready", "busy", "error")
    STATES = ("off", "on", "blink")
    BEEPS = ("ok", "error", "attention")

    def set_light(self, name: str, state: str) -> None:
        raise NotImplementedError

    def beep(self, kind: str = "ok") -> None:
        raise NotImplementedError


class SlotSensor(Device):
    """The return slot's light barrier.

    Events: ``when_blocked()`` when an item interrupts the beam, ``when_cleared()`` when it is
    clear again.  ``is_blocked`` reads the current state.  Drivers *must* override
    ``is_blocked`` and call ``self._fire("blocked")`` / ``self._fire("cleared")``.
    """

    kind = "slot_sensor"
    when_blocked: Callable[[], object] | None = None
    when_cleared: Callable[[], object] | None = None

    @property
    def is_blocked(self) -> bool:
        raise NotImplementedError


class DoorLock(Device):
    """The after-hours book-drop door lock, **fail-secure**: unpowered means locked.

    ``unlock(seconds)`` energises the lock for at most ``seconds`` (capped by the driver's
    ``max_unlock_s``) and re-locks by itself from a timer; ``lock()`` re-locks at once;
    ``is_locked`` reports the commanded state.  Drivers *must* override :meth:`_energise`.
    Closing a lock always leaves it locked.
    """

    kind = "door_lock"
    max_unlock_s = 10.0

    def __init__(self) -> None:
        super().__init__()
        self._relock: threading.Timer | None = None
        self._locked = True

    @property
    def is_locked(self) -> bool:
        return self._locked

    def unlock(self, seconds: float = 5.0) -> None:
        seconds = max(0.0, min(float(seconds), self.max_unlock_s))
        with self._lock:
            if self._closed:
                raise HardwareError("door lock is closed")
            if self._relock:
                self._relock.cancel()
            self._energise(True)
            self._locked = False
            self._relock = threading.Timer(seconds, self.lock)
            self._relock.daemon = True
            self._relock.start()
        log.info("door unlocked for %.1f s", seconds)

    def lock(self) -> None:
        with self._lock:
            if self._relock:
                self._relock.cancel()
                self._relock = None
            self._energise(False)
            self._locked = True

    def _energise(self, on: bool) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        self.lock()


class AbsentMixin:
    """For a device that is not fitted or failed to open: ``error`` says why (None: not fitted).

    ``check()`` raises with the reason, so ``kiosk doctor`` shows it; the device itself does
    nothing, so the kiosk keeps running without it.
    """

    driver = "none"
    error: str | None = None

    def check(self) -> str:
        if self.error:
            raise HardwareError(self.error)
        return "not fitted"

    def describe(self) -> DeviceInfo:
        kind = getattr(self, "kind", "device")
        return DeviceInfo(kind, "failed" if self.error else "none", self.error or "not fitted")


@dataclass
class Devices:
    """Every device the kiosk drives, as returned by :func:`kiosk.hardware.open_devices`."""

    card_reader: CardReader
    tag_reader: TagReader
    scanner: BarcodeScanner
    printer: ReceiptPrinter
    indicators: Indicators
    slot_sensor: SlotSensor
    door_lock: DoorLock
    extra: list[Any] = field(default_factory=list)   # resources to close after the devices

    def all(self) -> list[Device]:
        return [self.card_reader, self.tag_reader, self.scanner, self.printer, self.indicators,
                self.slot_sensor, self.door_lock]

    def start(self) -> None:
        for dev in self.all():
            dev.start()

    def close(self) -> None:
        """Close every device (the door lock last, so it ends locked) and shared resources."""
        for dev in self.all():
            dev.close()
        for res in self.extra:
            try:
                res.close()
            except Exception:
                log.exception("error while closing %r", res)

    def __enter__(self) -> Devices:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
