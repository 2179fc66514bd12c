"""Patron card numbers from ISO 14443 UIDs, in the numbering the library system uses.

Libraries register patron cards with whatever their desktop reader printed, and readers differ:
MSB-first hex (``8B6566B9``), LSB-first hex, the UID as a big-endian decimal number, or the
"Wiegand-style" LSB-first decimal (hardware-and-deployment.md, section 1.1, "UID format").  The
kiosk must produce the same string, so the format is configurable ([card_reader] card_format,
prefix).  The BCC check byte of the anticollision answer is never part of the UID.
"""

from __future__ import annotations

from kiosk.errors import ConfigError

CARD_FORMATS = ("hex", "hex_reversed", "decimal", "decimal_reversed")


def format_card_number(uid: bytes, card_format: str = "hex", prefix: str = "") -> str:
    """``uid`` (4, 7 or 10 bytes, MSB first as received) as the library's card number."""
    if card_format == "hex":
        text = uid.hex().upper()
    elif card_format == "hex_reversed":
        text = uid[::-1].hex().upper()
    elif card_format == "decimal":
        text = str(int.from_bytes(uid, "big"))
    elif card_format == "decimal_reversed":
        text = str(int.from_bytes(uid, "little"))
    else:
        raise ConfigError(f"[card_reader] card_format: expected one of {', '.join(CARD_FORMATS)}; "
                          f"got {card_format!r}")
    return prefix + text
