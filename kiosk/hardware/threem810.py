"""Item-tag reader driver: a 3M 810 library RFID reader over pyserial (19200 8N1).

The protocol (frames, CRC-16/GENIBUS, commands) is the pure :mod:`threem810_protocol`; this is
the thin shell.  The 3M command set switches security through the AFI only (3M gates: 0xD7
secured, 0xDA unsecured -- set ``[tag_reader] afi_on_shelf = 215`` and ``afi_on_loan = 218``).
Like Biblio-RFID we retry a refused AFI write a few times: tags moving in the field often
refuse the first attempt.
"""

from __future__ import annotations

import logging
import threading
import time

from kiosk.errors import HardwareError
from kiosk.hardware import threem810_protocol as tp
from kiosk.hardware.records import DeviceInfo
from kiosk.hardware.tag_reader import TagReader

log = logging.getLogger(__name__)

READ_CHUNK = 8           # Biblio-RFID: "3M defaults: 8,4" blocks per read
AFI_WRITE_TRIES = 5


class ThreeM810Reader(TagReader):
    driver = "3m810"

    def __init__(self, port: str, baudrate: int = 19200, parity: str = "N", security: str = "afi",
                 afi_on_shelf: int = tp.AFI_SECURED, afi_on_loan: int = tp.AFI_UNSECURED,
                 poll_interval: float = 0.3, timeout: float = 1.0) -> None:
        super().__init__()
        if security != "afi":
            raise HardwareError("the 3M 810 reader switches security through the AFI only; "
                                "set [tag_reader] security = \"afi\"")
        import serial

        self.port_url, self.afi_on_shelf, self.afi_on_loan = port, afi_on_shelf, afi_on_loan
        self.poll_interval, self.timeout = poll_interval, timeout
        self._io = threading.Lock()
        try:
            self._serial = serial.serial_for_url(port, baudrate=baudrate, parity=parity, bytesize=8,
                                                 stopbits=1, timeout=timeout)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise HardwareError(f"tag reader: cannot open {port}: {exc}") from exc

    def exchange(self, frame: bytes) -> bytes:
        """Send a whole frame and return the reply's payload (CRC checked)."""
        import serial

        with self._io:
            try:
                self._serial.reset_input_buffer()
                self._serial.write(frame)
                head = self._serial.read(3)
                if len(head) < 3:
                    raise HardwareError(f"tag reader on {self.port_url} did not answer within {self.timeout} s")
                n = tp.frame_length(head)
                if not n:
                    raise tp.FrameError(f"answer starts with {head.hex()}, not a 3M 810 frame")
                rest = self._serial.read(n - 3)
            except serial.SerialException as exc:
                raise HardwareError(f"tag reader on {self.port_url}: {exc}") from exc
        return tp.decode(head + rest)

    def command(self, payload: bytes) -> bytes:
        return tp.check_reply(self.exchange(tp.encode(payload)), payload[0])

    # -- TagReader contract ------------------------------------------------------------------
    def inventory(self) -> list[str]:
        return tp.parse_inventory(self.command(tp.inventory_request()))

    def read_blocks(self, uid: str, first: int, count: int) -> bytes:
        out = bytearray()
        block = first
        while block < first + count:
            n = min(READ_CHUNK, first + count - block)
            try:
                got = tp.parse_read(self.command(tp.read_request(uid, block, n))).blocks
            except tp.ReaderError:
                if block == first:
                    raise
                break                                    # past the end of the tag's memory
            for b in range(block, block + n):
                if b not in got:
                    return bytes(out)
                out += got[b]
            block += n
        return bytes(out)

    def write_blocks(self, uid: str, first: int, data: bytes) -> None:
        """Write tag memory (staff tools: programming a tag)."""
        self.command(tp.write_request(uid, first, data))

    def _write_security(self, uid: str, on: bool) -> None:
        afi = self.afi_on_shelf if on else self.afi_on_loan
        for attempt in range(1, AFI_WRITE_TRIES + 1):
            try:
                reply = self.command(tp.write_afi_request(uid, afi))
            except tp.ReaderError:
                if attempt == AFI_WRITE_TRIES:
                    raise
                time.sleep(0.02)
                continue
            if reply[:8].hex().upper() != uid:
                raise tp.FrameError(f"AFI written to {reply[:8].hex().upper()}, expected {uid}")
            return

    def read_security(self, uid: str) -> bool:
        reply = self.command(tp.read_afi_request(uid))
        if len(reply) < 9:
            raise tp.FrameError("read-AFI answer cut short")
        return reply[8] == self.afi_on_shelf

    def check(self) -> str:
        payload = tp.check_reply(self.exchange(tp.PROBE), tp.CMD_VERSION)
        return "3M 810 hardware " + ".".join(str(b) for b in payload[1:5])

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, self.port_url)

    def _close(self) -> None:
        super()._close()
        try:
            self._serial.close()
        except Exception:
            log.debug("closing the tag reader port failed", exc_info=True)
