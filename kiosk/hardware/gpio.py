"""Lights, buzzer, return-slot light barrier and door lock on GPIO, through gpiozero.

Why gpiozero with its lgpio pin factory (and not the RPi.GPIO API via rpi-lgpio): lgpio is the
only backend that drives the Pi 5's RP1 GPIO and also works on a Pi 4 with current kernels;
gpiozero gives every pin its own device object that we close individually (RPi.GPIO's
``cleanup()`` habit resets every pin of the process, the door lock included); its callbacks already
run on a background thread; debouncing maps to lgpio's kernel-side debounce; and its
``MockFactory`` lets the tests drive real device classes without a Pi.  The factory is created
once in :func:`make_pin_factory` and passed to every device (no process-global state).  On
kernels >= 6.6.45 the Pi 5 header moved to gpiochip0; ``[gpio] chip = -1`` uses gpiozero's own
detection (fixed in gpiozero 2.0.1.post3), or set the chip explicitly.

The door lock is **fail-secure**: unpowered = locked.  The pin is created driving "locked",
every unlock has a timer that re-locks, closing re-locks before releasing the pin, and the
hardware must have a pull resistor so a floating pin (boot, crash) also means locked
(hardware-and-deployment.md 2.4).
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

from kiosk.errors import HardwareError
from kiosk.hardware.base import AbsentMixin, DoorLock, Indicators, SlotSensor
from kiosk.hardware.records import DeviceInfo

log = logging.getLogger(__name__)

BEEPS = {  # kind -> (on seconds, off seconds, count)
    "ok": (0.08, 0.05, 1),
    "error": (0.25, 0.1, 3),
    "attention": (0.1, 0.1, 2),
}


def _writable(directory: str) -> bool:
    """Can we create a file there?  (Tried, not os.access: root passes access() on read-only mounts.)"""
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def ensure_lgpio_workdir() -> str:
    """Point lgpio's notification pipes (``.lgd-nfy*``) at a writable directory before it loads.

    lgpio creates them in ``$LG_WD``, else in the working directory: ``kiosk doctor`` run from a
    directory the user cannot write then failed, and the message blamed the gpio group.  The unit
    sets ``LG_WD=/run/kiosk``; elsewhere a private directory under ``$XDG_RUNTIME_DIR`` or the
    temp directory is used.  Returns the directory.
    """
    current = os.environ.get("LG_WD") or os.getcwd()
    if _writable(current):
        return current
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not base or not _writable(base):
        base = tempfile.gettempdir()
    path = os.path.join(base, f"kiosk-lgpio-{os.getuid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.environ["LG_WD"] = path
    return path


def make_pin_factory(backend: str, chip: int = -1) -> Any:
    """The gpiozero pin factory for ``[gpio] backend``: "lgpio" (real pins) or "mock" (tests)."""
    if backend == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    if backend == "lgpio":
        workdir = ensure_lgpio_workdir()
        try:
            from gpiozero.pins.lgpio import LGPIOFactory

            return LGPIOFactory(chip=None if chip < 0 else chip)
        except ImportError as exc:
            raise HardwareError("gpiozero/lgpio are not installed (pip install libkiosk[pi], or apt "
                                "python3-lgpio with a --system-site-packages venv)") from exc
        except Exception as exc:   # lgpio.error, OSError: no /dev/gpiochipN or no permission
            if "nfy" in str(exc) or "notif" in str(exc).lower():
                raise HardwareError(f"lgpio cannot create its notification pipe in {workdir}: {exc}; "
                                    "set LG_WD to a directory the kiosk user can write") from exc
            raise HardwareError(f"cannot open the GPIO chip: {exc}; check [gpio] chip and that the "
                                "user is in group gpio") from exc
    raise HardwareError(f"[gpio] backend {backend!r}: expected lgpio or mock")


class GpioIndicators(Indicators):
    """LEDs (ready, busy, error) and a buzzer; a light whose pin is -1 is simply not fitted."""

    driver = "gpio"

    def __init__(self, pins: dict[str, int], buzzer_pin: int, pin_factory: Any) -> None:
        super().__init__()
        from gpiozero import LED, Buzzer

        self._leds: dict[str, Any] = {}
        self._buzzer = None
        try:
            for name, pin in pins.items():
                if pin >= 0:
                    self._leds[name] = LED(pin, pin_factory=pin_factory)
            if buzzer_pin >= 0:
                self._buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory)
        except Exception as exc:
            self._close()
            raise HardwareError(f"indicators: {exc}") from exc

    def set_light(self, name: str, state: str) -> None:
        if state not in self.STATES:
            raise ValueError(f"light state {state!r}: expected one of {self.STATES}")
        led = self._leds.get(name)
        if led is None:
            return
        if state == "on":
            led.on()
        elif state == "off":
            led.off()
        else:
            led.blink(on_time=0.5, off_time=0.5, background=True)

    def beep(self, kind: str = "ok") -> None:
        if self._buzzer is not None:
            on, off, n = BEEPS.get(kind, BEEPS["ok"])
            self._buzzer.beep(on_time=on, off_time=off, n=n, background=True)

    def _close(self) -> None:
        for dev in [*self._leds.values(), self._buzzer]:
            if dev is not None:
                dev.close()

    def describe(self) -> DeviceInfo:
        pins = ", ".join(f"{n}={d.pin}" for n, d in self._leds.items())
        return DeviceInfo(self.kind, self.driver, pins)


class GpioSlotSensor(SlotSensor):
    """The return-slot light barrier on one input pin (lgpio's stable-for-N-ms debounce)."""

    driver = "gpio"

    def __init__(self, pin: int, pin_factory: Any, active_low: bool = True, bounce_ms: int = 10) -> None:
        super().__init__()
        from gpiozero import DigitalInputDevice

        self.pin_number = pin
        try:
            self._dev = DigitalInputDevice(pin, pull_up=active_low,
                                           bounce_time=(bounce_ms / 1000) if bounce_ms > 0 else None,
                                           pin_factory=pin_factory)
        except Exception as exc:
            raise HardwareError(f"slot sensor on GPIO{pin}: {exc}") from exc

    def _start(self) -> None:
        # gpiozero calls these from its own callback thread
        self._dev.when_activated = lambda: self._fire("blocked")
        self._dev.when_deactivated = lambda: self._fire("cleared")

    @property
    def is_blocked(self) -> bool:
        return bool(self._dev.is_active)

    def _close(self) -> None:
        self._dev.close()

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, f"GPIO{self.pin_number}")


class GpioDoorLock(DoorLock):
    """A fail-secure lock switched by a MOSFET/relay on one output pin."""

    driver = "gpio"

    def __init__(self, pin: int, pin_factory: Any, active_high: bool = True, max_unlock_s: float = 10.0) -> None:
        super().__init__()
        from gpiozero import DigitalOutputDevice

        self.pin_number = pin
        self.max_unlock_s = max_unlock_s
        try:
            # initial_value=False: the lock is never energised, not even for a moment, at start
            self._dev = DigitalOutputDevice(pin, active_high=active_high, initial_value=False,
                                            pin_factory=pin_factory)
        except Exception as exc:
            raise HardwareError(f"door lock on GPIO{pin}: {exc}") from exc

    def _energise(self, on: bool) -> None:
        if on:
            self._dev.on()
        else:
            self._dev.off()

    def _close(self) -> None:
        try:
            self.lock()
        finally:
            self._dev.close()     # only our pin; the pull resistor keeps the lock unpowered

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, f"GPIO{self.pin_number}")


class AbsentSlotSensor(AbsentMixin, SlotSensor):
    """No light barrier fitted (``slot_pin = -1``) or GPIO failed: never blocked, never fires."""

    @property
    def is_blocked(self) -> bool:
        return False


class AbsentDoorLock(AbsentMixin, DoorLock):
    """No lock fitted (``lock_pin = -1``) or GPIO failed: unlocking is refused, the drop stays shut."""

    def unlock(self, seconds: float = 5.0) -> None:
        raise HardwareError(self.error or "no door lock is fitted ([gpio] lock_pin = -1)")

    def _energise(self, on: bool) -> None:
        pass
