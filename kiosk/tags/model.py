"""What a decoded library tag says, shared by every tag data model (pure: no I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kiosk.errors import KioskError


class TagDecodeError(KioskError, ValueError):
    """Tag bytes that are not (or no longer) a valid library tag; the message says why."""


@dataclass(frozen=True)
class TagData:
    """The library data on one item tag.

    ``model`` is ``"28560-3"`` (Danish / fixed-length), ``"28560-2"`` (object identifiers,
    ISO/IEC 15962 encoding) or ``"3m"`` (3M proprietary RFID501 layout).  ``crc_ok`` is None
    where the model has no CRC.  ``usage`` is the type-of-usage code (ISO 28560-1: 0
    acquisition, 1 circulating, 2 not for circulation, 7 discarded, 8 patron card, ...).
    ``extensions`` lists the ISO 28560-3 extension blocks or the other ISO 28560-2 data
    elements; ``extra`` holds model-specific fields (3M branch/library, ...).
    """

    model: str
    primary_item_id: str
    owner_isil: str | None = None
    parts_in_item: int = 1
    part_number: int = 1
    usage: int | None = None
    crc_ok: bool | None = None
    version: int | None = None
    extensions: tuple[dict, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``kiosk tag decode`` (JSON-serialisable)."""
        d = asdict(self)
        d["extensions"] = list(self.extensions)
        return d


def isil_display(stored: str) -> str:
    """ISIL as written by people: ``DK718500`` -> ``DK-718500`` (28560-3 drops the first hyphen).

    rfid-tags.md 4.1: the 13-byte ISIL field is stored without the first hyphen.
    """
    if not stored or "-" in stored[:3] or len(stored) < 3:
        return stored
    return stored[:2] + "-" + stored[2:]


def isil_stored(isil: str) -> str:
    """The reverse of :func:`isil_display`: drop the first hyphen (only after a 2-letter prefix)."""
    if len(isil) > 3 and isil[2] == "-":
        return isil[:2] + isil[3:]
    return isil


ASCII_DIGITS = frozenset("0123456789")


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty string of the ASCII digits 0-9 only.

    ``str.isdigit()`` also accepts "²" and Arabic-Indic digits, which ``int()`` then either refuses
    (a ValueError escaping a parser) or silently reads; tag data is ASCII by definition.
    """
    return bool(text) and all(c in ASCII_DIGITS for c in text)


def check_isil(isil: str, max_len: int) -> bytes:
    """An owner ISIL (ISO 15511) as it can go on a tag: printable ASCII, at most ``max_len``."""
    if not isinstance(isil, str):
        raise TagDecodeError(f"ISIL must be text, not {type(isil).__name__}")
    try:
        raw = isil.encode("ascii")
    except UnicodeEncodeError:
        raise TagDecodeError(f"ISIL {isil!r} is not ASCII (an ISIL uses A-Z, a-z, 0-9, - : /)") from None
    if not isil.isprintable():
        raise TagDecodeError("ISIL contains control characters")
    if len(raw) > max_len:
        raise TagDecodeError(f"ISIL {isil!r} is longer than {max_len} characters")
    return raw


def check_item_id(item_id: str, max_len: int) -> bytes:
    """Item ids go on tags as ASCII; refuse what a tag cannot carry."""
    if not isinstance(item_id, str):
        raise TagDecodeError(f"item id must be text, not {type(item_id).__name__}")
    if not item_id:
        raise TagDecodeError("item id is empty")
    try:
        raw = item_id.encode("ascii")
    except UnicodeEncodeError:
        raise TagDecodeError(f"item id {item_id!r} is not ASCII") from None
    if len(raw) > max_len:
        raise TagDecodeError(f"item id {item_id!r} is longer than {max_len} characters")
    if not item_id.isprintable():
        raise TagDecodeError("item id contains control characters")
    return raw
