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

The item-tag reader, the one interface with behaviour of its own (polled inventory, read retries,
a bad tag contained), is in :mod:`kiosk.hardware.tag_reader`; the plain records the devices hand
out (``TagRead``, ``Receipt``, ``PrinterStatus``, ``DeviceInfo``) are in :mod:`kiosk.hardware.records`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk.errors import HardwareError
from kiosk.hardware.records import DeviceInfo, PrinterStatus, Receipt

if TYPE_CHECKING:  # pragma: no cover
    from kiosk.hardware.tag_reader import TagReader

log = logging.getLogger(__name__)


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
