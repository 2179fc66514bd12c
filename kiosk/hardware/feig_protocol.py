"""FEIG ID ISC / ID CPR "standard protocol" with ISO host commands: frames and CRC (pure).

Source: FEIG manual H20800-16e-ID-B ("OBID classic-pro Manual ID CPR Family", sections 3.1-3.2)
as summarised in hardware-and-deployment.md 1.5, and Biblio-RFID ``CPRM02.pm``::

    host -> reader   LEN | COM-ADR | CMD | DATA ... | CRC16 LSB | CRC16 MSB
    reader -> host   LEN | COM-ADR | CMD | STATUS | DATA ... | CRC LSB | CRC MSB
    long replies     0x02 | ALEN MSB | ALEN LSB | COM-ADR | CMD | STATUS | DATA | CRC LSB | CRC MSB

``LEN`` counts the whole frame (itself and the CRC).  CRC: CCITT polynomial x^16+x^12+x^5+1
processed LSB first (0x8408), start 0xFFFF, no final XOR, over every byte before the CRC
(check: ``05 FF 65`` -> ``E5 CB``).  COM-ADR 255 reaches any reader.  A standard frame is never
shorter than 5 bytes, so a first byte of 0x02 can only start an advanced frame.

ISO host commands used (command 0xB0, sub-command in the first data byte):

* ``B0 01 MODE`` inventory -> ``DATA-SETS`` then per tag ``TR-TYPE DSFID UID[8]``; the reader
  performs the ISO 15693 anti-collision itself.  STATUS 0x94 means more data sets are waiting:
  ask again with MODE bit 7 (MORE) set.
* ``B0 23 01 UID FIRST N`` read multiple blocks -> ``DB-N DB-SIZE`` then per block
  ``SEC-STATUS DB[DB-SIZE]``, each block's bytes in *reversed* order (Biblio-RFID reverses them).
* ``B0 24 01 UID FIRST N SIZE DB...`` write multiple blocks (blocks reversed the same way).
* ``B0 27 01 UID AFI`` write AFI; ``B0 2B 01 UID`` get system information ->
  ``DSFID UID[8] AFI MEM-SIZE[2] IC-REF`` (MEM-SIZE: block size - 1, number of blocks - 1).
* Staff station (tag programming): ``B0 21 01 UID ADR SIZE DB`` write single block (reversed
  like reads; NXP ICODE SLIX tags do not implement write *multiple* blocks, so the driver writes
  block by block), ``B0 22 01 UID FIRST N`` lock blocks, ``B0 29 01 UID DSFID`` write DSFID.  A write to a locked block answers STATUS 0x95 with ISO error 0x12; bit 0 of a
  block's SEC-STATUS in the read answer is its lock bit (ISO 15693 block security status).
* ``B1 MFR CMD 01 UID`` manufacturer custom command, used for NXP EAS (MFR 0x04; SET EAS 0xA2,
  RESET EAS 0xA3, EAS ALARM 0xA5 -- rfid-tags.md 4.3).  The exact B1 parameter order is our
  reading of the FEIG manual structure; verify on the target reader.

Mode byte 0x01 = addressed (the UID follows).  Status codes are those of the FEIG manuals
(0x00 OK, 0x01 no transponder, 0x94 more data, ...); unknown codes are reported numerically.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.errors import HardwareError

STX = 0x02
BROADCAST = 0xFF

CMD_ISO = 0xB0
CMD_CUSTOM = 0xB1
CMD_SOFTWARE_VERSION = 0x65
CMD_RF_RESET = 0x69

ISO_INVENTORY = 0x01
ISO_READ_MULTIPLE = 0x23
ISO_WRITE_MULTIPLE = 0x24
ISO_WRITE_AFI = 0x27
ISO_SYSTEM_INFO = 0x2B
ISO_WRITE_SINGLE = 0x21      # staff station only (kiosk.station): write one block
ISO_LOCK_BLOCKS = 0x22       # staff station only (kiosk.station): lock blocks permanently
ISO_WRITE_DSFID = 0x29
ISO_ERROR_BLOCK_LOCKED = 0x12   # ISO 15693 error code: "the specified block is locked"

MODE_ADDRESSED = 0x01
MODE_MORE = 0x80

NXP = 0x04
NXP_SET_EAS, NXP_RESET_EAS, NXP_EAS_ALARM = 0xA2, 0xA3, 0xA5

TR_TYPE_ISO15693 = 0x03

STATUS_OK = 0x00
STATUS_NO_TRANSPONDER = 0x01
STATUS_MORE_DATA = 0x94
STATUS_TEXT = {
    0x00: "OK", 0x01: "no transponder", 0x02: "data false", 0x03: "write error",
    0x04: "address error", 0x05: "wrong transponder type", 0x80: "unknown command",
    0x81: "length error", 0x82: "command not available", 0x83: "RF communication error",
    0x84: "RF warning", 0x94: "more data", 0x95: "ISO 15693 error",
}


class FrameError(HardwareError):
    """A reader frame that is cut short, too long, or fails its CRC."""


class ReaderStatusError(HardwareError):
    """The reader answered with an error STATUS."""

    def __init__(self, status: int, detail: bytes = b"") -> None:
        self.status = status
        self.detail = detail
        text = STATUS_TEXT.get(status, "unknown status")
        super().__init__(f"reader status 0x{status:02X} ({text})"
                         + (f" {detail.hex()}" if detail else ""))


def crc16(data: bytes) -> int:
    """FEIG CRC16: poly 0x8408 (reflected CCITT), init 0xFFFF, no xorout."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def _with_crc(body: bytes) -> bytes:
    crc = crc16(body)
    return body + bytes([crc & 0xFF, crc >> 8])


def _frame(address: int, payload: bytes) -> bytes:
    """Wrap ``CMD [STATUS] DATA`` for ``address`` in a standard or advanced frame."""
    n = 1 + 1 + len(payload) + 2
    if n <= 255:
        return _with_crc(bytes([n, address]) + payload)
    n += 2   # STX + 2-byte length instead of 1-byte length
    if n > 0xFFFF:
        raise FrameError("frame too long")
    return _with_crc(bytes([STX, n >> 8, n & 0xFF, address]) + payload)


def encode_request(cmd: int, data: bytes = b"", address: int = BROADCAST) -> bytes:
    return _frame(address, bytes([cmd]) + data)


def encode_response(cmd: int, status: int, data: bytes = b"", address: int = 0) -> bytes:
    return _frame(address, bytes([cmd, status]) + data)


def frame_length(prefix: bytes) -> int | None:
    """Total length of the frame starting with ``prefix``, or None if more bytes are needed."""
    if not prefix:
        return None
    if prefix[0] == STX:
        if len(prefix) < 3:
            return None
        return (prefix[1] << 8) | prefix[2]
    return prefix[0]


@dataclass(frozen=True)
class Frame:
    address: int
    cmd: int
    status: int | None
    data: bytes


def _unwrap(frame: bytes) -> tuple[int, bytes]:
    n = frame_length(frame)
    if n is None or n != len(frame):
        raise FrameError(f"frame length {len(frame)} does not match its length field {n}")
    head = 4 if frame[0] == STX else 2
    if n < head + 3:
        raise FrameError(f"frame of {n} bytes is too short")
    body, crc = frame[:-2], frame[-2] | (frame[-1] << 8)
    if crc16(body) != crc:
        raise FrameError(f"CRC mismatch: frame says {crc:04X}, data gives {crc16(body):04X}")
    return frame[head - 1], body[head:]


def decode_response(frame: bytes) -> Frame:
    address, payload = _unwrap(bytes(frame))
    if len(payload) < 2:
        raise FrameError("response without a STATUS byte")
    return Frame(address, payload[0], payload[1], payload[2:])


def decode_request(frame: bytes) -> Frame:
    address, payload = _unwrap(bytes(frame))
    return Frame(address, payload[0], None, payload[1:])


# -- ISO host command payloads (host side) -------------------------------------------------------

def uid_bytes(uid: str) -> bytes:
    raw = bytes.fromhex(uid)
    if len(raw) != 8:
        raise HardwareError(f"ISO 15693 UID {uid!r} must be 8 bytes")
    return raw


def inventory_request(more: bool = False) -> bytes:
    return bytes([ISO_INVENTORY, MODE_MORE if more else 0x00])


@dataclass(frozen=True)
class InventoryRecord:
    uid: str
    dsfid: int
    tr_type: int = TR_TYPE_ISO15693


def parse_inventory(data: bytes) -> list[InventoryRecord]:
    if not data:
        return []
    count, pos, out = data[0], 1, []
    for _ in range(count):
        rec = data[pos:pos + 10]
        if len(rec) < 10:
            raise FrameError("inventory answer cut short")
        out.append(InventoryRecord(uid=rec[2:10].hex().upper(), dsfid=rec[1], tr_type=rec[0]))
        pos += 10
    return out


def read_blocks_request(uid: str, first: int, count: int) -> bytes:
    return bytes([ISO_READ_MULTIPLE, MODE_ADDRESSED]) + uid_bytes(uid) + bytes([first, count])


def parse_blocks(data: bytes) -> tuple[bytes, list[int]]:
    """Block data in memory order, and the security status byte of each block."""
    if len(data) < 2:
        raise FrameError("read-blocks answer without DB-N/DB-SIZE")
    n, size = data[0], data[1]
    if len(data) < 2 + n * (size + 1):
        raise FrameError("read-blocks answer cut short")
    out, sec = bytearray(), []
    pos = 2
    for _ in range(n):
        sec.append(data[pos])
        out += data[pos + 1:pos + 1 + size][::-1]
        pos += 1 + size
    return bytes(out), sec


def write_blocks_request(uid: str, first: int, block_size: int, data: bytes) -> bytes:
    if len(data) % block_size:
        data = data + bytes(block_size - len(data) % block_size)
    n = len(data) // block_size
    body = b"".join(data[i * block_size:(i + 1) * block_size][::-1] for i in range(n))
    return bytes([ISO_WRITE_MULTIPLE, MODE_ADDRESSED]) + uid_bytes(uid) + bytes([first, n, block_size]) + body


def write_afi_request(uid: str, afi: int) -> bytes:
    return bytes([ISO_WRITE_AFI, MODE_ADDRESSED]) + uid_bytes(uid) + bytes([afi & 0xFF])


def system_info_request(uid: str) -> bytes:
    return bytes([ISO_SYSTEM_INFO, MODE_ADDRESSED]) + uid_bytes(uid)


@dataclass(frozen=True)
class SystemInfo:
    dsfid: int
    uid: str
    afi: int
    block_size: int
    blocks: int
    ic_ref: int


def parse_system_info(data: bytes) -> SystemInfo:
    if len(data) < 13:
        raise FrameError("system-information answer cut short")
    return SystemInfo(dsfid=data[0], uid=data[1:9].hex().upper(), afi=data[9],
                      block_size=(data[10] & 0x1F) + 1, blocks=data[11] + 1, ic_ref=data[12])


def nxp_custom_request(nxp_cmd: int, uid: str) -> bytes:
    return bytes([NXP, nxp_cmd, MODE_ADDRESSED]) + uid_bytes(uid)


def lock_blocks_request(uid: str, first: int, count: int) -> bytes:
    return bytes([ISO_LOCK_BLOCKS, MODE_ADDRESSED]) + uid_bytes(uid) + bytes([first, count])


def write_dsfid_request(uid: str, dsfid: int) -> bytes:
    return bytes([ISO_WRITE_DSFID, MODE_ADDRESSED]) + uid_bytes(uid) + bytes([dsfid & 0xFF])


def write_single_request(uid: str, block: int, data: bytes) -> bytes:
    """One block (``data`` is the block's bytes in memory order; sent reversed, as reads come)."""
    return bytes([ISO_WRITE_SINGLE, MODE_ADDRESSED]) + uid_bytes(uid) + bytes([block, len(data)]) + data[::-1]
