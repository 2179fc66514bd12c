"""The item-tag reader's contract: a polled inventory of the field, each tag read and decoded once.

Apart from the other device interfaces (:mod:`kiosk.hardware.base`) because it is the one with
behaviour of its own, shared by every driver (FEIG, 3M 810, MFRC522, the simulated twin):

* a polling thread takes an inventory every ``poll_interval`` and fires ``when_tag_present`` /
  ``when_tag_removed`` / ``when_tags_changed`` on change;
* a tag whose memory could not be read (at the edge of the field) is read again on the next polls,
  up to ``read_retries`` times;
* one tag with bytes no decoder foresaw is *contained*: it becomes that tag's ``TagRead.error``
  and never stops the reader reporting the others;
* the security bit is written and read back (a tag that kept its alarm bit makes the gate beep
  at an honest patron).

Drivers override the few hardware verbs (inventory, read blocks, security); see :class:`TagReader`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kiosk.errors import HardwareError
from kiosk.hardware.base import Device
from kiosk.hardware.records import UNDECODABLE, UNREADABLE, TagRead
from kiosk.hardware.threads import PollingThread

log = logging.getLogger(__name__)


class TagReader(Device):
    """Reads RFID item tags: inventory of every tag in the field, their data, and security.

    Events (from the reader thread): ``when_tags_changed(tags: list[TagRead])`` with the full
    current set whenever it changes, plus ``when_tag_present(tag: TagRead)`` for each new tag
    and ``when_tag_removed(uid: str)`` for each tag that left the field.

    Drivers *must* override :meth:`inventory` (UIDs in the field), :meth:`read_blocks`,
    :meth:`_write_security` and :meth:`read_security`.  They *may* override :meth:`read_tag`
    (the default reads the user memory and decodes it with :func:`kiosk.tags.decode_tag`).
    The base class runs the polling thread and computes present/removed.
    """

    kind = "tag_reader"
    when_tags_changed: Callable[[list[TagRead]], object] | None = None
    when_tag_present: Callable[[TagRead], object] | None = None
    when_tag_removed: Callable[[str], object] | None = None

    #: seconds between inventories; a FEIG inventory takes ~30-100 ms, so 0.3 s keeps the kiosk
    #: responsive while leaving the CPU idle.
    poll_interval = 0.3
    #: blocks read when decoding a tag (28 x 4 bytes covers ISO 28560-3 + extension blocks on
    #: an ICODE SLIX; shorter tags are read as far as they go).
    blocks_to_read = 28
    security = "afi"
    #: seconds to wait before retrying after the reader failed (unplugged, no answer)
    error_backoff = 2.0
    #: times a tag whose memory could not be read is read again while it stays in the field
    read_retries = 3

    def __init__(self) -> None:
        super().__init__()
        self._tags: dict[str, TagRead] = {}
        self._tags_lock = threading.Lock()
        self._retries: dict[str, int] = {}
        self._thread: PollingThread | None = None

    # -- must override -----------------------------------------------------------------------
    def inventory(self) -> list[str]:
        """UIDs (hex) of every tag in the field, after anti-collision."""
        raise NotImplementedError

    def read_blocks(self, uid: str, first: int, count: int) -> bytes:
        """``count`` blocks of user memory from ``first``, concatenated, in memory order."""
        raise NotImplementedError

    def _write_security(self, uid: str, on: bool) -> None:
        """Write the gate-alarm state (AFI or EAS)."""
        raise NotImplementedError

    def read_security(self, uid: str) -> bool:
        """The gate-alarm state read back from the tag (True = the gate alarms)."""
        raise NotImplementedError

    # -- may override ------------------------------------------------------------------------
    def read_tag(self, uid: str) -> TagRead:
        """Read and decode one tag; never raises for bad data (``error`` says what was wrong)."""
        from kiosk.tags import TagDecodeError, decode_tag

        try:
            data = self.read_blocks(uid, 0, self.blocks_to_read)
        except HardwareError as exc:
            return TagRead(uid=uid, error=f"{UNREADABLE}: {exc}")
        try:
            tag = decode_tag(data)
        except TagDecodeError as exc:
            return TagRead(uid=uid, error=str(exc))
        except Exception:   # a decoder bug: this tag only, never the whole field
            log.exception("%s: decoding tag %s failed", self.kind, uid)
            return TagRead(uid=uid, error=UNDECODABLE)
        if tag.crc_ok is False:   # a damaged tag could name the wrong item: staff must look
            return TagRead(uid=uid, model=tag.model,
                           error="tag data failed its CRC check (damaged or badly written tag)")
        return TagRead(uid=uid, item_id=tag.primary_item_id, parts_in_item=tag.parts_in_item,
                       part_number=tag.part_number, owner_isil=tag.owner_isil, model=tag.model)

    # -- may override: writing tags (the staff station, kiosk.station) -----------------------
    # Circulation never writes tag memory; only the staff station does.  Drivers that can write
    # override these; the defaults say plainly that this reader cannot.
    def write_blocks(self, uid: str, first: int, data: bytes) -> None:
        """Write ``data`` (padded to whole blocks) from block ``first`` (ISO 15693 write
        single/multiple block).  Raises :class:`HardwareError` when the tag refused (locked block)."""
        raise HardwareError(f"the {self.driver} tag reader cannot write tags")

    def lock_blocks(self, uid: str, first: int, count: int) -> None:
        """Lock ``count`` blocks from ``first`` permanently (ISO 15693 lock block)."""
        raise HardwareError(f"the {self.driver} tag reader cannot lock tag blocks")

    def locked_blocks(self, uid: str, first: int, count: int) -> list[bool] | None:
        """Lock state of each block (ISO 15693 block security status); None: the reader cannot tell."""
        return None

    def write_dsfid(self, uid: str, dsfid: int) -> bool:
        """Write the DSFID (0x3E ISO 28560-3, 0x06 ISO 28560-2); False when the reader cannot."""
        return False

    def memory_size(self, uid: str) -> int | None:
        """Bytes of user memory on the tag (ISO 15693 system information); None: not known."""
        return None

    # -- provided ----------------------------------------------------------------------------
    def _read_contained(self, uid: str) -> TagRead:
        """:meth:`read_tag`, with anything it raises kept to that one tag's ``TagRead.error``.

        One tag with bytes no parser foresaw must never stop the reader from reporting the other
        tags in the field (an exception here used to abort the whole poll, every poll).  A
        :class:`HardwareError` reads as unreadable (read again on the next polls); anything else
        is a bug in a decoder: logged with its traceback, shown to staff as undecodable.
        """
        try:
            return self.read_tag(uid)
        except HardwareError as exc:
            return TagRead(uid=uid, error=f"{UNREADABLE}: {exc}")
        except Exception:
            log.exception("%s: reading tag %s failed", self.kind, uid)
            return TagRead(uid=uid, error=UNDECODABLE)

    def set_security(self, uid: str, on: bool) -> None:
        """Set the gate-alarm state and read it back; raises :class:`HardwareError` on mismatch.

        Called from a worker thread by the circulation engine after a checkout (off) or a
        check-in (on).  The read-back matters: a tag that silently kept its alarm bit makes the
        gate beep at an honest patron.
        """
        self._write_security(uid, on)
        if self.read_security(uid) != on:
            raise HardwareError(f"tag {uid}: security still {'off' if on else 'on'} after write")

    @property
    def tags(self) -> list[TagRead]:
        """The tags currently in the field (last inventory).  Safe from any thread."""
        with self._tags_lock:
            return list(self._tags.values())

    def poll_once(self) -> None:
        """One inventory round: read new tags, forget gone ones, fire events on change.

        A tag that could not be read (at the edge of the field, moved mid-read) is read again on
        the next polls, up to ``read_retries`` times; when that succeeds it is announced again
        with ``when_tag_present`` carrying the item id.
        """
        uids = self.inventory()
        current = dict.fromkeys(uids)
        with self._tags_lock:
            known = dict(self._tags)
        removed = [u for u in known if u not in current]
        added = [u for u in uids if u not in known]
        retry = [u for u in uids if u in known and known[u].error and known[u].error.startswith(UNREADABLE)
                 and self._retries.get(u, 0) < self.read_retries]
        fresh: dict[str, TagRead] = {}
        for uid in added:
            fresh[uid] = self._read_contained(uid)
        for uid in retry:
            self._retries[uid] = self._retries.get(uid, 0) + 1
            tag = self._read_contained(uid)
            if tag != known[uid]:
                fresh[uid] = tag
        with self._tags_lock:
            for uid in removed:
                self._tags.pop(uid, None)
                self._retries.pop(uid, None)
            self._tags.update(fresh)
        if not removed and not fresh:
            return
        for uid in removed:
            self._fire("tag_removed", uid)
        for tag in fresh.values():
            self._fire("tag_present", tag)
        self._fire("tags_changed", self.tags)

    def _start(self) -> None:
        self._thread = PollingThread(f"{self.kind}-{self.driver}", self.poll_once, self.poll_interval,
                                     self.error_backoff)
        self._thread.start()

    def _close(self) -> None:
        if self._thread:
            self._thread.stop()

