"""Patron cards through the ``mfrc522`` package (0.0.7): ``[card_reader] driver = "mfrc522-package"``.

The default driver (:mod:`kiosk.hardware.mfrc522`) is our own port of the register protocol.
This backend lets the package's low-level ``MFRC522`` class do the chip I/O instead -- its
``MFRC522_Request``, ``MFRC522_Anticoll`` and ``MFRC522_ToCard`` -- and keeps only what the package
gets wrong (hardware-and-deployment.md 1.1) on our side:

* **no busy loop**: ``MFRC522_ToCard`` waits by re-reading CommIrqReg up to 2000 times and, through
  its ``~``-for-``not`` bug, never looks at the timer bit, so an empty field costs 2000 SPI reads per
  look.  :class:`SleepingSpi` sits between the class and ``spidev``: while an exchange runs it
  sleeps 2 ms between reads and, once the chip's own timer has expired, reports the exchange as
  over (Idle + Timer bits), which ``ToCard`` turns into ``MI_NOTAGERR`` as its authors intended.
  We never call the package's ``read()``/``read_id()`` loops; polling is our ``PollingThread``;
* **full UIDs**: the cascade for 7- and 10-byte UIDs is ours, on top of ``ToCard`` (the package
  stops at cascade level 1 and keeps the BCC byte in its "UID").  SELECT goes through ``ToCard``
  too: ``MFRC522_SelectTag`` returns 0 both for "failed" and for the valid SAK 0x00;
* **close only what we own**: the SPI device and our reset pin (``GPIO.cleanup(reset_pin)``), never
  ``Close_MFRC522()``, whose ``GPIO.cleanup()`` would reset every pin, the door lock included.

The package imports ``RPi.GPIO`` and ``spidev`` at import time, so it is imported inside the
constructor only.  On a Pi, ``RPi.GPIO`` comes from rpi-lgpio (the ``[pi]`` extra; works on Pi 4
and Pi 5) and the package is installed with ``pip install --no-deps`` (systemd/install.sh): its
declared RPi.GPIO dependency cannot share a venv with rpi-lgpio.  The reset pin is driven through
that RPi.GPIO API in BCM numbering, so ``reset_pin`` must be wired (with -1 the package would pick
BCM 15, the UART's RXD).  The IRQ pin is not used by this backend: it waits in 2 ms sleeps.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, NoReturn

from kiosk.errors import HardwareError
from kiosk.hardware import mfrc522 as m
from kiosk.hardware.base import CardReader

log = logging.getLogger(__name__)

_COMM_IRQ_READ = ((m.CommIrqReg << 1) & 0x7E) | 0x80     # first SPI byte of "read CommIrqReg"
_BIT_FRAMING_WRITE = (m.BitFramingReg << 1) & 0x7E       # first SPI byte of "write BitFramingReg"


class SleepingSpi:
    """The ``spidev.SpiDev`` the package's ``MFRC522`` talks through: its wait loop sleeps, and ends.

    An exchange runs from the write that sets StartSend (BitFramingReg bit 7) to the write that
    clears it; only CommIrqReg reads in that window wait.  Everything else passes straight through.
    """

    def __init__(self, spi: Any, step_s: float = m.WAIT_STEP_S, timeout_s: float = m.CHIP_TIMEOUT_S * 2) -> None:
        self.spi = spi
        self.step_s = step_s
        self.timeout_s = timeout_s
        self._sending = False

    def xfer2(self, data: list[int]) -> list[int]:
        if data[0] == _BIT_FRAMING_WRITE:
            self._sending = bool(data[1] & 0x80)
        if data[0] != _COMM_IRQ_READ or not self._sending:
            return self.spi.xfer2(data)
        deadline = time.monotonic() + self.timeout_s
        while True:
            answer = self.spi.xfer2(data)
            irq = answer[1]
            if irq & (m.IRQ_RX | m.IRQ_IDLE):
                return answer
            if irq & m.IRQ_TIMER or time.monotonic() > deadline:
                # nothing answered within the chip's timeout: end ToCard's loop (MI_NOTAGERR)
                return [answer[0], irq | m.IRQ_IDLE | m.IRQ_TIMER]
            time.sleep(self.step_s)

    def __getattr__(self, name: str) -> Any:      # close, max_speed_hz, mode ... of the real device
        return getattr(self.spi, name)


class PackageChip:
    """ISO 14443A card selection with the package's ``MFRC522`` doing every exchange.

    Same contract as :class:`kiosk.hardware.mfrc522.Mfrc522` for what the card reader uses:
    ``find_card()`` -> (UID, SAK) or None (raises :class:`~kiosk.hardware.mfrc522.Collision`),
    ``halt()`` and ``read(reg)``.
    """

    def __init__(self, pcd: Any) -> None:
        self.pcd = pcd
        self._lock = threading.Lock()

    def read(self, reg: int) -> int:
        with self._lock:
            return self.pcd.Read_MFRC522(reg)

    def _fail(self, status: int, invalid: str | None = None) -> NoReturn:
        """Why an exchange did not give MI_OK: the chip's ErrorReg tells a collision from silence."""
        error = self.pcd.Read_MFRC522(m.ErrorReg)
        if error & m.ERR_COLL:
            raise m.Collision("more than one card on the reader")
        if error & m.ERR_MASK:
            raise HardwareError(f"card reader: transmission error 0x{error:02X}")
        if invalid is None or status == self.pcd.MI_NOTAGERR:
            raise m.NoCard
        raise HardwareError(f"card reader: {invalid}")

    def _exchange(self, frame: bytes) -> bytes:
        """One whole-byte transceive through the package's ``MFRC522_ToCard``."""
        self.pcd.Write_MFRC522(m.BitFramingReg, 0x00)
        status, data, _bits = self.pcd.MFRC522_ToCard(self.pcd.PCD_TRANSCEIVE, list(frame))
        if status != self.pcd.MI_OK:
            self._fail(status, "no valid answer")
        return bytes(data)

    def _anticollision(self, sel: int) -> bytes:
        """The 4 UID bytes (or cascade tag + 3) and BCC at one cascade level, BCC checked."""
        if sel == m.CASCADE[0]:
            status, data = self.pcd.MFRC522_Anticoll()     # checks length and BCC itself
            if status != self.pcd.MI_OK:
                self._fail(status, "bad anticollision answer (length or BCC)")
            return bytes(data)
        answer = self._exchange(bytes([sel, 0x20]))
        if len(answer) != 5 or answer[0] ^ answer[1] ^ answer[2] ^ answer[3] != answer[4]:
            raise HardwareError("card reader: bad anticollision answer (length or BCC)")
        return answer

    def _select_uid(self) -> tuple[bytes, int]:
        uid = bytearray()
        for sel in m.CASCADE:
            answer = self._anticollision(sel)
            frame = bytes([sel, 0x70]) + answer
            sak_frame = self._exchange(frame + m.crc_a(frame))
            if len(sak_frame) != 3 or m.crc_a(sak_frame[:1]) != sak_frame[1:]:
                raise HardwareError("card reader: bad SELECT answer")
            sak = sak_frame[0]
            if answer[0] == m.CASCADE_TAG and sak & m.SAK_CASCADE_BIT:
                uid += answer[1:4]
                continue
            return bytes(uid + answer[0:4]), sak
        raise HardwareError("card reader: UID longer than three cascade levels")

    def find_card(self) -> tuple[bytes, int] | None:
        """One look at the field: WUPA (the package's REQALL, so a halted card answers too), select."""
        with self._lock:
            try:
                status, _bits = self.pcd.MFRC522_Request(self.pcd.PICC_REQALL)
                if status != self.pcd.MI_OK:
                    self._fail(status)
                return self._select_uid()
            except m.NoCard:
                return None

    def halt(self) -> None:
        frame = bytes([m.PICC_HALT, 0x00])
        with self._lock:
            try:
                self._exchange(frame + m.crc_a(frame))
            except m.NoCard:
                pass                  # HALT is answered by silence


def _load_package() -> tuple[Any, Any]:
    """(RPi.GPIO module, mfrc522.MFRC522 class), or a HardwareError saying how to install them."""
    try:
        import RPi.GPIO as GPIO
        from mfrc522 import MFRC522
    except (ImportError, RuntimeError) as exc:    # RuntimeError: RPi.GPIO off a Pi / on a Pi 5
        raise HardwareError(f"driver mfrc522-package: {exc}; install rpi-lgpio (pip install "
                            "libkiosk[pi]) and then pip install --no-deps mfrc522, or use "
                            "driver = \"mfrc522\"") from exc
    return GPIO, MFRC522


class Mfrc522PackageCardReader(m.Mfrc522CardReader):
    """Patron cards on an MFRC522 driven by the ``mfrc522`` package's ``MFRC522`` class.

    Polling, once-per-presentation reporting and collision handling are inherited from
    :class:`~kiosk.hardware.mfrc522.Mfrc522CardReader`; only the chip underneath differs.
    """

    driver = "mfrc522-package"

    def __init__(self, card_format: str = "hex", prefix: str = "", *, bus: int = 0, device: int = 0,
                 speed_hz: int = 1_000_000, reset_pin: int = 25, poll_interval: float = 0.2) -> None:
        CardReader.__init__(self, card_format, prefix)
        self.poll_interval = poll_interval
        self._silent = 0
        self._thread = None
        self.address = f"spidev{bus}.{device}"
        if reset_pin < 0:
            raise HardwareError("driver mfrc522-package needs [card_reader] reset_pin (BCM): with -1 the "
                                "mfrc522 package drives BCM 15, the UART's RXD")
        self.reset_pin = reset_pin
        self._gpio, pcd_class = _load_package()
        if self._gpio.getmode() not in (None, self._gpio.BCM):
            raise HardwareError("driver mfrc522-package: RPi.GPIO is already in BOARD numbering")
        pkg_log = logging.getLogger("mfrc522Logger")
        handlers = list(pkg_log.handlers)
        try:
            pcd = pcd_class(bus=bus, device=device, spd=speed_hz, pin_mode=self._gpio.BCM, pin_rst=reset_pin)
        except Exception as exc:   # OSError from spidev.open, lgpio errors from GPIO.setup
            self._gpio.cleanup(reset_pin)
            raise HardwareError(f"driver mfrc522-package on {self.address}, reset GPIO{reset_pin}: {exc}; "
                                "enable SPI (dtparam=spi=on), check groups spi and gpio") from exc
        finally:
            for handler in pkg_log.handlers[len(handlers):]:
                pkg_log.removeHandler(handler)   # it adds a StreamHandler per instance; ours is the app's
        self.spi = pcd.spi
        pcd.spi = SleepingSpi(pcd.spi)
        self.pcd = pcd
        self.chip = PackageChip(pcd)
        self.version = self.chip.read(m.VersionReg)
        if self.version in (0x00, 0xFF):
            self._release()
            raise HardwareError(f"no MFRC522 answers on {self.address} (version 0x{self.version:02X}); "
                                "check wiring and SPI")

    def _release(self) -> None:
        """The SPI device and our reset pin, never the package's Close_MFRC522 (GPIO.cleanup())."""
        try:
            self.spi.close()
        except Exception:
            log.debug("closing SPI failed", exc_info=True)
        try:
            self._gpio.cleanup(self.reset_pin)
        except Exception:
            log.debug("releasing the reset pin failed", exc_info=True)
