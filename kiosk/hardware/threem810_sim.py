"""A simulated 3M 810 reader speaking the real frames (for tests; serve it with :class:`PtyDevice`)."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.hardware import threem810_protocol as tp
from kiosk.hardware.feig_sim import TagFieldSim
from kiosk.hardware.ptysim import PtyDevice


@dataclass
class ThreeM810Simulator(TagFieldSim):
    """Answers 3M 810 frames for the tags in ``tags``."""

    refuse_afi_writes: int = 0          # test hook: refuse this many AFI writes (moving tags)
    fail_writes: int = 0                # test hook: refuse this many block writes

    def handle(self, frame: bytes) -> bytes:
        payload = tp.decode(frame)
        with self.lock:
            self.requests.append(bytes(frame))
            if frame[0] == tp.START_PROBE:
                # hardware-version answer from 3M810.pm: D5 00 09 04 00 11 0A 05 00 02 72 50
                return tp.encode(bytes.fromhex("0400110A050002"), tp.START_PROBE)
            return tp.encode(self._answer(payload))

    def _answer(self, p: bytes) -> bytes:
        cmd = p[0]
        if cmd == tp.CMD_INVENTORY:
            uids = sorted(self.tags)
            return bytes([cmd, 0, 0, 5, len(uids)]) + b"".join(bytes.fromhex(u) for u in uids)
        uid = p[1:9].hex().upper()
        tag = self.tags.get(uid)
        if tag is None or len(p) < 9:
            return bytes([cmd, tp.STATUS_ERROR])
        if cmd == tp.CMD_READ and len(p) >= 11:
            start, n = p[9], p[10]
            if start >= tag.blocks:
                return bytes([cmd, tp.STATUS_ERROR])
            n = min(n, tag.blocks - start)
            recs = b"".join(b.to_bytes(2, "little") + bytes(tag.data[b * 4:b * 4 + 4])
                            for b in range(start, start + n))
            return bytes([cmd, 0]) + p[1:9] + bytes([n]) + recs
        if cmd == tp.CMD_WRITE and len(p) >= 12:
            start, n, data = p[9], p[10], p[12:]
            if any(b in tag.locked for b in range(start, start + n)) or start + n > tag.blocks:
                return bytes([cmd, tp.STATUS_ERROR])     # locked block: the tag refuses the write
            if self.fail_writes > 0:
                self.fail_writes -= 1
                return bytes([cmd, tp.STATUS_ERROR])
            tag.data[start * 4:start * 4 + len(data)] = data[:n * 4]
            return bytes([cmd, 0]) + p[1:9] + bytes([n])
        if cmd == tp.CMD_READ_AFI:
            return bytes([cmd, 0]) + p[1:9] + bytes([tag.afi])
        if cmd == tp.CMD_WRITE_AFI and len(p) >= 10:
            if self.refuse_afi_writes > 0:
                self.refuse_afi_writes -= 1
                return bytes([cmd, tp.STATUS_ERROR])
            tag.afi = p[9]
            return bytes([cmd, 0]) + p[1:9]
        return bytes([cmd, tp.STATUS_ERROR])


class PtyThreeM810Reader(PtyDevice):
    """Serves a :class:`ThreeM810Simulator` on a pseudo-terminal; ``port`` is the path to open."""

    min_frame = 5

    def __init__(self, sim: ThreeM810Simulator | None = None) -> None:
        self.sim = sim or ThreeM810Simulator()
        super().__init__(tp.frame_length, self.sim.handle, name="3m810-sim")
