"""Barcode scanner drivers: USB-CDC/serial mode (pyserial) and HID keyboard-wedge (evdev).

Serial mode is the safe default: the scanner is a serial line, not a keyboard, so nothing it
sends can reach a shell or the UI (BadBarcode, hardware-and-deployment.md 3.1).  A keyboard-wedge
scanner is read from its ``/dev/input`` node with python-evdev and **grabbed exclusively**
(``EVIOCGRAB``): its key presses go to us only, never to Kivy or a console.  Either way the raw
characters go through :class:`~kiosk.hardware.scanner_filter.ScanFilter` (control characters
dropped, whole-code pattern check) before ``when_scan`` fires.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kiosk.errors import HardwareError
from kiosk.hardware.base import BarcodeScanner
from kiosk.hardware.records import DeviceInfo

log = logging.getLogger(__name__)


class SerialScanner(BarcodeScanner):
    """A scanner in USB-CDC ("virtual COM port") or RS-232 mode, CR or CR LF terminated."""

    driver = "serial"

    def __init__(self, port: str, baudrate: int = 9600, pattern: str = r"[0-9A-Za-z\-]{1,32}") -> None:
        super().__init__(pattern)
        import serial

        self.port_url = port
        try:
            # timeout: read() returns at least every 0.5 s so close() is noticed; it blocks in
            # the kernel meanwhile (no polling)
            self._serial = serial.serial_for_url(port, baudrate=baudrate, timeout=0.5)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise HardwareError(f"scanner: cannot open {port}: {exc}") from exc
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scanner-serial", daemon=True)

    def _run(self) -> None:
        import serial

        while not self._stop.is_set():
            try:
                data = self._serial.read(self._serial.in_waiting or 1)
            except (serial.SerialException, OSError, TypeError) as exc:
                if not self._stop.is_set():
                    log.warning("scanner on %s: %s", self.port_url, exc)
                    self._stop.wait(2.0)
                continue
            if data:
                self._feed(data.decode("latin-1"))

    def _start(self) -> None:
        self._thread.start()

    def _close(self) -> None:
        self._stop.set()
        try:
            self._serial.cancel_read()
        except Exception:
            pass
        if self._thread.is_alive():
            self._thread.join(2)
        self._serial.close()

    def check(self) -> str:
        if not self._serial.is_open:
            raise HardwareError(f"scanner port {self.port_url} is closed")
        return f"serial port {self.port_url} open"

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, self.port_url)


# US keyboard layout (configure the scanner for US): evdev key name -> (plain, shifted)
_KEYS: dict[str, tuple[str, str]] = {
    **{f"KEY_{d}": (d, ")!@#$%^&*("[int(d)]) for d in "0123456789"},
    **{f"KEY_{c}": (c.lower(), c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    "KEY_MINUS": ("-", "_"), "KEY_EQUAL": ("=", "+"), "KEY_SPACE": (" ", " "),
    "KEY_DOT": (".", ">"), "KEY_COMMA": (",", "<"), "KEY_SLASH": ("/", "?"),
    "KEY_SEMICOLON": (";", ":"), "KEY_APOSTROPHE": ("'", '"'), "KEY_LEFTBRACE": ("[", "{"),
    "KEY_RIGHTBRACE": ("]", "}"), "KEY_BACKSLASH": ("\\", "|"), "KEY_GRAVE": ("`", "~"),
    "KEY_ENTER": ("\r", "\r"), "KEY_KPENTER": ("\r", "\r"), "KEY_TAB": ("\t", "\t"),
}
_SHIFT = ("KEY_LEFTSHIFT", "KEY_RIGHTSHIFT")
_CTRL_ALT = ("KEY_LEFTCTRL", "KEY_RIGHTCTRL", "KEY_LEFTALT", "KEY_RIGHTALT", "KEY_LEFTMETA", "KEY_RIGHTMETA")


class KeyDecoder:
    """Turns key events (name, value: 1 down, 0 up, 2 repeat) into characters (pure).

    Keys pressed while Ctrl, Alt or Meta is held produce nothing: a barcode that types Ctrl-Alt-T
    must not become text either.
    """

    def __init__(self) -> None:
        self.shift = False
        self.modifier = False

    def key(self, name: str, value: int) -> str:
        if not isinstance(name, str):   # an event without a key name (unknown code): nothing
            return ""
        if name in _SHIFT:
            self.shift = value != 0
            return ""
        if name in _CTRL_ALT:
            self.modifier = value != 0
            return ""
        if value != 1 or self.modifier:
            return ""
        pair = _KEYS.get(name)
        return pair[1 if self.shift else 0] if pair else ""


class HidScanner(BarcodeScanner):
    """A keyboard-wedge scanner read with python-evdev and grabbed exclusively."""

    driver = "hid"

    def __init__(self, device: str, pattern: str = r"[0-9A-Za-z\-]{1,32}", input_device: Any = None) -> None:
        super().__init__(pattern)
        self.path = device
        if input_device is None:
            if not device:
                raise HardwareError("scanner: [scanner] device is empty (e.g. /dev/input/by-id/...-event-kbd)")
            try:
                import evdev
            except ImportError as exc:
                raise HardwareError("python-evdev is not installed (pip install libkiosk[pi])") from exc
            try:
                input_device = evdev.InputDevice(device)
            except OSError as exc:
                raise HardwareError(f"scanner: cannot open {device}: {exc}; is the user in group input?") from exc
        self._dev = input_device
        try:
            self._dev.grab()      # EVIOCGRAB: nobody else (Kivy, a console) sees these keys
        except OSError as exc:
            raise HardwareError(f"scanner: cannot grab {device} exclusively: {exc}") from exc
        self._decoder = KeyDecoder()
        self._thread = threading.Thread(target=self._run, name="scanner-hid", daemon=True)
        self._closing = False

    def _run(self) -> None:
        try:
            from evdev import ecodes
        except ImportError:      # an injected test device brings its own names
            ecodes = None
        try:
            for event in self._dev.read_loop():     # blocks in the kernel between key presses
                if self._closing:
                    return
                if event.type != (ecodes.EV_KEY if ecodes else 1):
                    continue
                try:
                    # .get: a key code evdev has no name for (a vendor key, a newer kernel) is
                    # ignored; KEY[code] raised KeyError and ended this thread -- a dead scanner.
                    name = ecodes.KEY.get(event.code) if ecodes else event.code
                    if isinstance(name, list | tuple):
                        name = name[0] if name else None
                    ch = self._decoder.key(name, event.value) if isinstance(name, str) else ""
                except Exception:   # one odd event never stops the scanner
                    log.warning("scanner %s: ignored an undecodable key event", self.path, exc_info=True)
                    continue
                if ch:
                    self._feed(ch)
        except OSError as exc:
            if not self._closing:
                log.warning("scanner %s stopped: %s", self.path, exc)

    def _start(self) -> None:
        self._thread.start()

    def _close(self) -> None:
        self._closing = True
        try:
            self._dev.ungrab()
        except OSError:
            pass
        try:
            self._dev.close()
        except OSError:
            pass

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, self.path)
