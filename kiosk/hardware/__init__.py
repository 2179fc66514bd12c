"""Hardware layer: patron-card reader, item-tag reader, barcode scanner, receipt printer,
indicators (LEDs, buzzer), return-slot sensor and door lock.

Public API (contract C in notes/contracts.md)::

    from kiosk.hardware import open_devices, TagRead, Receipt, PrinterStatus
    devices = open_devices(settings)          # simulated twins when [hardware] simulate = true
    devices.card_reader.when_card = lambda card_number: ...        # called from a driver thread
    devices.tag_reader.when_tags_changed = lambda tags: ...        # list[TagRead]
    devices.tag_reader.when_tag_present = lambda tag: ...          # TagRead
    devices.tag_reader.when_tag_removed = lambda uid: ...
    devices.scanner.when_scan = lambda code: ...
    devices.slot_sensor.when_blocked = ...; devices.slot_sensor.when_cleared = ...
    devices.start()                           # readers begin polling in their own threads
    devices.tag_reader.set_security(uid, on)  # AFI/EAS write + read-back (worker thread!)
    devices.tag_reader.read_security(uid) -> bool
    devices.printer.status() -> PrinterStatus(ok, paper_low, paper_out, detail)
    devices.printer.print_receipt(Receipt(library_name, lines, date)) # raises HardwareError
    devices.indicators.set_light("ready"|"busy"|"error", "off"|"on"|"blink"); .beep("ok"|"error"|"attention")
    devices.door_lock.unlock(seconds); .lock(); .is_locked    # fail-secure
    devices.close()

Simulated twins (:mod:`kiosk.hardware.sim`) add demo/test verbs: ``SimCardReader.tap(card)``,
``SimTagReader.place(TagRead | item_id, ...)`` / ``.remove(uid)`` / ``.clear()``,
``SimScanner.scan(code)``, ``SimPrinter.output`` / ``.receipts``, ``SimSlotSensor.block()`` /
``.clear()``, ``SimDoorLock.states``, ``SimIndicators.history``.

Device checks for ``kiosk doctor`` and the staff screen:
``kiosk.hardware.doctor.run_checks(settings) -> list[Check(name, ok, detail, hint)]``.

Tag data codecs live in :mod:`kiosk.tags` (``decode_tag(data) -> TagData``).

Nothing in this package imports Pi-only modules (spidev, lgpio, RPi.GPIO, evdev, gpiozero's
real factories) at module level: the kiosk must start on any machine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.hardware.base import (
    BarcodeScanner,
    CardReader,
    Device,
    Devices,
    DoorLock,
    Indicators,
    ReceiptPrinter,
    SlotSensor,
)
from kiosk.hardware.records import PrinterStatus, Receipt, TagRead
from kiosk.hardware.tag_reader import TagReader

if TYPE_CHECKING:
    from kiosk.config import Settings


def open_devices(settings: Settings) -> Devices:
    """Open every configured device (see :mod:`kiosk.hardware.factory`; imported lazily)."""
    from kiosk.hardware.factory import open_devices as _open

    return _open(settings)


__all__ = [
    "BarcodeScanner", "CardReader", "Device", "Devices", "DoorLock", "Indicators", "PrinterStatus",
    "Receipt", "ReceiptPrinter", "SlotSensor", "TagRead", "TagReader", "open_devices",
]
