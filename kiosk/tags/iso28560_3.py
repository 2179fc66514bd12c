"""ISO 28560-3 ("fixed length", the Danish data model): decode and encode (pure).

Layout (rfid-tags.md 4.1; vectors in iso28560_vectors.json)::

    byte 0       high nibble: version (1), low nibble: type of usage
    byte 1       parts in item (total)          byte 2   part number
    bytes 3-18   primary item identifier, ASCII, 0x00-padded
    bytes 19-20  CRC-16/CCITT-FALSE, LSB first, over bytes 0-18 + 21-33
    bytes 21-33  owner library ISIL without its first hyphen (DK718500 = DK-718500)
    bytes 34-    structured extension blocks: [length][id LSB][id MSB][xor] data...,
                 all bytes of a block XOR to 0; a 0x00 length ends the list

A 32-byte truncated basic block is allowed (CRC computed as if bytes 32-33 were 0x00).  Some
readers return 4-byte blocks byte-reversed; like libdanrfid (``DDMData.isvalid``) we retry the
CRC with every 4-byte block reversed.
"""

from __future__ import annotations

from kiosk.tags.model import TagData, TagDecodeError, check_isil, check_item_id, isil_display, isil_stored

MODEL = "28560-3"
BASIC_LEN = 34
ISIL_LEN = 13
ITEM_LEN = 16
EXT_LIBRARY, EXT_ACQUISITION = 1, 2


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no xorout.

    Check values (iso28560_vectors.json "crc"): "123456789" -> 0x29B1, "RFID tag data model" -> 0x1AEE.
    """
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def basic_block_crc(data: bytes) -> int:
    """The CRC of a (possibly 32-byte truncated) basic block: bytes 0-18 and 21-33."""
    padded = bytes(data[:BASIC_LEN]).ljust(BASIC_LEN, b"\x00")
    return crc16_ccitt_false(padded[0:19] + padded[21:34])


def _stored_crc(data: bytes) -> int:
    return data[19] | (data[20] << 8)


def _reverse_blocks(data: bytes, size: int = 4) -> bytes:
    return b"".join(data[i:i + size][::-1] for i in range(0, len(data), size))


def _text(field: bytes, what: str) -> str:
    raw = field.split(b"\x00", 1)[0]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TagDecodeError(f"ISO 28560-3: {what} is not text") from exc
    if not text.isprintable():
        raise TagDecodeError(f"ISO 28560-3: {what} contains control characters")
    return text


def crc_matches(data: bytes) -> bool:
    return len(data) >= 32 and _stored_crc(data) == basic_block_crc(data)


def looks_like(data: bytes) -> bool:
    """Version nibble 1 and a plausible basic block (used when the CRC does not match)."""
    if len(data) < 32 or data[0] >> 4 != 1:
        return False
    item = data[3:19].split(b"\x00", 1)[0]
    return bool(item) and all(0x20 <= b < 0x7F for b in item)


def decode(data: bytes) -> TagData:
    """Decode ISO 28560-3 tag memory.  Raises :class:`TagDecodeError` for anything else.

    A CRC mismatch is reported (``crc_ok=False``) rather than raised, so staff tools can show
    what is on a damaged tag; the reader layer refuses such tags for circulation.
    """
    data = bytes(data)
    if len(data) < 32:
        raise TagDecodeError(f"ISO 28560-3: {len(data)} bytes is shorter than a basic block (32)")
    crc_ok = crc_matches(data)
    if not crc_ok:
        flipped = _reverse_blocks(data)
        if crc_matches(flipped):
            data, crc_ok = flipped, True
    version, usage = data[0] >> 4, data[0] & 0x0F
    if version != 1:
        raise TagDecodeError(f"ISO 28560-3: unknown version {version} (expected 1)")
    parts, part = data[1], data[2]
    item_id = _text(data[3:19], "primary item id")
    if not item_id:
        raise TagDecodeError("ISO 28560-3: primary item id is empty")
    isil = _text(data[21:BASIC_LEN], "owner ISIL") if len(data) > 21 else ""
    extensions = tuple(decode_extensions(data[BASIC_LEN:])) if len(data) > BASIC_LEN else ()
    return TagData(model=MODEL, primary_item_id=item_id, owner_isil=isil_display(isil) or None,
                   parts_in_item=parts, part_number=part, usage=usage, crc_ok=crc_ok,
                   version=version, extensions=extensions)


def decode_extensions(data: bytes) -> list[dict]:
    """Structured extension blocks after the basic block (stops at a 0x00 length or the end)."""
    out: list[dict] = []
    pos = 0
    while pos < len(data) and data[pos] != 0:
        length = data[pos]
        if length < 4 or pos + length > len(data):
            out.append({"error": f"extension block at byte {BASIC_LEN + pos} has bad length {length}"})
            break
        block = data[pos:pos + length]
        xor = 0
        for b in block:
            xor ^= b
        block_id = block[1] | (block[2] << 8)
        entry: dict = {"id": block_id, "length": length, "xor_ok": xor == 0, "data": block[4:].hex()}
        entry.update(_known_extension(block_id, block[4:]))
        out.append(entry)
        pos += length
    return out


def _known_extension(block_id: int, body: bytes) -> dict:
    """Fields of the two extension blocks ISO 28560-3 defines (Annex B.2 vector)."""
    try:
        if block_id == EXT_LIBRARY and body:
            return {"name": "library", "media_format": body[0]}
        if block_id == EXT_ACQUISITION:
            names = ("supplier_id", "product_id_local", "order_number", "supplier_invoice")
            values = body.split(b"\x00")
            return {"name": "acquisition",
                    **{n: v.decode("utf-8", "replace") for n, v in zip(names, values, strict=False)}}
    except (IndexError, ValueError):
        pass
    return {}


def encode(item_id: str, *, isil: str = "", parts_in_item: int = 1, part_number: int = 1,
           usage: int = 1, extensions: tuple[tuple[int, bytes], ...] = ()) -> bytes:
    """Build tag memory: the 34-byte basic block with its CRC, then extension blocks.

    ``extensions`` are ``(block_id, body)`` pairs; each gets its length and XOR byte.
    """
    raw_item = check_item_id(item_id, ITEM_LEN)
    for name, value in (("parts_in_item", parts_in_item), ("part_number", part_number), ("usage", usage)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TagDecodeError(f"{name} must be a whole number, not {type(value).__name__}")
    if not 1 <= parts_in_item <= 255 or not 1 <= part_number <= parts_in_item:
        raise TagDecodeError(f"part {part_number} of {parts_in_item} is not a valid set")
    if not 0 <= usage <= 15:
        raise TagDecodeError(f"type of usage {usage} does not fit in 4 bits")
    check_isil(isil, 64)
    raw_isil = check_isil(isil_stored(isil), ISIL_LEN) if isil else b""
    block = bytearray(BASIC_LEN)
    block[0] = (1 << 4) | usage
    block[1], block[2] = parts_in_item, part_number
    block[3:3 + len(raw_item)] = raw_item
    block[21:21 + len(raw_isil)] = raw_isil
    crc = basic_block_crc(bytes(block))
    block[19], block[20] = crc & 0xFF, crc >> 8
    for block_id, body in extensions:
        if not isinstance(block_id, int) or not 0 <= block_id <= 0xFFFF or not isinstance(body, bytes | bytearray):
            raise TagDecodeError("extension blocks are (id 0-65535, bytes) pairs")
        length = 4 + len(body)
        if length > 255:
            raise TagDecodeError("extension block longer than 255 bytes")
        head = bytes([length, block_id & 0xFF, block_id >> 8])
        xor = 0
        for b in head + body:
            xor ^= b
        block += head + bytes([xor]) + body
    if extensions:
        block.append(0)
    return bytes(block)
