"""The plain records the devices hand out and take: a tag read, a receipt, a printer's status.

Apart from the device interfaces (:mod:`kiosk.hardware.base`) because most of the kiosk needs only
these -- the circulation engine, the book drop, the staff station and their tests build and read
``TagRead`` and ``Receipt`` without ever touching a device or a thread.  Frozen, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: start of ``TagRead.error`` when the tag's memory could not be read (as opposed to decoded)
UNREADABLE = "could not read the tag"
#: ``TagRead.error`` of a tag whose data made a decoder fail unexpectedly (logged as a bug)
UNDECODABLE = "tag data could not be decoded (unexpected content; see the log)"


@dataclass(frozen=True)
class TagRead:
    """One RFID item tag in the reader's field, decoded as far as it could be.

    ``uid`` is the tag's unique id as upper-case hex, MSB first (ISO 15693 UIDs are 8 bytes).
    ``item_id`` is the primary item identifier (usually the barcode) decoded from the tag data,
    or None when the data could not be decoded -- then ``error`` says why, in words staff can act
    on.  ``security_on`` is the gate-alarm state (AFI or EAS) when the reader reported it.
    """

    uid: str
    item_id: str | None = None
    parts_in_item: int = 1
    part_number: int = 1
    owner_isil: str | None = None
    security_on: bool | None = None
    error: str | None = None
    model: str | None = None          # "28560-3", "28560-2", "3m" (or None if undecoded)

@dataclass(frozen=True)
class Receipt:
    """A receipt as plain data; the printer driver lays it out for its paper width."""

    library_name: str
    lines: tuple[str, ...] = ()
    date: datetime | None = None
    title: str = ""
    footer: str = ""

@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said about itself.  ``ok`` False means do not offer a printed receipt."""

    ok: bool
    paper_low: bool = False
    paper_out: bool = False
    detail: str = ""

@dataclass(frozen=True)
class DeviceInfo:
    """What ``describe()`` returns for ``kiosk doctor``: driver name and where it is attached."""

    kind: str
    driver: str
    address: str = ""

