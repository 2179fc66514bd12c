"""Patron-card reader: an NXP MFRC522 on SPI, ISO 14443A only.

Why our own port of the register protocol rather than the ``mfrc522`` package (0.0.7):
that package busy-waits (~100 % of a core), returns a 5-byte "UID" that includes the BCC
check byte, stops at cascade level 1 (7-byte UIDs collide), calls ``GPIO.cleanup()`` on every
pin (the door lock included), and hard-depends on RPi.GPIO, which does not run on a Pi 5
(hardware-and-deployment.md 1.1).  This module speaks the same register protocol as its
``MFRC522`` class -- ``Request``, ``Anticoll``, ``SelectTag``, ``ToCard`` over ``spidev.xfer2`` --
with these differences:

* waiting for the chip sleeps (2 ms steps, or the IRQ pin when wired): never a busy loop;
* full cascade: 4-, 7- and 10-byte UIDs, BCC checked and never part of the UID;
* a card is reported once per presentation (WUPA + HALT; removal = two silent polls);
* only our own reset/IRQ pins are touched (gpiozero devices closed individually).

The MFRC522 cannot read ISO 15693 library item tags (its datasheet covers ISO 14443A/MIFARE
only); :class:`Mfrc522TagReader` is for libraries that tag items with ISO 14443 (NTAG) tags.
``spidev`` and gpiozero's factories are imported inside constructors only.

``[card_reader] driver = "mfrc522-package"`` (:mod:`kiosk.hardware.mfrc522_package`) runs the same
card reader with the package's ``MFRC522`` class doing the chip I/O, with the fixes above kept.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kiosk.errors import HardwareError
from kiosk.hardware.base import CardReader
from kiosk.hardware.records import DeviceInfo
from kiosk.hardware.tag_reader import TagReader
from kiosk.hardware.threads import PollingThread

log = logging.getLogger(__name__)

# Registers (MFRC522 datasheet, section 9; same names as the mfrc522 package)
CommandReg, CommIEnReg, CommIrqReg, DivIrqReg = 0x01, 0x02, 0x04, 0x05
ErrorReg, FIFODataReg, FIFOLevelReg, ControlReg = 0x06, 0x09, 0x0A, 0x0C
BitFramingReg, CollReg, ModeReg, TxControlReg, TxASKReg = 0x0D, 0x0E, 0x11, 0x14, 0x15
TModeReg, TPrescalerReg, TReloadRegH, TReloadRegL, VersionReg = 0x2A, 0x2B, 0x2C, 0x2D, 0x37

PCD_IDLE, PCD_TRANSCEIVE, PCD_RESETPHASE = 0x00, 0x0C, 0x0F
PICC_REQA, PICC_WUPA, PICC_HALT, PICC_READ = 0x26, 0x52, 0x50, 0x30
CASCADE = (0x93, 0x95, 0x97)          # SEL codes of cascade levels 1, 2, 3
CASCADE_TAG = 0x88
SAK_CASCADE_BIT = 0x04

IRQ_TIMER, IRQ_IDLE, IRQ_RX = 0x01, 0x10, 0x20
ERR_MASK = 0x1B                       # BufferOvfl | CollErr | ParityErr | ProtocolErr
ERR_COLL = 0x08

#: the chip's own timeout for one exchange (TPrescaler 0x3E, TReload 30: ~25 ms)
CHIP_TIMEOUT_S = 0.025
WAIT_STEP_S = 0.002


class NoCard(Exception):
    """Nothing answered (the chip's timer expired)."""


class Collision(HardwareError):
    """More than one card answered at once."""


def crc_a(data: bytes) -> bytes:
    """ISO/IEC 14443-3 CRC_A: reflected CCITT (0x8408), init 0x6363, appended LSB first."""
    crc = 0x6363
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


class Mfrc522:
    """The chip: register access and ISO 14443A commands over an ``xfer2``-capable SPI object."""

    def __init__(self, spi: Any, irq_event: threading.Event | None = None) -> None:
        self.spi = spi
        self.irq_event = irq_event
        self._lock = threading.Lock()

    # -- registers ---------------------------------------------------------------------------
    def write(self, reg: int, value: int) -> None:
        self.spi.xfer2([(reg << 1) & 0x7E, value & 0xFF])

    def read(self, reg: int) -> int:
        return self.spi.xfer2([((reg << 1) & 0x7E) | 0x80, 0])[1]

    def set_bits(self, reg: int, mask: int) -> None:
        self.write(reg, self.read(reg) | mask)

    def clear_bits(self, reg: int, mask: int) -> None:
        self.write(reg, self.read(reg) & ~mask)

    def init(self) -> int:
        """Soft reset and the register set-up of the mfrc522 package; returns the chip version."""
        self.write(CommandReg, PCD_RESETPHASE)
        time.sleep(0.05)
        self.write(TModeReg, 0x8D)
        self.write(TPrescalerReg, 0x3E)
        self.write(TReloadRegL, 30)
        self.write(TReloadRegH, 0)
        self.write(TxASKReg, 0x40)       # force 100 % ASK
        self.write(ModeReg, 0x3D)        # CRC preset 0x6363
        if not self.read(TxControlReg) & 0x03:
            self.set_bits(TxControlReg, 0x03)   # antenna on
        return self.read(VersionReg)

    # -- one exchange ------------------------------------------------------------------------
    def transceive(self, data: bytes, tx_last_bits: int = 0) -> tuple[bytes, int]:
        """Send ``data`` and return (answer bytes, valid bits in the last byte; 0 = all 8)."""
        with self._lock:
            self.write(CommIEnReg, 0x77 | 0x80)   # IRQ pin: Tx, Rx, Idle, LoAlert, Err, Timer
            self.clear_bits(CommIrqReg, 0x80)      # Set1=0: clear every pending IRQ bit
            self.set_bits(FIFOLevelReg, 0x80)      # flush FIFO
            self.write(CommandReg, PCD_IDLE)
            for byte in data:
                self.write(FIFODataReg, byte)
            self.write(CommandReg, PCD_TRANSCEIVE)
            if self.irq_event is not None:
                self.irq_event.clear()
            self.write(BitFramingReg, 0x80 | (tx_last_bits & 0x07))   # StartSend
            irq = self._wait()
            self.clear_bits(BitFramingReg, 0x80)
            if not irq & (IRQ_RX | IRQ_IDLE):
                raise NoCard
            error = self.read(ErrorReg)
            if error & ERR_COLL:
                raise Collision("more than one card on the reader")
            if error & ERR_MASK:
                raise HardwareError(f"card reader: transmission error 0x{error:02X}")
            if irq & IRQ_TIMER and not irq & IRQ_RX:
                raise NoCard
            n = self.read(FIFOLevelReg)
            last_bits = self.read(ControlReg) & 0x07
            return bytes(self.read(FIFODataReg) for _ in range(n)), last_bits

    def _wait(self) -> int:
        """Wait for Rx/Idle/Timer without spinning: the IRQ pin when wired, else 2 ms sleeps."""
        deadline = time.monotonic() + CHIP_TIMEOUT_S * 2
        while True:
            irq = self.read(CommIrqReg)
            if irq & (IRQ_RX | IRQ_IDLE | IRQ_TIMER) or time.monotonic() > deadline:
                return irq
            if self.irq_event is not None:
                self.irq_event.wait(CHIP_TIMEOUT_S)
                self.irq_event.clear()
            else:
                time.sleep(WAIT_STEP_S)

    # -- ISO 14443A ----------------------------------------------------------------------------
    def wake(self) -> bytes:
        """WUPA (reaches halted cards too, so a card left on the reader stays visible): ATQA."""
        answer, _ = self.transceive(bytes([PICC_WUPA]), tx_last_bits=7)
        if len(answer) != 2:
            raise HardwareError(f"card reader: ATQA of {len(answer)} bytes")
        return answer

    def select_uid(self) -> tuple[bytes, int]:
        """Anticollision + select through every cascade level; returns (UID, SAK)."""
        uid = bytearray()
        for sel in CASCADE:
            answer, _ = self.transceive(bytes([sel, 0x20]))
            if len(answer) != 5:
                raise HardwareError(f"card reader: anticollision answer of {len(answer)} bytes")
            if answer[0] ^ answer[1] ^ answer[2] ^ answer[3] != answer[4]:
                raise HardwareError("card reader: UID check byte (BCC) mismatch")
            frame = bytes([sel, 0x70]) + answer
            sak_frame, _ = self.transceive(frame + crc_a(frame))
            if len(sak_frame) != 3 or crc_a(sak_frame[:1]) != sak_frame[1:]:
                raise HardwareError("card reader: bad SELECT answer")
            sak = sak_frame[0]
            if answer[0] == CASCADE_TAG and sak & SAK_CASCADE_BIT:
                uid += answer[1:4]
                continue
            uid += answer[0:4]
            return bytes(uid), sak
        raise HardwareError("card reader: UID longer than three cascade levels")

    def halt(self) -> None:
        frame = bytes([PICC_HALT, 0x00])
        try:
            self.transceive(frame + crc_a(frame))
        except NoCard:
            pass              # HALT is answered by silence

    def read_pages(self, page: int) -> bytes:
        """NTAG/Ultralight READ: 16 bytes (4 pages) from ``page``."""
        frame = bytes([PICC_READ, page])
        answer, _ = self.transceive(frame + crc_a(frame))
        if len(answer) != 18 or crc_a(answer[:16]) != answer[16:]:
            raise HardwareError(f"tag read of page {page} failed")
        return answer[:16]

    def find_card(self) -> tuple[bytes, int] | None:
        """One look at the field: the selected card's (UID, SAK), or None."""
        try:
            self.wake()
            return self.select_uid()
        except NoCard:
            return None


def _open_spi(bus: int, device: int, speed_hz: int) -> Any:
    try:
        import spidev
    except ImportError as exc:
        raise HardwareError("spidev is not installed (pip install libkiosk[pi]); "
                            "or use driver = \"sim\"") from exc
    spi = spidev.SpiDev()
    try:
        spi.open(bus, device)
    except OSError as exc:
        raise HardwareError(f"cannot open /dev/spidev{bus}.{device}: {exc}; "
                            "enable SPI (dtparam=spi=on) and add the user to group spi") from exc
    spi.max_speed_hz = speed_hz
    spi.mode = 0
    return spi


class _Mfrc522Device:
    """Shared set-up: SPI, our own reset and IRQ pins (gpiozero devices), chip init."""

    def _setup(self, spi: Any, bus: int, device: int, speed_hz: int, reset_pin: int,
               irq_pin: int, pin_factory: Any) -> None:
        self._pins: list[Any] = []
        self.spi = spi if spi is not None else _open_spi(bus, device, speed_hz)
        self.address = f"spidev{bus}.{device}"
        irq_event = None
        if reset_pin >= 0 or irq_pin >= 0:
            from gpiozero import DigitalInputDevice, DigitalOutputDevice

            if reset_pin >= 0:   # RST high = chip running (low holds it in hard power-down)
                self._pins.append(DigitalOutputDevice(reset_pin, initial_value=True,
                                                      pin_factory=pin_factory))
            if irq_pin >= 0:
                irq_event = threading.Event()
                # CommIEnReg IRqInv=1 makes the IRQ output active low; with the pull-up,
                # "activated" means the chip raised an interrupt
                irq = DigitalInputDevice(irq_pin, pull_up=True, pin_factory=pin_factory)
                irq.when_activated = irq_event.set
                self._pins.append(irq)
        self.chip = Mfrc522(self.spi, irq_event)
        self.version = self.chip.init()
        if self.version in (0x00, 0xFF):
            raise HardwareError(f"no MFRC522 answers on {self.address} (version 0x{self.version:02X}); "
                                "check wiring and SPI")

    def _release(self) -> None:
        for pin in self._pins:      # only our own pins: never a global GPIO cleanup
            try:
                pin.close()
            except Exception:
                log.debug("closing a pin failed", exc_info=True)
        try:
            self.spi.close()
        except Exception:
            log.debug("closing SPI failed", exc_info=True)


class Mfrc522CardReader(_Mfrc522Device, CardReader):
    """Patron cards on an MFRC522.  ``spi`` may be injected (tests pass a fake ``spidev``)."""

    driver = "mfrc522"

    def __init__(self, card_format: str = "hex", prefix: str = "", *, spi: Any = None, bus: int = 0,
                 device: int = 0, speed_hz: int = 1_000_000, reset_pin: int = -1, irq_pin: int = -1,
                 poll_interval: float = 0.2, pin_factory: Any = None) -> None:
        CardReader.__init__(self, card_format, prefix)
        self.poll_interval = poll_interval
        self._silent = 0
        self._thread: PollingThread | None = None
        self._setup(spi, bus, device, speed_hz, reset_pin, irq_pin, pin_factory)

    def poll_once(self) -> None:
        try:
            found = self.chip.find_card()
        except Collision:
            log.info("two cards on the patron-card reader; waiting for one")
            return
        if found is None:
            self._silent += 1
            if self._silent >= 2:
                self._card_gone()
            return
        self._silent = 0
        uid, _sak = found
        self.chip.halt()
        self._card_seen(uid)

    def _start(self) -> None:
        self._thread = PollingThread("card-reader-mfrc522", self.poll_once, self.poll_interval)
        self._thread.start()

    def _close(self) -> None:
        if self._thread:
            self._thread.stop()
        self._release()

    def check(self) -> str:
        return f"MFRC522 version 0x{self.chip.read(VersionReg):02X} on {self.address}"

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, self.address)


class Mfrc522TagReader(_Mfrc522Device, TagReader):
    """ISO 14443 (NTAG/Ultralight) item tags on an MFRC522: one tag at a time, data from page 4.

    Such tags have no AFI or EAS, so :meth:`set_security` raises :class:`HardwareError`; a library
    using them secures items another way (e.g. its gates read the ILS status).
    """

    driver = "mfrc522"
    user_page = 4

    def __init__(self, *, spi: Any = None, bus: int = 0, device: int = 0, speed_hz: int = 1_000_000,
                 reset_pin: int = -1, irq_pin: int = -1, poll_interval: float = 0.3,
                 pin_factory: Any = None) -> None:
        TagReader.__init__(self)
        self.poll_interval = poll_interval
        self._setup(spi, bus, device, speed_hz, reset_pin, irq_pin, pin_factory)

    def inventory(self) -> list[str]:
        try:
            found = self.chip.find_card()
        except Collision:
            return list(self._tags)          # keep what we had until the field is clear again
        if found is None:
            return []
        self.chip.halt()
        return [found[0].hex().upper()]

    def read_blocks(self, uid: str, first: int, count: int) -> bytes:
        found = self.chip.find_card()
        if found is None or found[0].hex().upper() != uid:
            raise HardwareError(f"tag {uid} left the field")
        out = bytearray()
        page, end = self.user_page + first, self.user_page + first + count
        while page < end:
            try:
                out += self.chip.read_pages(page)
            except (NoCard, HardwareError):
                break                           # end of the tag's memory
            page += 4
        return bytes(out[:count * 4])

    def _write_security(self, uid: str, on: bool) -> None:
        raise HardwareError("ISO 14443 item tags have no AFI/EAS security bit")

    def read_security(self, uid: str) -> bool:
        raise HardwareError("ISO 14443 item tags have no AFI/EAS security bit")

    def _close(self) -> None:
        TagReader._close(self)
        self._release()

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, self.address)
