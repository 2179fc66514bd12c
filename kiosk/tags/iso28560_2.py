"""ISO 28560-2: object-identifier data elements in ISO/IEC 15962 encoding (pure).

The tag memory (DSFID 0x06) is a stream of data sets (rfid-tags.md 4.2)::

    precursor   bit 7 offset flag, bits 6-4 compaction, bits 3-0 relative OID (15: next byte + 15)
    [offset]    only with the offset flag: number of 0x80 pad bytes after the data
    length      7 bits per byte, bit 7 set on all but the last byte
    data ... [pad ...]
    0x00 ends the stream; 0x80 where a precursor is expected is padding.

Compaction: 0 application-defined, 1 integer, 2 numeric (4-bit), 3 5-bit, 4 6-bit, 5 7-bit,
6 octet string, 7 UTF-8.  The owner ISIL (OID 3) uses the application-defined ISIL code
(5-bit upper/lower case tables and a 4-bit numeric table with latch/shift).
Set information (OID 4) is a digit string whose first half is the number of parts and second
half the part number (the order of ISO 28560-3's basic block) -- our reading, not verified
against the standard's text.
"""

from __future__ import annotations

from kiosk.tags.model import TagData, TagDecodeError, check_isil, check_item_id, is_ascii_digits

MODEL = "28560-2"
DSFID = 0x06

OID_NAMES = {
    1: "primary item identifier", 2: "content parameter", 3: "owner library ISIL",
    4: "set information", 5: "type of usage", 6: "shelf location", 7: "ONIX media format",
    8: "MARC media format", 9: "supplier identifier", 10: "order number",
    11: "ILL borrowing institution", 12: "ILL borrowing transaction number", 13: "GS1 product id",
    14: "alternative unique item identifier", 15: "local data A", 16: "local data B", 17: "title",
    18: "product identifier local", 19: "media format (other)", 20: "supply chain stage",
    21: "supplier invoice number", 22: "alternative item identifier",
    23: "alternative owner library identifier", 24: "subsidiary of an owner library",
    25: "alternative ILL borrowing institution", 26: "local data C",
}

# ISIL application-defined code (rfid-tags.md 4.2): 28/29 latch/shift lower (or upper from the
# lower table), 30/31 latch/shift numeric; numeric table 12/13 upper, 14/15 lower.
_UPPER = "-ABCDEFGHIJKLMNOPQRSTUVWXYZ:"
_LOWER = "-abcdefghijklmnopqrstuvwxyz/"
_DIGITS = "0123456789-:"
#: longest integer-compacted value decoded (32 bytes = 77 digits); longer ones are refused, not
#: turned into a number with thousands of digits (Python refuses str() of those anyway)
MAX_INTEGER_BYTES = 32
#: ISO 15511: an ISIL is at most 16 characters
ISIL_MAX = 16


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big") if data else 0
        self.left = len(data) * 8

    def take(self, n: int) -> int | None:
        if self.left < n:
            return None
        self.left -= n
        return (self.value >> self.left) & ((1 << n) - 1)


def decode_isil(data: bytes) -> str:
    """The latch/shift ISIL code; trailing bits shorter than a symbol are padding."""
    bits = _Bits(data)
    mode, out = "U", []
    shift: str | None = None
    while True:
        current = shift or mode
        shift = None
        sym = bits.take(4 if current == "N" else 5)
        if sym is None:
            break
        if current == "N":
            if sym < 12:
                out.append(_DIGITS[sym])
            elif sym == 12:
                mode = "U"
            elif sym == 13:
                shift = "U"
            elif sym == 14:
                mode = "L"
            else:
                shift = "L"
            continue
        table = _UPPER if current == "U" else _LOWER
        if sym < 28:
            out.append(table[sym])
        elif sym == 28:
            mode = "L" if current == "U" else "U"
        elif sym == 29:
            shift = "L" if current == "U" else "U"
        elif sym == 30:
            mode = "N"
        else:
            shift = "N"
    # Zero padding from other encoders reads as a trailing "-", which no ISIL ends with.
    return "".join(out).rstrip("-")


def encode_isil(isil: str) -> bytes:
    """Encode an ISIL: a latch for a run of characters, a shift for a single one.

    The Finnish vector's "FI-Mamk-M" uses a shift for the last "M"; so do we.
    """
    check_isil(isil, ISIL_MAX)
    tables = {"U": _UPPER, "L": _LOWER, "N": _DIGITS}
    syms: list[tuple[int, int]] = []   # (value, width)
    mode = "U"
    for i, ch in enumerate(isil):
        if ch in tables[mode]:
            syms.append((tables[mode].index(ch), 4 if mode == "N" else 5))
            continue
        if ch in "0123456789":
            want = "N"
        elif ch in _UPPER:
            want = "U"
        elif ch in _LOWER:
            want = "L"
        else:
            raise TagDecodeError(f"ISIL {isil!r}: character {ch!r} cannot be encoded")
        following = isil[i + 1:i + 2]
        single = not following or following not in tables[want] or following in tables[mode]
        if mode == "N":
            syms.append(({"U": 13, "L": 15}[want] if single else {"U": 12, "L": 14}[want], 4))
        elif want == "N":
            syms.append((31 if single else 30, 5))
        else:
            syms.append((29 if single else 28, 5))
        syms.append((tables[want].index(ch), 4 if want == "N" else 5))
        if not single:
            mode = want
    # Pad with 1-bits: they read as a trailing shift (or too few bits), never as a character.
    return _pack(syms, pad_ones=True)


def _pack(syms: list[tuple[int, int]], pad_bit: int = 0, pad_ones: bool = False) -> bytes:
    value, nbits = 0, 0
    for sym, width in syms:
        value = (value << width) | sym
        nbits += width
    pad = (-nbits) % 8
    if pad:
        fill = (1 << pad) - 1 if pad_ones else ((pad_bit << (pad - 1)) if pad_bit else 0)
        value = (value << pad) | fill
        nbits += pad
    return value.to_bytes(nbits // 8, "big")


def _decode_chars(data: bytes, width: int) -> str:
    bits = _Bits(data)
    total = bits.left
    out = []
    while (sym := bits.take(width)) is not None:
        if width == 5:
            out.append(chr(sym + 0x40))
        elif width == 6:
            out.append(chr(sym + 0x40) if sym < 0x20 else chr(sym))
        else:
            out.append(chr(sym))
    # ISO/IEC 15962 pads to a byte with "10..." bits; a whole pad symbol would decode as a
    # space (6-bit) or "P" (5-bit): drop it when it lies inside the last byte's padding.
    if out and width * len(out) > total - 8:
        pad_sym = 1 << (width - 1)
        last = ord(out[-1]) if width == 7 else (ord(out[-1]) & ((1 << width) - 1))
        if last == pad_sym or (width == 7 and last == 0):
            out.pop()
    return "".join(out)


def _encode_chars(text: str, width: int) -> bytes:
    syms = [(ord(c) & ((1 << width) - 1), width) for c in text]
    return _pack(syms, pad_bit=1)


def _decode_value(oid: int, compaction: int, data: bytes) -> str:
    if compaction == 0:
        if oid == 3:
            return decode_isil(data)
        return data.hex().upper()
    if compaction == 1:
        if len(data) > MAX_INTEGER_BYTES:
            raise TagDecodeError(f"ISO 28560-2: OID {oid} is a {len(data)}-byte integer "
                                 f"(at most {MAX_INTEGER_BYTES} expected)")
        return str(int.from_bytes(data, "big"))
    if compaction == 2:
        digits = "".join(f"{b >> 4:x}{b & 0xF:x}" for b in data)
        return digits.rstrip("f")
    if compaction in (3, 4, 5):
        return _decode_chars(data, {3: 5, 4: 6, 5: 7}[compaction])
    if compaction == 6:
        return data.hex().upper()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TagDecodeError(f"ISO 28560-2: OID {oid} is not valid UTF-8") from exc


def decode_elements(data: bytes) -> list[dict]:
    """Every data set in the stream as ``{oid, name, compaction, value}``."""
    out: list[dict] = []
    pos, n = 0, len(data)
    while pos < n:
        pre = data[pos]
        if pre == 0x00:
            break
        if pre == 0x80:
            pos += 1
            continue
        pos += 1
        offset_flag, compaction, oid = pre >> 7, (pre >> 4) & 7, pre & 0x0F
        if oid == 15:
            if pos >= n:
                raise TagDecodeError("ISO 28560-2: data set cut short after its precursor")
            oid = 15 + data[pos]
            pos += 1
        pad = 0
        if offset_flag:
            if pos >= n:
                raise TagDecodeError("ISO 28560-2: data set cut short (offset byte missing)")
            pad = data[pos]
            pos += 1
        length = 0
        for _ in range(4):
            if pos >= n:
                raise TagDecodeError("ISO 28560-2: data set cut short (length missing)")
            b = data[pos]
            pos += 1
            length = (length << 7) | (b & 0x7F)
            if not b & 0x80:
                break
        else:
            raise TagDecodeError("ISO 28560-2: length field too long")
        if length == 0 or pos + length > n:
            raise TagDecodeError(f"ISO 28560-2: OID {oid} length {length} runs past the data")
        value = _decode_value(oid, compaction, data[pos:pos + length])
        entry = {"oid": oid, "name": OID_NAMES.get(oid, f"OID {oid}"), "compaction": compaction,
                 "value": value}
        raw = data[pos:pos + length]
        if compaction == 6 and all(0x20 <= b < 0x7F for b in raw):
            entry["text"] = raw.decode("ascii")
        out.append(entry)
        pos += length + pad
    return out


def decode(data: bytes) -> TagData:
    """Decode ISO 28560-2 tag memory; the first data set must be the primary item id."""
    elements = decode_elements(bytes(data))
    if not elements or elements[0]["oid"] != 1:
        raise TagDecodeError("ISO 28560-2: the first data element is not the primary item id")
    item_id = elements[0]["value"]
    if not item_id or not item_id.isprintable():
        raise TagDecodeError("ISO 28560-2: primary item id is empty or not printable")
    by_oid = {e["oid"]: e["value"] for e in elements}
    parts = part = 1
    if 4 in by_oid:
        parts, part = _parse_set(by_oid[4])
    usage = None
    if 5 in by_oid:
        usage = _parse_usage(by_oid[5])
    return TagData(model=MODEL, primary_item_id=item_id, owner_isil=by_oid.get(3),
                   parts_in_item=parts, part_number=part, usage=usage, crc_ok=None,
                   extensions=tuple(e for e in elements[1:] if e["oid"] not in (3, 4)))


def _parse_usage(text: str) -> int | None:
    """Type of usage: one application-defined byte (high nibble) or a decimal number."""
    if len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text):
        return int(text, 16) >> 4
    if is_ascii_digits(text) and len(text) <= 3:
        return int(text)
    return None


def _parse_set(text: str) -> tuple[int, int]:
    # ASCII digits only: "²²" passes str.isdigit() but not int() (a ValueError that stopped the
    # reader from reporting any tag in the field).
    if not is_ascii_digits(text) or len(text) % 2 or len(text) > 8:
        raise TagDecodeError(f"ISO 28560-2: set information {text!r} is not an even digit string")
    half = len(text) // 2
    return int(text[:half]), int(text[half:])


def _data_set(oid: int, compaction: int, data: bytes) -> bytes:
    out = bytearray()
    if oid < 15:
        out.append((compaction << 4) | oid)
    else:
        out += bytes([(compaction << 4) | 15, oid - 15])
    length, groups = len(data), []
    while True:
        groups.append(length & 0x7F)
        length >>= 7
        if not length:
            break
    groups.reverse()
    out += bytes([g | 0x80 for g in groups[:-1]] + [groups[-1]])
    return bytes(out) + data


def encode(item_id: str, *, isil: str = "", parts_in_item: int = 1, part_number: int = 1,
           usage: int | None = None) -> bytes:
    """Build a 28560-2 data stream (terminated by 0x00).

    The item id uses integer compaction when it is digits without a leading zero, else 6-bit
    when it fits that table, else 7-bit ASCII.
    """
    check_item_id(item_id, 64)
    for name, value in (("parts_in_item", parts_in_item), ("part_number", part_number)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TagDecodeError(f"{name} must be a whole number, not {type(value).__name__}")
    if usage is not None and (not isinstance(usage, int) or not 0 <= usage <= 15):
        raise TagDecodeError(f"type of usage {usage!r} does not fit in 4 bits")
    if is_ascii_digits(item_id) and not item_id.startswith("0") and len(item_id) <= 77:
        n = int(item_id)
        first = _data_set(1, 1, n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big"))
    elif all(0x20 <= ord(c) <= 0x5F for c in item_id):
        first = _data_set(1, 4, _encode_chars(item_id, 6))
    else:
        first = _data_set(1, 5, _encode_chars(item_id, 7))
    out = bytearray(first)
    if isil:
        out += _data_set(3, 0, encode_isil(isil))
    if parts_in_item != 1 or part_number != 1:
        if not 1 <= part_number <= parts_in_item <= 99:
            raise TagDecodeError(f"part {part_number} of {parts_in_item} is not a valid set")
        out += _data_set(4, 2, bytes.fromhex(f"{parts_in_item:02d}{part_number:02d}"))
    if usage is not None:
        out += _data_set(5, 0, bytes([(usage & 0x0F) << 4]))
    out.append(0)
    return bytes(out)
