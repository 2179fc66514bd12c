"""3M proprietary "RFID501" tag layout (not ISO): decode and encode (pure).

From rfid-tags.md 4.4 (Biblio-RFID ``RFID501.pm``)::

    byte 0       0x04
    byte 1       high nibble: part number in the set, low nibble: parts in the set
    byte 2       0x00
    byte 3       item type (0 other, 1 book, 2 magazine, ...)
    bytes 4-19   barcode, ASCII, 0x00-padded
    bytes 20-23  big-endian: branch (high 12 bits) / library (low 20 bits)
    bytes 24-27  signed custom integer (big-endian)

There is no CRC.  A blank tag from the factory is 24 x 0x55 followed by 4 x 0x00.
"""

from __future__ import annotations

from kiosk.tags.model import TagData, TagDecodeError, check_item_id

MODEL = "3m"
LENGTH = 28
BLANK = b"\x55" * 24 + b"\x00" * 4


def looks_like(data: bytes) -> bool:
    return len(data) >= LENGTH and data[0] == 0x04 and data[2] == 0x00


def decode(data: bytes) -> TagData:
    data = bytes(data)
    if data[:LENGTH] == BLANK:
        raise TagDecodeError("3M tag is blank (factory pattern): it was never programmed")
    if not looks_like(data):
        raise TagDecodeError("not a 3M RFID501 tag (byte 0 must be 0x04, byte 2 0x00, 28 bytes)")
    part, parts = data[1] >> 4, data[1] & 0x0F
    raw = data[4:20].split(b"\x00", 1)[0]
    try:
        barcode = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise TagDecodeError("3M tag: barcode is not ASCII") from exc
    if not barcode or not barcode.isprintable():
        raise TagDecodeError("3M tag: barcode is empty or not printable")
    if parts == 0 or part == 0 or part > parts:
        raise TagDecodeError(f"3M tag: part {part} of {parts} is not a valid set")
    word = int.from_bytes(data[20:24], "big")
    extra = {"item_type": data[3], "branch": word >> 20, "library": word & 0xFFFFF,
             "custom": int.from_bytes(data[24:28], "big", signed=True)}
    return TagData(model=MODEL, primary_item_id=barcode, parts_in_item=parts, part_number=part,
                   crc_ok=None, extra=extra)


def encode(item_id: str, *, parts_in_item: int = 1, part_number: int = 1, item_type: int = 1,
           branch: int = 0, library: int = 0, custom: int = 0) -> bytes:
    raw = check_item_id(item_id, 16)
    for name, value in (("parts_in_item", parts_in_item), ("part_number", part_number), ("item_type", item_type),
                        ("branch", branch), ("library", library), ("custom", custom)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TagDecodeError(f"{name} must be a whole number, not {type(value).__name__}")
    if not -(1 << 31) <= custom < 1 << 31:
        raise TagDecodeError("3M tag: custom value does not fit in 4 bytes")
    if not 1 <= part_number <= parts_in_item <= 15:
        raise TagDecodeError(f"part {part_number} of {parts_in_item} does not fit a 3M tag (max 15)")
    if not (0 <= branch < 1 << 12 and 0 <= library < 1 << 20 and 0 <= item_type <= 255):
        raise TagDecodeError("3M tag: branch, library or item type out of range")
    out = bytearray(LENGTH)
    out[0], out[1], out[2], out[3] = 0x04, (part_number << 4) | parts_in_item, 0, item_type
    out[4:4 + len(raw)] = raw
    out[20:24] = ((branch << 20) | library).to_bytes(4, "big")
    out[24:28] = custom.to_bytes(4, "big", signed=True)
    return bytes(out)
