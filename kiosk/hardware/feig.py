"""Item-tag reader driver: a FEIG ID ISC / ID CPR reader in ISO host mode over pyserial.

Protocol details (frames, CRC, commands) live in the pure :mod:`kiosk.hardware.feig_protocol`.
This module is the thin shell: it owns the serial port, sends one command at a time under a
lock, and implements the :class:`~kiosk.hardware.tag_reader.TagReader` contract.  The polling thread
of the base class calls :meth:`FeigReader.inventory` every ``poll_interval`` seconds and sleeps in
between, so an idle kiosk costs one short serial exchange per poll.

The port is any pyserial URL: ``/dev/ttyUSB0``, ``socket://10.0.0.5:10001`` (readers with a LAN
interface or a serial server), ``loop://``, or a pty path in tests.
"""

from __future__ import annotations

import logging
import threading
import time

from kiosk.errors import HardwareError
from kiosk.hardware import feig_protocol as fp
from kiosk.hardware.records import UNDECODABLE, UNREADABLE, DeviceInfo, TagRead
from kiosk.hardware.tag_reader import TagReader

log = logging.getLogger(__name__)

#: FEIG readers want ~5 ms of silence before a new frame (PSST; hardware-and-deployment.md 1.5)
FRAME_GAP_S = 0.005
#: blocks per read command (keeps every answer a standard frame even with 32-byte blocks)
READ_CHUNK = 8


class FeigReader(TagReader):
    """ISO 15693 tag reader on a FEIG ISO host protocol link."""

    driver = "feig"

    def __init__(self, port: str, baudrate: int = 38400, parity: str = "E", address: int = 255,
                 security: str = "afi", afi_on_shelf: int = 0x07, afi_on_loan: int = 0xC2,
                 poll_interval: float = 0.3, timeout: float = 1.0) -> None:
        super().__init__()
        import serial

        self.port_url, self.address = port, address
        self.security, self.afi_on_shelf, self.afi_on_loan = security, afi_on_shelf, afi_on_loan
        self.poll_interval, self.timeout = poll_interval, timeout
        self._io = threading.Lock()
        self._dsfid: dict[str, int] = {}
        self._info: dict[str, fp.SystemInfo] = {}
        try:
            self._serial = serial.serial_for_url(port, baudrate=baudrate, parity=parity,
                                                 bytesize=8, stopbits=1, timeout=timeout)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise HardwareError(f"tag reader: cannot open {port}: {exc}") from exc

    # -- one command -------------------------------------------------------------------------
    def command(self, cmd: int, data: bytes = b"", ok: tuple[int, ...] = (fp.STATUS_OK,)) -> fp.Frame:
        """Send one request and return the decoded answer; raises on timeout, bad frame or status."""
        import serial

        frame = fp.encode_request(cmd, data, self.address)
        with self._io:
            try:
                self._serial.reset_input_buffer()
                self._serial.write(frame)
                reply = self._read_frame()
            except serial.SerialException as exc:
                raise HardwareError(f"tag reader on {self.port_url}: {exc}") from exc
            finally:
                time.sleep(FRAME_GAP_S)
        answer = fp.decode_response(reply)
        if answer.cmd != cmd:
            raise fp.FrameError(f"answer to command 0x{answer.cmd:02X}, expected 0x{cmd:02X}")
        if answer.status not in ok:
            raise fp.ReaderStatusError(answer.status or 0, answer.data)
        return answer

    def _read_frame(self) -> bytes:
        head = self._serial.read(1)
        if not head:
            raise HardwareError(f"tag reader on {self.port_url} did not answer within {self.timeout} s")
        if head[0] == fp.STX:
            head += self._serial.read(2)
        n = fp.frame_length(head)
        if n is None or n < 5:
            raise fp.FrameError(f"answer starts with an impossible length ({head.hex()})")
        rest = self._serial.read(n - len(head))
        if len(head) + len(rest) < n:
            raise fp.FrameError(f"answer cut short: {len(head) + len(rest)} of {n} bytes")
        return head + rest

    # -- TagReader contract ------------------------------------------------------------------
    def inventory(self) -> list[str]:
        uids: list[str] = []
        more = False
        for _ in range(64):          # a field never holds more than 64 x max_records tags
            answer = self.command(fp.CMD_ISO, fp.inventory_request(more),
                                  ok=(fp.STATUS_OK, fp.STATUS_NO_TRANSPONDER, fp.STATUS_MORE_DATA))
            if answer.status == fp.STATUS_NO_TRANSPONDER:
                break
            for rec in fp.parse_inventory(answer.data):
                if rec.uid not in uids:
                    uids.append(rec.uid)
                    self._dsfid[rec.uid] = rec.dsfid
            if answer.status != fp.STATUS_MORE_DATA:
                break
            more = True
        for gone in set(self._info) - set(uids):
            self._info.pop(gone, None)
            self._dsfid.pop(gone, None)
        return uids

    def system_info(self, uid: str) -> fp.SystemInfo:
        info = self._info.get(uid)
        if info is None:
            info = fp.parse_system_info(self.command(fp.CMD_ISO, fp.system_info_request(uid)).data)
            self._info[uid] = info
        return info

    def read_blocks(self, uid: str, first: int, count: int) -> bytes:
        info = self.system_info(uid)
        last = min(first + count, info.blocks)
        out = bytearray()
        block = first
        while block < last:
            n = min(READ_CHUNK, last - block)
            data, _ = fp.parse_blocks(self.command(fp.CMD_ISO, fp.read_blocks_request(uid, block, n)).data)
            out += data
            block += n
        return bytes(out)

    def write_blocks(self, uid: str, first: int, data: bytes) -> None:
        """Write tag memory (staff tools: programming a tag); not used during circulation.

        Block by block with Write Single Block: ICODE SLIX and many library tags do not implement
        Write Multiple Blocks (ISO 15693 optional command 0x24)."""
        info = self.system_info(uid)
        size = info.block_size
        data = bytes(data) + bytes(-len(data) % size)
        for i in range(len(data) // size):
            self.command(fp.CMD_ISO, fp.write_single_request(uid, first + i, data[i * size:(i + 1) * size]))

    def lock_blocks(self, uid: str, first: int, count: int) -> None:
        self.command(fp.CMD_ISO, fp.lock_blocks_request(uid, first, count))

    def locked_blocks(self, uid: str, first: int, count: int) -> list[bool] | None:
        info = self.system_info(uid)
        last = min(first + count, info.blocks)
        out: list[bool] = []
        block = first
        while block < last:
            n = min(READ_CHUNK, last - block)
            _, sec = fp.parse_blocks(self.command(fp.CMD_ISO, fp.read_blocks_request(uid, block, n)).data)
            out += [bool(s & 0x01) for s in sec]
            block += n
        return out

    def memory_size(self, uid: str) -> int | None:
        info = self.system_info(uid)
        return info.blocks * info.block_size

    def write_dsfid(self, uid: str, dsfid: int) -> bool:
        self.command(fp.CMD_ISO, fp.write_dsfid_request(uid, dsfid))
        self._dsfid[uid] = dsfid
        self._info.pop(uid, None)
        return True

    def read_tag(self, uid: str) -> TagRead:
        from kiosk.tags import TagDecodeError, decode_tag

        try:
            data = self.read_blocks(uid, 0, self.blocks_to_read)
            on = self.read_security(uid)
        except HardwareError as exc:
            return TagRead(uid=uid, error=f"{UNREADABLE}: {exc}")
        try:
            tag = decode_tag(data, dsfid=self._dsfid.get(uid))
        except TagDecodeError as exc:
            return TagRead(uid=uid, security_on=on, error=str(exc))
        except Exception:   # a decoder bug: this tag only, never the whole field
            log.exception("tag reader: decoding tag %s failed", uid)
            return TagRead(uid=uid, security_on=on, error=UNDECODABLE)
        if tag.crc_ok is False:
            return TagRead(uid=uid, security_on=on, model=tag.model,
                           error="tag data failed its CRC check (damaged or badly written tag)")
        return TagRead(uid=uid, item_id=tag.primary_item_id, parts_in_item=tag.parts_in_item,
                       part_number=tag.part_number, owner_isil=tag.owner_isil, security_on=on,
                       model=tag.model)

    def _write_security(self, uid: str, on: bool) -> None:
        if self.security == "eas":
            self.command(fp.CMD_CUSTOM, fp.nxp_custom_request(
                fp.NXP_SET_EAS if on else fp.NXP_RESET_EAS, uid))
        else:
            self.command(fp.CMD_ISO, fp.write_afi_request(uid, self.afi_on_shelf if on else self.afi_on_loan))
            self._info.pop(uid, None)      # AFI is part of the cached system information

    def read_security(self, uid: str) -> bool:
        if self.security == "eas":
            answer = self.command(fp.CMD_CUSTOM, fp.nxp_custom_request(fp.NXP_EAS_ALARM, uid),
                                  ok=(fp.STATUS_OK, fp.STATUS_NO_TRANSPONDER, 0x95))
            return answer.status == fp.STATUS_OK
        self._info.pop(uid, None)
        return self.system_info(uid).afi == self.afi_on_shelf

    # -- doctor ------------------------------------------------------------------------------
    def check(self) -> str:
        answer = self.command(fp.CMD_SOFTWARE_VERSION)
        return f"FEIG reader answered (software {answer.data[:2].hex('.')})"

    def describe(self) -> DeviceInfo:
        return DeviceInfo(self.kind, self.driver, self.port_url)

    def _close(self) -> None:
        super()._close()
        try:
            self._serial.close()
        except Exception:
            log.debug("closing the tag reader port failed", exc_info=True)
