"""ESC/POS receipt printer: byte-exact output captured from a fake printer on a pty."""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from datetime import datetime

import pytest

from kiosk.errors import HardwareError
from kiosk.hardware.printer import EscposPrinter, parse_paper_status
from kiosk.hardware.records import Receipt
from kiosk.hardware.sim import SimPrinter

ESC, GS, DLE, EOT = b"\x1b", b"\x1d", b"\x10", b"\x04"
PAPER_OK, PAPER_LOW, PAPER_OUT = 0x12, 0x1E, 0x72      # DLE EOT 4 replies (0xx1xx10b)


class FakeEscposPrinter:
    """A thermal printer on a pty: records every byte, answers DLE EOT 4 with ``paper``."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.received = bytearray()
        self.paper: int | None = PAPER_OK        # None: never answers
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            self.received += chunk
            if DLE + EOT + b"\x04" in bytes(self.received[-len(chunk) - 2:]) and self.paper is not None:
                os.write(self.master, bytes([self.paper]))

    def printed(self) -> bytes:
        """What was sent, without the status queries."""
        time.sleep(0.1)
        return bytes(self.received).replace(DLE + EOT + b"\x04", b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        os.close(self.master)
        os.close(self.slave)


RECEIPT = Receipt(library_name="Town Library", title="Loans", date=datetime(2026, 11, 29, 14, 5),
                  lines=("The Hobbit  due 2026-12-20",), footer="Thank you")

# The receipt above, laid out by render_receipt via python-escpos 3.1: every byte accounted for.
EXPECTED = (
    ESC + b"@"                                                    # initialise
    + ESC + b"!\x00" + ESC + b"!\x00" + ESC + b"!\x10"           # double height
    + ESC + b"E\x01" + ESC + b"a\x01" + ESC + b"t\x00" + b"Town Library\n"   # bold, centred, CP437
    + ESC + b"!\x00" + ESC + b"!\x00" + ESC + b"!\x00" + ESC + b"E\x00" + ESC + b"a\x01"
    + b"Loans\n2026-11-29 14:05\n"
    + ESC + b"!\x00" + ESC + b"!\x00" + ESC + b"!\x00" + ESC + b"E\x00" + ESC + b"a\x00"
    + b"-" * 42 + b"\nThe Hobbit  due 2026-12-20\n" + b"-" * 42 + b"\n"
    + ESC + b"!\x00" + ESC + b"!\x00" + ESC + b"!\x00" + ESC + b"a\x01"
    + b"Thank you\n"
    + ESC + b"d\x06" + GS + b"V\x00"                              # feed 6 lines, full cut
)


@pytest.fixture
def fake():
    f = FakeEscposPrinter()
    yield f
    f.close()


def test_receipt_bytes_exact(fake):
    printer = EscposPrinter(fake.port, width=42, timeout=0.5)
    printer.print_receipt(RECEIPT)
    printer.close()
    assert fake.printed() == EXPECTED


def test_sim_twin_produces_the_same_bytes():
    sim = SimPrinter(width=42)
    sim.print_receipt(RECEIPT)
    assert sim.output == EXPECTED and sim.receipts == [RECEIPT]


def test_paper_status(fake):
    printer = EscposPrinter(fake.port, timeout=0.3)
    assert printer.status().ok and not printer.status().paper_low
    fake.paper = PAPER_LOW
    st = printer.status()
    assert st.ok and st.paper_low
    fake.paper = PAPER_OUT
    st = printer.status()
    assert not st.ok and st.paper_out
    printer.close()


def test_paper_out_refuses_to_print_and_sends_nothing(fake):
    fake.paper = PAPER_OUT
    printer = EscposPrinter(fake.port, timeout=0.3)
    with pytest.raises(HardwareError, match="paper out"):
        printer.print_receipt(RECEIPT)
    printer.close()
    assert fake.printed() == b""


def test_silent_printer_is_not_ready_and_does_not_hang(fake):
    fake.paper = None
    printer = EscposPrinter(fake.port, timeout=0.3)
    start = time.monotonic()
    st = printer.status()
    assert not st.ok and "did not answer" in st.detail
    assert time.monotonic() - start < 2
    printer.status_query = False                # for printers that never answer
    printer.print_receipt(RECEIPT)
    printer.close()
    assert fake.printed() == EXPECTED


def test_unreachable_printer_raises_hardware_error_only():
    printer = EscposPrinter("/dev/no-such-printer", timeout=0.2)
    assert not printer.status().ok
    with pytest.raises(HardwareError):
        printer.print_receipt(RECEIPT)
    printer.status_query = False
    with pytest.raises(HardwareError):
        printer.print_receipt(RECEIPT)


@pytest.mark.parametrize("reply, ok, low, out", [
    (b"\x12", True, False, False), (b"\x1e", True, True, False), (b"\x72", False, False, True),
    (b"", False, False, False), (b"\xff", False, False, False), (b"\x00", False, False, False),
])
def test_parse_paper_status(reply, ok, low, out):
    st = parse_paper_status(reply)
    assert (st.ok, st.paper_low, st.paper_out) == (ok, low, out)


def test_usb_url_is_validated():
    with pytest.raises(HardwareError, match="usb://VVVV:PPPP"):
        EscposPrinter("usb://epson")
