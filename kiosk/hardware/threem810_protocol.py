"""3M 810 library RFID reader protocol: frames, CRC and commands (pure).

Sources: the 3M RFID Reader Protocol Specification and Biblio-RFID ``Reader/3M810.pm``, as
summarised in hardware-and-deployment.md 1.5.  19200 baud 8N1::

    frame      D6 | LENGTH (2 bytes, big-endian) | COMMAND | DATA ... | CRC (2 bytes, big-endian)
    LENGTH     number of bytes after the length bytes (command, data and CRC)
    CRC        CRC-16 poly 0x1021, init 0xFFFF, not reflected, xorout 0xFFFF (CRC-16/GENIBUS),
               over LENGTH + COMMAND + DATA.  Checks: 00 09 03 00 02 00 00 00 03 -> 12 E6,
               00 05 04 00 11 -> 8C 66, 00 09 04 00 11 0A 05 00 02 -> 72 50.

The hardware-version probe uses start byte D5 instead of D6.  Replies echo the command and then
a status byte, 00 for OK and 06 for an error:

* ``FE 00 05`` inventory -> ``FE 00 00 05 N UID[8] x N``
* ``02 UID START COUNT`` read blocks -> ``02 00 UID N (BLOCK# LE[2] DATA[4]) x N``
* ``04 UID 00 N 00 DATA`` write blocks -> ``04 00 UID N``
* ``0A UID`` read AFI -> ``0A 00 UID AFI``;  ``09 UID AFI`` write AFI -> ``09 00 UID``

3M gates use AFI 0xD7 (secured) and 0xDA (unsecured) (rfid-tags.md 4.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.errors import HardwareError

START, START_PROBE = 0xD6, 0xD5
CMD_INVENTORY, CMD_READ, CMD_WRITE, CMD_WRITE_AFI, CMD_READ_AFI, CMD_VERSION = 0xFE, 0x02, 0x04, 0x09, 0x0A, 0x04
STATUS_OK, STATUS_ERROR = 0x00, 0x06
PROBE = bytes.fromhex("D500050400118C66")     # hardware-version probe, verbatim from 3M810.pm
AFI_SECURED, AFI_UNSECURED = 0xD7, 0xDA


class FrameError(HardwareError):
    """A 3M 810 frame that is cut short or fails its CRC."""


class ReaderError(HardwareError):
    """The reader answered a command with status 06."""


def crc16(data: bytes) -> int:
    """CRC-16/GENIBUS: poly 0x1021, init 0xFFFF, no reflection, xorout 0xFFFF."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc ^ 0xFFFF


def encode(payload: bytes, start: int = START) -> bytes:
    length = (len(payload) + 2).to_bytes(2, "big")
    return bytes([start]) + length + payload + crc16(length + payload).to_bytes(2, "big")


def frame_length(prefix: bytes) -> int | None:
    if len(prefix) < 3:
        return None
    if prefix[0] not in (START, START_PROBE):
        return 0                     # not a frame start: resynchronise
    return 3 + int.from_bytes(prefix[1:3], "big")


def decode(frame: bytes) -> bytes:
    """The payload (command + data) of a frame, after checking start byte, length and CRC."""
    frame = bytes(frame)
    if len(frame) < 5 or frame[0] not in (START, START_PROBE):
        raise FrameError(f"not a 3M 810 frame: {frame[:8].hex()}")
    n = int.from_bytes(frame[1:3], "big")
    if len(frame) != 3 + n or n < 3:
        raise FrameError(f"frame length {len(frame)} does not match its length field {n}")
    body, crc = frame[1:-2], int.from_bytes(frame[-2:], "big")
    if crc16(body) != crc:
        raise FrameError(f"CRC mismatch: frame says {crc:04X}, data gives {crc16(body):04X}")
    return frame[3:-2]


def check_reply(payload: bytes, cmd: int) -> bytes:
    """The data after ``cmd 00``; raises :class:`ReaderError` for ``cmd 06``."""
    if len(payload) < 2 or payload[0] != cmd:
        raise FrameError(f"answer {payload[:2].hex()} does not belong to command {cmd:02X}")
    if payload[1] == STATUS_ERROR:
        raise ReaderError(f"reader refused command {cmd:02X} ({payload[2:].hex() or 'no detail'})")
    if payload[1] != STATUS_OK:
        raise FrameError(f"unknown status {payload[1]:02X} for command {cmd:02X}")
    return payload[2:]


def uid_bytes(uid: str) -> bytes:
    raw = bytes.fromhex(uid)
    if len(raw) != 8:
        raise HardwareError(f"ISO 15693 UID {uid!r} must be 8 bytes")
    return raw


def inventory_request() -> bytes:
    return bytes([CMD_INVENTORY, 0x00, 0x05])


def parse_inventory(data: bytes) -> list[str]:
    # reply: FE 00 | 00 05 | N | UID x N
    if len(data) < 3 or data[:2] != b"\x00\x05":
        raise FrameError(f"unexpected inventory answer {data[:4].hex()}")
    n = data[2]
    uids = data[3:3 + 8 * n]
    if len(uids) != 8 * n:
        raise FrameError(f"inventory answer says {n} tags but carries {len(uids) // 8}")
    return [uids[i * 8:(i + 1) * 8].hex().upper() for i in range(n)]


def read_request(uid: str, start: int, count: int) -> bytes:
    return bytes([CMD_READ]) + uid_bytes(uid) + bytes([start, count])


@dataclass(frozen=True)
class Blocks:
    uid: str
    blocks: dict[int, bytes]


def parse_read(data: bytes) -> Blocks:
    if len(data) < 9:
        raise FrameError("read-blocks answer cut short")
    n = data[8]
    out: dict[int, bytes] = {}
    for i in range(n):
        rec = data[9 + 6 * i: 15 + 6 * i]
        if len(rec) < 6:
            raise FrameError("read-blocks answer cut short")
        out[int.from_bytes(rec[:2], "little")] = rec[2:6]
    return Blocks(data[:8].hex().upper(), out)


def write_request(uid: str, start: int, data: bytes) -> bytes:
    if len(data) % 4:
        data += bytes(4 - len(data) % 4)
    # Biblio-RFID always writes from block 0 ("04 UID 00 N 00 DATA"); the first 00 is the start
    return bytes([CMD_WRITE]) + uid_bytes(uid) + bytes([start, len(data) // 4, 0x00]) + data


def read_afi_request(uid: str) -> bytes:
    return bytes([CMD_READ_AFI]) + uid_bytes(uid)


def write_afi_request(uid: str, afi: int) -> bytes:
    return bytes([CMD_WRITE_AFI]) + uid_bytes(uid) + bytes([afi & 0xFF])
