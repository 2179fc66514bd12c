"""ESC/POS receipt printer over python-escpos: serial (any pyserial URL) or USB.

The layout (:func:`render_receipt`) is written against python-escpos's ``Escpos`` API, so the
same code feeds a real printer and the ``Dummy`` printer of the simulated twin.  Transport:

* ``serial:///dev/ttyUSB0?baudrate=19200`` or any pyserial URL (``socket://host:9100``,
  ``loop://``, a pty path) -- our own small ``Escpos`` subclass on ``serial.serial_for_url``, so
  tests can attach a fake printer on a pty;
* ``usb://04b8:0e15`` -- python-escpos's ``Usb`` printer (pyusb), vendor:product in hex.

Paper status is read with ``DLE EOT 4`` and checked the way python-escpos PR #711 does: a valid
status byte has the form ``0xx1xx10b``; an empty or malformed reply means "unknown", which we
treat as not ready (hardware-and-deployment.md 3.2).  Printing happens after the loan is recorded
and on a worker thread; every failure becomes :class:`HardwareError`, so a printer fault can
never block a loan.
"""

from __future__ import annotations

import logging
import textwrap
import threading
from typing import Any

from kiosk.errors import HardwareError
from kiosk.hardware.base import ReceiptPrinter
from kiosk.hardware.records import DeviceInfo, PrinterStatus, Receipt

log = logging.getLogger(__name__)

DLE_EOT_PAPER = b"\x10\x04\x04"     # ESC/POS real-time status, paper sensor (RT_STATUS_PAPER)
PAPER_NEAR_END = 0x0C               # bits 2-3: roll near-end sensor
PAPER_OUT = 0x60                    # bits 5-6: roll end sensor


def parse_paper_status(reply: bytes) -> PrinterStatus:
    """Interpret the reply to DLE EOT 4 (fixed bits: bit 1 and 4 set, bits 0 and 7 clear)."""
    if not reply:
        return PrinterStatus(ok=False, detail="printer did not answer the status query")
    b = reply[-1]
    if b & 0x93 != 0x12:
        return PrinterStatus(ok=False, detail=f"printer sent an invalid status byte 0x{b:02X}")
    if b & PAPER_OUT:
        return PrinterStatus(ok=False, paper_out=True, detail="paper out")
    if b & PAPER_NEAR_END:
        return PrinterStatus(ok=True, paper_low=True, detail="paper low")
    return PrinterStatus(ok=True, detail="ok")


def render_receipt(p: Any, receipt: Receipt, width: int = 42) -> None:
    """Lay out a receipt on an ``escpos.Escpos`` printer (real, or ``Dummy`` in tests)."""
    p.hw("INIT")
    p.set(align="center", bold=True, double_height=True)
    p.textln(receipt.library_name[:width])
    p.set(align="center", normal_textsize=True, bold=False)
    if receipt.title:
        p.textln(receipt.title[:width])
    if receipt.date is not None:
        p.textln(receipt.date.strftime("%Y-%m-%d %H:%M"))
    p.set(align="left", normal_textsize=True, bold=False)
    p.textln("-" * width)
    for line in receipt.lines:
        for part in textwrap.wrap(line, width) or [""]:
            p.textln(part)
    if receipt.footer:
        p.textln("-" * width)
        p.set(align="center", normal_textsize=True)
        for part in textwrap.wrap(receipt.footer, width):
            p.textln(part)
    p.cut()


def _serial_printer_class() -> type:
    from escpos.escpos import Escpos

    class SerialUrlPrinter(Escpos):
        """python-escpos transport over ``serial.serial_for_url`` (any pyserial URL)."""

        def __init__(self, url: str, baudrate: int, timeout: float, **kw: Any) -> None:
            super().__init__(**kw)
            self.url, self.baudrate, self.timeout = url, baudrate, timeout
            self.port = None

        def open(self) -> None:
            import serial

            try:
                self.port = serial.serial_for_url(self.url, baudrate=self.baudrate,
                                                  timeout=self.timeout, write_timeout=self.timeout)
            except (serial.SerialException, ValueError, OSError) as exc:
                raise HardwareError(f"printer: cannot open {self.url}: {exc}") from exc

        def _raw(self, msg: bytes) -> None:
            if self.port is None:
                self.open()
            self.port.write(msg)

        def _read(self) -> bytes:
            if self.port is None:
                self.open()
            return self.port.read(1)

        def close(self) -> None:
            if self.port is not None:
                try:
                    self.port.close()
                finally:
                    self.port = None

    return SerialUrlPrinter


class EscposPrinter(ReceiptPrinter):
    """A real ESC/POS printer (see the module docstring for ``url`` forms)."""

    driver = "escpos"

    def __init__(self, url: str, width: int = 42, baudrate: int = 19200, timeout: float = 2.0,
                 profile: str = "", status_query: bool = True) -> None:
        super().__init__()
        self.url, self.width, self.status_query = url, width, status_query
        kw: dict[str, Any] = {"profile": profile} if profile else {}
        if url.startswith("usb://"):
            from escpos.printer import Usb

            try:
                vendor, product = (int(x, 16) for x in url[len("usb://"):].split(":"))
            except ValueError as exc:
                raise HardwareError(f"printer url {url!r}: expected usb://VVVV:PPPP (hex ids)") from exc
            self._p = Usb(vendor, product, timeout=int(timeout * 1000), **kw)
        else:
            path = url[len("serial://"):] if url.startswith("serial://") else url
            self._p = _serial_printer_class()(path, baudrate, timeout, **kw)
        self._io_lock = threading.Lock()

    def status(self) -> PrinterStatus:
        if not self.status_query:
            return PrinterStatus(ok=True, detail="status not queried (status_query = false)")
        with self._io_lock:
            try:
                self._p._raw(DLE_EOT_PAPER)
                reply = self._p._read()
            except Exception as exc:
                return PrinterStatus(ok=False, detail=f"printer not reachable: {exc}")
        return parse_paper_status(bytes(reply or b""))

    def _print(self, receipt: Receipt) -> None:
        with self._io_lock:
            render_receipt(self._p, receipt, self.width)

    def check(self) -> str:
        st = self.status()
        if not st.ok:
            raise HardwareError(st.detail)
        return st.detail

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, self.url)

    def _close(self) -> None:
        with self._io_lock:
            try:
                self._p.close()
            except Exception:
                log.debug("printer close failed", exc_info=True)
