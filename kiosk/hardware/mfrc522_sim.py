"""A register-level MFRC522 with ISO 14443A cards in its field, behind a fake ``spidev``.

:class:`Mfrc522Sim` implements the registers the MFRC522 register protocol touches (FIFO, IRQ
bits with the Set1 semantics, BitFraming/StartSend, ErrorReg, ControlReg RxLastBits, the
version register) and answers the PICC commands a reader sends: REQA/WUPA, anticollision and
SELECT at each cascade level (4-, 7- and 10-byte UIDs with the 0x88 cascade tag and BCC),
HALT, and NTAG READ.  Two or more cards answering at once set CollErr, as on the real chip.

It also runs the CRC coprocessor (``CalcCRC`` command, DivIrqReg CRCIRq, CRCResultReg), which
the ``mfrc522`` package uses for SELECT, so that package's ``MFRC522`` class can drive it too.

``FakeSpiDev`` exposes it through the ``spidev.SpiDev`` API (``open``, ``xfer2``, ``close``,
``max_speed_hz``, ``mode``); :func:`fake_spidev_module` builds a module to put in
``sys.modules["spidev"]`` so the production import path is exercised.  Used by
``tests/test_hw_mfrc522.py`` and ``tests/test_hw_mfrc522_package.py``.
"""

from __future__ import annotations

import threading
import time
import types
from dataclasses import dataclass, field
from typing import Any

from kiosk.hardware import mfrc522 as m

PCD_CALCCRC = 0x03
CRCResultRegM, CRCResultRegL = 0x21, 0x22


@dataclass
class SimCard:
    """An ISO 14443A card: ``uid`` of 4, 7 or 10 bytes; ``memory`` for NTAG READ (pages x 4)."""

    uid: bytes
    memory: bytes = b""
    sak: int = 0x08            # MIFARE Classic 1K; NTAG: 0x00
    state: str = "idle"        # idle, ready, active, halt
    level: int = 0             # cascade level reached while ready

    @property
    def atqa(self) -> bytes:
        return {4: b"\x04\x00", 7: b"\x44\x00", 10: b"\x84\x00"}[len(self.uid)]

    def level_bytes(self, level: int) -> bytes:
        """The 4 UID bytes (with cascade tag) sent at cascade ``level`` (0-based) + BCC."""
        n = len(self.uid)
        if n == 4:
            part = self.uid
        elif n == 7:
            part = b"\x88" + self.uid[:3] if level == 0 else self.uid[3:7]
        else:
            part = (b"\x88" + self.uid[:3], b"\x88" + self.uid[3:6], self.uid[6:10])[level]
        return part + bytes([part[0] ^ part[1] ^ part[2] ^ part[3]])

    def levels(self) -> int:
        return {4: 1, 7: 2, 10: 3}[len(self.uid)]


@dataclass
class Mfrc522Sim:
    cards: list[SimCard] = field(default_factory=list)
    version: int = 0x92
    regs: dict[int, int] = field(default_factory=dict)
    fifo: list[int] = field(default_factory=list)
    transfers: int = 0
    irq_reads: int = 0
    latency_s: float = 0.0     # how long the air exchange takes before the IRQ bits show
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ready_at: float = 0.0
    irq_pin: Any = None        # a gpiozero MockPin wired to the IRQ output (active low), or None

    def place(self, card: SimCard) -> SimCard:
        with self.lock:
            card.state, card.level = "idle", 0
            self.cards.append(card)
        return card

    def remove(self, card: SimCard) -> None:
        with self.lock:
            self.cards.remove(card)

    # -- SPI ---------------------------------------------------------------------------------
    def xfer2(self, data: list[int]) -> list[int]:
        with self.lock:
            self.transfers += 1
            addr = data[0]
            reg = (addr >> 1) & 0x3F
            if addr & 0x80:
                return [0] + [self._read(reg) for _ in data[1:]]
            for value in data[1:]:
                self._write(reg, value)
            return [0] * len(data)

    def _read(self, reg: int) -> int:
        if reg == m.VersionReg:
            return self.version
        if reg == m.FIFOLevelReg:
            return len(self.fifo)
        if reg == m.FIFODataReg:
            return self.fifo.pop(0) if self.fifo else 0
        if reg == m.CommIrqReg:
            self.irq_reads += 1
            if time.monotonic() < self._ready_at:
                return self.regs.get(reg, 0) & ~(m.IRQ_RX | m.IRQ_IDLE | m.IRQ_TIMER)
        return self.regs.get(reg, 0)

    def _write(self, reg: int, value: int) -> None:
        if reg in (m.CommIrqReg, m.DivIrqReg):     # bit 7 = Set1/Set2: set or clear the marked bits
            current = self.regs.get(reg, 0)
            bits = value & 0x7F
            self.regs[reg] = (current | bits) if value & 0x80 else (current & ~bits)
            if reg == m.CommIrqReg and self.irq_pin is not None and not self.regs[reg] & 0x7F:
                self.irq_pin.drive_high()           # interrupt acknowledged: IRQ line released
        elif reg == m.FIFOLevelReg:
            if value & 0x80:
                self.fifo.clear()
        elif reg == m.FIFODataReg:
            self.fifo.append(value)
        elif reg == m.CommandReg:
            self.regs[reg] = value & 0x0F
            if value & 0x0F == m.PCD_RESETPHASE:
                self.regs.clear()
                self.fifo.clear()
            elif value & 0x0F == PCD_CALCCRC:      # the CRC coprocessor (mfrc522's CalulateCRC)
                crc = m.crc_a(bytes(self.fifo))
                self.fifo.clear()
                self.regs[CRCResultRegL], self.regs[CRCResultRegM] = crc[0], crc[1]
                self.regs[m.DivIrqReg] = self.regs.get(m.DivIrqReg, 0) | 0x04   # CRCIRq
        elif reg == m.BitFramingReg:
            self.regs[reg] = value
            if value & 0x80 and self.regs.get(m.CommandReg) == m.PCD_TRANSCEIVE:
                self._transceive(value & 0x07)
        else:
            self.regs[reg] = value

    # -- the air interface -----------------------------------------------------------------------
    def _transceive(self, tx_last_bits: int) -> None:
        frame = bytes(self.fifo)
        self.fifo.clear()
        self._ready_at = time.monotonic() + self.latency_s
        answers = self._answers(frame, tx_last_bits)
        irq = self.regs.get(m.CommIrqReg, 0)
        self.regs[m.ErrorReg] = 0
        self.regs[m.ControlReg] = 0
        if not answers:
            self.regs[m.CommIrqReg] = irq | m.IRQ_TIMER
            self._raise_irq()
            return
        if len(set(answers)) > 1:
            self.regs[m.ErrorReg] = m.ERR_COLL
            self.regs[m.CollReg] = 0x00
        self.fifo.extend(answers[0])
        self.regs[m.CommIrqReg] = irq | m.IRQ_RX | m.IRQ_IDLE
        self._raise_irq()

    def _raise_irq(self) -> None:
        """Pull the IRQ line low once the exchange is over (after ``latency_s``)."""
        if self.irq_pin is None:
            return
        pin = self.irq_pin
        if self.latency_s:
            timer = threading.Timer(self.latency_s, pin.drive_low)
            timer.daemon = True
            timer.start()
        else:
            pin.drive_low()

    def _answers(self, frame: bytes, tx_last_bits: int) -> list[bytes]:
        if not frame:
            return []
        cmd = frame[0]
        if tx_last_bits == 7 and len(frame) == 1 and cmd in (m.PICC_REQA, m.PICC_WUPA):
            woken = [c for c in self.cards
                     if c.state == "idle" or (cmd == m.PICC_WUPA and c.state in ("halt", "active", "ready"))]
            for c in woken:
                c.state, c.level = "ready", 0
            return [c.atqa for c in woken]
        if cmd in m.CASCADE and len(frame) == 2 and frame[1] == 0x20:
            level = m.CASCADE.index(cmd)
            return [c.level_bytes(level) for c in self.cards
                    if c.state == "ready" and c.level == level]
        if cmd in m.CASCADE and len(frame) == 9 and frame[1] == 0x70:
            if m.crc_a(frame[:7]) != frame[7:]:
                return []
            level = m.CASCADE.index(cmd)
            out = []
            for c in self.cards:
                if c.state != "ready" or c.level != level:
                    continue
                if c.level_bytes(level) != frame[2:7]:
                    c.state = "idle"             # not selected: back to idle
                    continue
                if level + 1 < c.levels():
                    c.level = level + 1
                    sak = m.SAK_CASCADE_BIT
                else:
                    c.state = "active"
                    sak = c.sak
                out.append(bytes([sak]) + m.crc_a(bytes([sak])))
            return out
        if cmd == m.PICC_HALT and len(frame) == 4:
            for c in self.cards:
                if c.state == "active":
                    c.state = "halt"
            return []
        if cmd == m.PICC_READ and len(frame) == 4 and m.crc_a(frame[:2]) == frame[2:]:
            out = []
            for c in self.cards:
                if c.state == "active":
                    start = frame[1] * 4
                    if start >= len(c.memory):
                        continue
                    data = c.memory[start:start + 16].ljust(16, b"\x00")
                    out.append(data + m.crc_a(data))
            return out
        return []


class FakeSpiDev:
    """The ``spidev.SpiDev`` API on top of a :class:`Mfrc522Sim`."""

    def __init__(self, sim: Mfrc522Sim) -> None:
        self.sim = sim
        self.max_speed_hz = 500000
        self.mode = 0
        self.opened: tuple[int, int] | None = None
        self.closed = False

    def open(self, bus: int, device: int) -> None:
        self.opened = (bus, device)

    def xfer2(self, data: list[int]) -> list[int]:
        if self.closed:
            raise OSError("SPI device closed")
        return self.sim.xfer2(list(data))

    def close(self) -> None:
        self.closed = True


def fake_spidev_module(sim: Mfrc522Sim) -> types.ModuleType:
    """A module that can stand in for ``spidev`` in ``sys.modules``."""
    mod = types.ModuleType("spidev")
    mod.SpiDev = lambda: FakeSpiDev(sim)      # type: ignore[attr-defined]
    return mod
