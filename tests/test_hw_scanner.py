"""Barcode scanners: input filtering, a serial scanner on a pty, a grabbed HID scanner."""

from __future__ import annotations

import os
import queue
import threading
import tty
from types import SimpleNamespace

import pytest

from kiosk.errors import ConfigError, HardwareError
from kiosk.hardware.scanner import HidScanner, KeyDecoder, SerialScanner
from kiosk.hardware.scanner_filter import ScanFilter


def codes(f: ScanFilter, text: str) -> list[tuple[str, bool]]:
    return list(f.feed(text))


def test_filter_splits_checks_and_strips_control_characters():
    f = ScanFilter(r"[0-9]{8,14}")
    assert codes(f, "31234567\r") == [("31234567", True)]
    assert codes(f, "3123\x1b[A4567\r\n") == [("3123[A4567", False)]     # ESC dropped, rest refused
    assert codes(f, "\x03\x1a12345678\t") == [("12345678", True)]       # Ctrl-C, Ctrl-Z never pass
    assert codes(f, "123") == [] and codes(f, "45678\r") == [("12345678", True)]   # split reads
    assert codes(f, "abc\r") == [("abc", False)]
    assert codes(f, "\r\n\r") == []


def test_filter_refuses_overlong_codes():
    f = ScanFilter(r".*")
    assert codes(f, "9" * 500 + "\r") == [("9" * 64, False)]


def test_bad_pattern_is_a_config_error():
    with pytest.raises(ConfigError, match="pattern"):
        ScanFilter("([")


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_serial_scanner(pty_pair):
    master, port = pty_pair
    scanner = SerialScanner(port, pattern=r"[0-9]{6,14}")
    got: queue.Queue = queue.Queue()
    scanner.when_scan = lambda code: got.put(("scan", code, threading.current_thread().name))
    scanner.when_rejected = lambda code: got.put(("rejected", code, threading.current_thread().name))
    scanner.start()
    os.write(master, b"12345678\r\nDROP TABLE\r\x1b[1;5A000123\r")
    assert got.get(timeout=3) == ("scan", "12345678", "scanner-serial")
    assert got.get(timeout=3)[:2] == ("rejected", "DROP TABLE")
    assert got.get(timeout=3)[:2] == ("rejected", "[1;5A000123")
    assert port in scanner.check()
    scanner.close()
    assert scanner.closed


def test_serial_scanner_missing_port():
    with pytest.raises(HardwareError, match="cannot open"):
        SerialScanner("/dev/no-such-scanner")


def test_key_decoder_us_layout_and_modifiers():
    d = KeyDecoder()
    seq = [("KEY_LEFTSHIFT", 1), ("KEY_A", 1), ("KEY_A", 0), ("KEY_LEFTSHIFT", 0), ("KEY_B", 1),
           ("KEY_1", 1), ("KEY_1", 2), ("KEY_LEFTCTRL", 1), ("KEY_T", 1), ("KEY_LEFTCTRL", 0),
           ("KEY_MINUS", 1), ("KEY_ENTER", 1), ("KEY_F1", 1)]
    assert "".join(d.key(n, v) for n, v in seq) == "Ab1-\r"


class FakeInputDevice:
    """python-evdev's InputDevice API: grab/ungrab/read_loop/close."""

    def __init__(self, events):
        self.events = events
        self.grabbed = False
        self.released = threading.Event()

    def grab(self):
        self.grabbed = True

    def ungrab(self):
        self.grabbed = False
        self.released.set()

    def read_loop(self):
        yield from self.events
        self.released.wait(5)

    def close(self):
        self.released.set()


def key_events(text: str):
    for ch in text:
        name = {"\r": "KEY_ENTER", "-": "KEY_MINUS"}.get(ch, f"KEY_{ch.upper()}")
        if ch.isupper():
            yield SimpleNamespace(type=1, code="KEY_LEFTSHIFT", value=1)
        yield SimpleNamespace(type=1, code=name, value=1)
        yield SimpleNamespace(type=1, code=name, value=0)
        if ch.isupper():
            yield SimpleNamespace(type=1, code="KEY_LEFTSHIFT", value=0)


def test_hid_scanner_is_grabbed_and_decoded():
    dev = FakeInputDevice(list(key_events("Ab-123\r")) + [SimpleNamespace(type=1, code="KEY_LEFTCTRL", value=1)]
                          + list(key_events("t\r")))
    scanner = HidScanner("", input_device=dev)
    assert dev.grabbed                      # exclusive: Kivy and the console never see the keys
    got: queue.Queue = queue.Queue()
    scanner.when_scan = got.put
    scanner.when_rejected = lambda c: got.put(("rejected", c))
    scanner.start()
    assert got.get(timeout=3) == "Ab-123"
    scanner.close()
    assert not dev.grabbed
    assert got.empty()                      # Ctrl-T produced nothing at all


def test_hid_scanner_needs_a_device():
    with pytest.raises(HardwareError, match="device is empty"):
        HidScanner("")
