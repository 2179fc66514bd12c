"""Build the kiosk's devices from the configuration: ``open_devices(settings) -> Devices``.

``[hardware] simulate = true`` gives simulated twins everywhere.  Otherwise each section's
``driver`` (or ``[gpio] backend``) picks the driver; ``"sim"`` simulates just that device and
``"none"`` says it is not fitted.  A device that fails to open does not stop the kiosk: it is
replaced by an absent device that remembers why (``kiosk doctor`` and the staff screen show
it), and the kiosk runs without it -- e.g. no printer means "no receipt" is offered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kiosk.errors import HardwareError
from kiosk.hardware import sim
from kiosk.hardware.base import AbsentMixin, BarcodeScanner, CardReader, Devices, Indicators, ReceiptPrinter
from kiosk.hardware.records import PrinterStatus
from kiosk.hardware.tag_reader import TagReader

log = logging.getLogger(__name__)


_Absent = AbsentMixin


class AbsentCardReader(_Absent, CardReader):
    pass


class AbsentTagReader(_Absent, TagReader):
    def _start(self) -> None:   # nothing to poll
        pass

    def inventory(self) -> list[str]:
        return []

    def read_blocks(self, uid: str, first: int, count: int) -> bytes:
        raise HardwareError(self.error or "no tag reader fitted")

    def _write_security(self, uid: str, on: bool) -> None:
        raise HardwareError(self.error or "no tag reader fitted")

    def read_security(self, uid: str) -> bool:
        raise HardwareError(self.error or "no tag reader fitted")


class AbsentScanner(_Absent, BarcodeScanner):
    pass


class AbsentPrinter(_Absent, ReceiptPrinter):
    def status(self) -> PrinterStatus:
        return PrinterStatus(ok=False, detail=self.error or "no printer fitted")


class AbsentIndicators(_Absent, Indicators):
    def set_light(self, name: str, state: str) -> None:
        pass

    def beep(self, kind: str = "ok") -> None:
        pass


def _absent(cls: type, error: str | None = None) -> Any:
    dev = cls()
    dev.error = error
    return dev


def _guard(kind: str, absent: type, build: Callable[[], Any]) -> Any:
    """Build a real device; on failure log it and return an absent device carrying the reason."""
    try:
        return build()
    except HardwareError as exc:
        log.error("%s unavailable: %s", kind, exc)
        return _absent(absent, str(exc))
    except Exception as exc:   # a driver bug must not stop the kiosk from starting
        log.exception("%s could not be opened", kind)
        return _absent(absent, f"{type(exc).__name__}: {exc}")


def _card_reader(s: Any) -> CardReader:
    c = s.card_reader
    if c.driver == "sim":
        return sim.SimCardReader(c.card_format, c.prefix)
    if c.driver == "none":
        return _absent(AbsentCardReader)

    def build() -> CardReader:
        if c.driver == "mfrc522-package":
            from kiosk.hardware.mfrc522_package import Mfrc522PackageCardReader

            if c.irq_pin >= 0:
                log.warning("[card_reader] irq_pin is not used by driver mfrc522-package (it sleeps)")
            return Mfrc522PackageCardReader(c.card_format, c.prefix, bus=c.spi_bus, device=c.spi_device,
                                            speed_hz=c.spi_speed_hz, reset_pin=c.reset_pin,
                                            poll_interval=c.poll_interval_s)
        from kiosk.hardware.mfrc522 import Mfrc522CardReader

        factory = _pin_factory(s) if (c.reset_pin >= 0 or c.irq_pin >= 0) else None
        return Mfrc522CardReader(c.card_format, c.prefix, bus=c.spi_bus, device=c.spi_device,
                                 speed_hz=c.spi_speed_hz, reset_pin=c.reset_pin, irq_pin=c.irq_pin,
                                 poll_interval=c.poll_interval_s, pin_factory=factory)
    return _guard("card reader", AbsentCardReader, build)


def _tag_reader(s: Any) -> TagReader:
    t = s.tag_reader
    if t.driver == "sim":
        return sim.SimTagReader(security=t.security)
    if t.driver == "none":
        return _absent(AbsentTagReader)

    def build() -> TagReader:
        if t.driver == "mfrc522":
            from kiosk.hardware.mfrc522 import Mfrc522TagReader

            c = s.card_reader
            return Mfrc522TagReader(bus=c.spi_bus, device=t.spi_device, speed_hz=c.spi_speed_hz,
                                    poll_interval=t.poll_interval_s)
        if t.driver == "3m810":
            from kiosk.hardware.threem810 import ThreeM810Reader

            return ThreeM810Reader(t.port, baudrate=t.baudrate, parity=t.parity, security=t.security,
                                   afi_on_shelf=t.afi_on_shelf, afi_on_loan=t.afi_on_loan,
                                   poll_interval=t.poll_interval_s, timeout=t.timeout_s)
        from kiosk.hardware.feig import FeigReader

        return FeigReader(t.port, baudrate=t.baudrate, parity=t.parity, address=t.bus_address,
                          security=t.security, afi_on_shelf=t.afi_on_shelf, afi_on_loan=t.afi_on_loan,
                          poll_interval=t.poll_interval_s, timeout=t.timeout_s)
    return _guard("tag reader", AbsentTagReader, build)


def _scanner(s: Any) -> BarcodeScanner:
    c = s.scanner
    if c.driver == "sim":
        return sim.SimScanner(c.pattern)
    if c.driver == "none":
        return _absent(AbsentScanner)

    def build() -> BarcodeScanner:
        from kiosk.hardware.scanner import HidScanner, SerialScanner

        if c.driver == "hid":
            return HidScanner(c.device, c.pattern)
        return SerialScanner(c.port, c.baudrate, c.pattern)
    return _guard("barcode scanner", AbsentScanner, build)


def _printer(s: Any) -> ReceiptPrinter:
    p = s.printer
    if p.driver == "sim":
        return sim.SimPrinter(p.width)
    if p.driver == "none":
        return _absent(AbsentPrinter)

    def build() -> ReceiptPrinter:
        from kiosk.hardware.printer import EscposPrinter

        return EscposPrinter(p.url, width=p.width, baudrate=p.baudrate, timeout=p.timeout_s,
                             profile=p.profile, status_query=p.status_query)
    return _guard("receipt printer", AbsentPrinter, build)


_FACTORIES: dict[int, Any] = {}


def _pin_factory(s: Any) -> Any:
    """One gpiozero pin factory per Settings object (shared by every GPIO device)."""
    key = id(s)
    if key not in _FACTORIES:
        from kiosk.hardware.gpio import make_pin_factory

        _FACTORIES[key] = make_pin_factory(s.gpio.backend, s.gpio.chip)
    return _FACTORIES[key]


def _gpio_devices(s: Any, extra: list) -> tuple[Any, Any, Any]:
    g = s.gpio
    if g.backend == "sim":
        return sim.SimIndicators(), sim.SimSlotSensor(), sim.SimDoorLock(g.max_unlock_s)
    from kiosk.hardware import gpio

    try:
        factory = _pin_factory(s)
    except HardwareError as exc:
        log.error("GPIO unavailable: %s", exc)
        return (_absent(AbsentIndicators, str(exc)), _absent(gpio.AbsentSlotSensor, str(exc)),
                _absent(gpio.AbsentDoorLock, str(exc)))
    extra.append(_FactoryCloser(s))
    indicators = _guard("indicators", AbsentIndicators, lambda: gpio.GpioIndicators(
        {"ready": g.ready_pin, "busy": g.busy_pin, "error": g.error_pin}, g.buzzer_pin, factory))
    slot = (gpio.AbsentSlotSensor() if g.slot_pin < 0 else
            _guard("slot sensor", gpio.AbsentSlotSensor, lambda: gpio.GpioSlotSensor(
                g.slot_pin, factory, g.slot_active_low, g.slot_bounce_ms)))
    lock = (gpio.AbsentDoorLock() if g.lock_pin < 0 else
            _guard("door lock", gpio.AbsentDoorLock, lambda: gpio.GpioDoorLock(
                g.lock_pin, factory, g.lock_active_high, g.max_unlock_s)))
    return indicators, slot, lock


class _FactoryCloser:
    """Closes the shared pin factory after every GPIO device was closed."""

    def __init__(self, settings: Any) -> None:
        self.key = id(settings)

    def close(self) -> None:
        factory = _FACTORIES.pop(self.key, None)
        if factory is not None:
            factory.close()


def open_devices(settings: Any) -> Devices:
    """Every device the configuration names (simulated twins with ``[hardware] simulate``)."""
    if settings.hardware.simulate:
        return Devices(
            card_reader=sim.SimCardReader(settings.card_reader.card_format, settings.card_reader.prefix),
            tag_reader=sim.SimTagReader(security=settings.tag_reader.security),
            scanner=sim.SimScanner(settings.scanner.pattern),
            printer=sim.SimPrinter(settings.printer.width),
            indicators=sim.SimIndicators(),
            slot_sensor=sim.SimSlotSensor(),
            door_lock=sim.SimDoorLock(settings.gpio.max_unlock_s),
        )
    extra: list = []
    card_reader = _card_reader(settings)
    tag_reader = _tag_reader(settings)
    scanner = _scanner(settings)
    printer = _printer(settings)
    indicators, slot, lock = _gpio_devices(settings, extra)
    return Devices(card_reader=card_reader, tag_reader=tag_reader, scanner=scanner, printer=printer,
                   indicators=indicators, slot_sensor=slot, door_lock=lock, extra=extra)
