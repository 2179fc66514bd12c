"""A simulated FEIG ISO 15693 reader that speaks the real frames on a pseudo-terminal.

Used by the driver tests (``tests/test_hw_feig.py``) and for bench/demo set-ups without a
reader: :class:`FeigSimulator` answers request frames (pure, no I/O), :class:`PtyFeigReader`
puts it on a pty so the real :class:`kiosk.hardware.feig.FeigReader` opens ``/dev/pts/N`` with
pyserial exactly as it would open ``/dev/ttyUSB0``.

The simulated tags have real ISO 15693 behaviour where the driver depends on it: 4-byte blocks,
an AFI byte, the NXP EAS bit (EAS ALARM answers only while EAS is set), and a limit of
``max_records`` inventory records per answer (status 0x94 "more data"), so the driver's
continuation path is exercised.  Test hooks: ``corrupt_next`` (send one reply with a bad CRC), ``fail_reads`` (a tag at the edge of the field),
``mute`` (do not answer at all), ``ignore_security_writes``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from kiosk.hardware import feig_protocol as fp
from kiosk.hardware.ptysim import PtyDevice


@dataclass
class SimTag:
    uid: str
    data: bytearray
    dsfid: int = 0x3E          # 0x3E: ISO 28560-3, 0x06: ISO 28560-2 (rfid-tags.md 4.2)
    afi: int = 0x07
    eas: bool = True
    block_size: int = 4
    blocks: int = 28
    ic_ref: int = 0x01
    locked: set[int] = field(default_factory=set)    # locked block numbers (staff station tests)

    def __post_init__(self) -> None:
        self.data = bytearray(self.data).ljust(self.block_size * self.blocks, b"\x00")


@dataclass
class TagFieldSim:
    """What every simulated reader shares: the tags in its field and the frames it was sent."""

    tags: dict[str, SimTag] = field(default_factory=dict)     # keyed by upper-case UID hex
    requests: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, tag: SimTag) -> str:
        with self.lock:
            self.tags[tag.uid.upper()] = tag
        return tag.uid.upper()

    def remove(self, uid: str) -> None:
        with self.lock:
            self.tags.pop(uid.upper(), None)


@dataclass
class FeigSimulator(TagFieldSim):
    """Answers FEIG request frames for the tags in ``tags``."""

    address: int = 0
    max_records: int = 4
    ignore_security_writes: bool = False
    fail_reads: dict[str, int] = field(default_factory=dict)   # uid -> block reads to fail
    fail_writes: int = 0          # test hook: answer this many block writes with an RF error
    _pending: list[str] = field(default_factory=list)

    def handle(self, frame: bytes) -> bytes:
        """One request frame in, one response frame out."""
        req = fp.decode_request(frame)
        with self.lock:
            self.requests.append(bytes(frame))
            status, data = self._dispatch(req.cmd, req.data)
        return fp.encode_response(req.cmd, status, data, self.address)

    # -- command handlers --------------------------------------------------------------------
    def _dispatch(self, cmd: int, data: bytes) -> tuple[int, bytes]:
        if cmd == fp.CMD_SOFTWARE_VERSION:
            return fp.STATUS_OK, bytes([0x03, 0x05, 0x00, 0x00, 0x00, 0x00])
        if cmd == fp.CMD_RF_RESET:
            return fp.STATUS_OK, b""
        if cmd == fp.CMD_ISO and data:
            return self._iso(data[0], data[1:])
        if cmd == fp.CMD_CUSTOM and len(data) >= 11:
            return self._custom(data[0], data[1], data[3:11])
        return 0x80, b""

    def _tag(self, mode_uid: bytes) -> SimTag | None:
        if len(mode_uid) < 9 or mode_uid[0] != fp.MODE_ADDRESSED:
            return None
        return self.tags.get(mode_uid[1:9].hex().upper())

    def _iso(self, sub: int, rest: bytes) -> tuple[int, bytes]:
        if sub == fp.ISO_INVENTORY:
            more = bool(rest and rest[0] & fp.MODE_MORE)
            if not more:
                self._pending = sorted(self.tags)
            batch, self._pending = self._pending[:self.max_records], self._pending[self.max_records:]
            if not batch:
                return fp.STATUS_NO_TRANSPONDER, b""
            records = b"".join(bytes([fp.TR_TYPE_ISO15693, self.tags[u].dsfid]) + bytes.fromhex(u)
                               for u in batch if u in self.tags)
            status = fp.STATUS_MORE_DATA if self._pending else fp.STATUS_OK
            return status, bytes([len(records) // 10]) + records
        tag = self._tag(rest)
        if tag is None:
            return fp.STATUS_NO_TRANSPONDER, b""
        args = rest[9:]
        if sub == fp.ISO_SYSTEM_INFO:
            return fp.STATUS_OK, (bytes([tag.dsfid]) + bytes.fromhex(tag.uid)
                                  + bytes([tag.afi, tag.block_size - 1, tag.blocks - 1, tag.ic_ref]))
        if sub == fp.ISO_READ_MULTIPLE and len(args) >= 2:
            if self.fail_reads.get(tag.uid, 0) > 0:      # tag at the edge of the field
                self.fail_reads[tag.uid] -= 1
                return fp.STATUS_NO_TRANSPONDER, b""
            first, n = args[0], args[1]
            if first + n > tag.blocks:
                return 0x95, b"\x10"        # ISO error 0x10: block not available
            out = bytearray([n, tag.block_size])
            for b in range(first, first + n):
                block = tag.data[b * tag.block_size:(b + 1) * tag.block_size]
                out += (b"\x01" if b in tag.locked else b"\x00") + bytes(block[::-1])
            return fp.STATUS_OK, bytes(out)
        if sub == fp.ISO_WRITE_MULTIPLE and len(args) >= 3:
            first, n, size = args[0], args[1], args[2]
            body = args[3:]
            if size != tag.block_size or len(body) != n * size or first + n > tag.blocks:
                return 0x95, b"\x10"
            if any(first + i in tag.locked for i in range(n)):
                return 0x95, bytes([fp.ISO_ERROR_BLOCK_LOCKED])
            if self.fail_writes > 0:
                self.fail_writes -= 1
                return 0x83, b""            # RF communication error (tag moved mid-write)
            for i in range(n):
                tag.data[(first + i) * size:(first + i + 1) * size] = body[i * size:(i + 1) * size][::-1]
            return fp.STATUS_OK, b""
        if sub == fp.ISO_WRITE_SINGLE and len(args) >= 2:
            block, size, body = args[0], args[1], args[2:]
            if size != tag.block_size or len(body) != size or block >= tag.blocks:
                return 0x95, b"\x10"
            if block in tag.locked:
                return 0x95, bytes([fp.ISO_ERROR_BLOCK_LOCKED])
            if self.fail_writes > 0:
                self.fail_writes -= 1
                return 0x83, b""            # RF communication error (tag moved mid-write)
            tag.data[block * size:(block + 1) * size] = body[::-1]
            return fp.STATUS_OK, b""
        if sub == fp.ISO_LOCK_BLOCKS and len(args) >= 2:
            first, n = args[0], args[1]
            if first + n > tag.blocks:
                return 0x95, b"\x10"
            tag.locked.update(range(first, first + n))
            return fp.STATUS_OK, b""
        if sub == fp.ISO_WRITE_DSFID and args:
            tag.dsfid = args[0]
            return fp.STATUS_OK, b""
        if sub == fp.ISO_WRITE_AFI and args:
            if not self.ignore_security_writes:
                tag.afi = args[0]
            return fp.STATUS_OK, b""
        return 0x82, b""

    def _custom(self, mfr: int, nxp_cmd: int, uid: bytes) -> tuple[int, bytes]:
        tag = self.tags.get(uid.hex().upper())
        if tag is None or mfr != fp.NXP:
            return fp.STATUS_NO_TRANSPONDER, b""
        if nxp_cmd in (fp.NXP_SET_EAS, fp.NXP_RESET_EAS):
            if not self.ignore_security_writes:
                tag.eas = nxp_cmd == fp.NXP_SET_EAS
            return fp.STATUS_OK, b""
        if nxp_cmd == fp.NXP_EAS_ALARM:
            # An NXP tag answers EAS ALARM only while its EAS bit is set.
            return (fp.STATUS_OK, b"\x00" * 32) if tag.eas else (fp.STATUS_NO_TRANSPONDER, b"")
        return 0x82, b""


class PtyFeigReader(PtyDevice):
    """Serves a :class:`FeigSimulator` on a pseudo-terminal; ``port`` is the path to open."""

    min_frame = 5      # a FEIG frame is never shorter

    def __init__(self, sim: FeigSimulator | None = None) -> None:
        self.sim = sim or FeigSimulator()
        super().__init__(fp.frame_length, self.sim.handle, name="feig-sim")
