"""Pure SIP2 codec: wire bytes <-> typed records, both directions.  No I/O here.

This module is the framing -- the character set, the ``AY<seq>AZ<checksum>`` error-detection
trailer, the CR terminator -- and the public face of the codec: it re-exports the record types
(kiosk/sip2/messages/), the message table (kiosk/sip2/record.py), the text codec
(kiosk/sip2/fieldcodec.py) and the value formats (kiosk/sip2/values.py), so that
``from kiosk.sip2.codec import CheckoutRequest, encode, decode`` is all a caller needs.

Checksums are verified over the *bytes on the wire* before any text decoding (Evergreen sends NFD
UTF-8 and its checksums only verify over those bytes, sip2.md 1.7); text is then decoded with the
configured charset and normalised to NFC for display, one value at a time (fieldcodec.py says why
not over the frame).  Lenient about real servers' framing (sip2.md section 0 and 1.8): CR LF
terminators, a checksum without zero padding.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from kiosk.errors import ProtocolError

# The public API (many importers across kiosk/, tests/, bench/): re-exported on purpose.
from kiosk.sip2.fieldcodec import _ENCODERS, FrameError, encode_text, parse_text
from kiosk.sip2.record import MESSAGES, REQUESTS, RESPONSE_TO, RESPONSES, Message, fixed_length
from kiosk.sip2.values import escape_value, parse_due_date, parse_sip_datetime, sip_datetime, unescape_value

try:
    from zlib import adler32 as _adler32
except ImportError:  # pragma: no cover - a CPython built without zlib
    _adler32 = None  # type: ignore[assignment]

__all__ = [
    "MESSAGES", "REQUESTS", "RESPONSES", "RESPONSE_TO", "ChecksumError", "FrameError", "Message",
    "Decoded", "checksum", "decode", "decode_frame", "encode", "sip_datetime", "parse_sip_datetime",
    "parse_due_date", "escape_value", "unescape_value", "encode_text", "parse_text", "fixed_length",
]

TERMINATOR = b"\r"


class ChecksumError(ProtocolError):
    """The AZ checksum does not match the bytes received: the frame was damaged on the way."""


# --------------------------------------------------------------------------------------------
# The checksum (sip2.md 1.4): over the bytes on the wire
# --------------------------------------------------------------------------------------------

def byte_sum(data: bytes | bytearray | memoryview) -> int:
    """``sum(data)`` computed in C.  Adler-32's low half is 1 + the byte sum modulo 65521 (RFC 1950
    section 8.2), which is the exact sum while a piece holds at most 256 bytes (1 + 256 * 255 <
    65521).  ``sum()`` over a 200-byte frame costs more than the rest of the trailer handling."""
    n = len(data)
    if _adler32 is None:  # pragma: no cover
        return sum(data)
    if n <= 256:
        return (_adler32(data) & 0xFFFF) - 1
    view = memoryview(data).cast("B")
    return sum((_adler32(view[i: i + 256]) & 0xFFFF) - 1 for i in range(0, n, 256))


def checksum(data: bytes) -> str:
    """SIP2 checksum of everything up to and including ``AZ``: two's complement of the low 16 bits
    of the byte sum, as 4 zero-padded upper-case hex digits (sip2.md 1.4; 3M example -> FCB4)."""
    return "%04X" % ((-byte_sum(data)) & 0xFFFF)


# --------------------------------------------------------------------------------------------
# Frames: text -> charset -> trailer -> CR, and back
# --------------------------------------------------------------------------------------------

def encode(record: Message, *, seq: int | None = None, error_detection: bool = True,
           charset: str = "utf-8") -> bytes:
    """Encode a record to wire bytes ending in CR.

    With error detection the trailer is ``AY<seq>AZ<checksum>`` (``AZ`` only when ``seq`` is None
    and always for 96/97, which never carry a sequence number -- sip2.md 1.4).  Each variable value
    is NFC normalised (not the frame: that would move field boundaries), the text is encoded
    (unencodable characters become ``?``), then checksummed: the checksum is over the bytes actually
    sent (sip2.md 0.3).
    """
    enc = _ENCODERS.get(type(record))
    text = enc(record) if enc is not None else encode_text(record)
    data = text.encode(charset, errors="replace")
    if not error_detection:
        return data + TERMINATOR
    if seq is not None and record.code not in ("96", "97"):
        data += b"AY%dAZ" % (int(seq) % 10)
    else:
        data += b"AZ"
    return b"%s%04X\r" % (data, (-byte_sum(data)) & 0xFFFF)


class Decoded(NamedTuple):
    """A decoded frame with its error-detection trailer (``seq``/``checksum`` None when absent)."""

    record: Message
    seq: int | None
    checksum: str | None


# AY<digit>AZ<hex> (PyPI sip2 1.1 writes the checksum without zero padding, sip2.md 1.4) or AZ<hex4>.
_TRAILER_RE = re.compile(rb"(?:AY([0-9])AZ([0-9A-Fa-f]{1,4})|AZ([0-9A-Fa-f]{4}))\Z")
_HEX = b"0123456789ABCDEFabcdef"
_new_decoded = tuple.__new__


def decode_frame(frame: bytes, *, charset: str = "utf-8", verify: bool = True,
                 require_checksum: bool = False) -> Decoded:
    """Decode wire bytes (with or without terminator) into a :class:`Decoded`.

    Raises :class:`ChecksumError` when a checksum is present and wrong (or missing while
    ``require_checksum``), :class:`FrameError` for anything that is not a SIP2 message.
    """
    if type(frame) is not bytes:
        if not isinstance(frame, (bytes, bytearray, memoryview)):
            raise FrameError(f"a frame must be bytes, not {type(frame).__name__}")
        frame = bytes(frame)
    # Koha ends replies with CR LF by default; a reader splitting on CR leaves the LF in front of
    # the next frame (sip2.md 0.1).
    data = frame.strip(b"\r\n")
    if b"\x00" in data:
        raise FrameError("NUL byte in frame (not allowed by SIP2)")
    if b"\r" in data:
        raise FrameError("carriage return inside a frame")
    seq: int | None = None
    cks: str | None = None
    n = len(data)
    # The usual trailer "AY<d>AZ<hex4>" is checked in place; anything else goes to the regex.  Both
    # find the same (leftmost) match: no trailer can start before n - 9.
    if (n >= 11 and data[n - 6: n - 4] == b"AZ" and data[n - 9: n - 7] == b"AY" and 48 <= data[n - 7] <= 57
            and not data[n - 4:].translate(None, _HEX)):
        seq, raw, start, end = data[n - 7] - 48, data[n - 4:], n - 9, n - 4
    else:
        m = _TRAILER_RE.search(data, max(0, n - 13))   # "AY9AZ" + 4 hex + slack: only the end
        if m is not None and m.start() >= 2:
            seq = int(m.group(1)) if m.group(1) is not None else None
            raw = m.group(2) or m.group(3)
            start, end = m.start(), m.end() - len(raw)
        else:
            raw = None
    if raw is not None:
        cks = raw.decode("ascii").upper()
        if verify and (byte_sum(data[:end]) + int(raw, 16)) & 0xFFFF:   # sum + checksum == 0 (mod 2**16)
            raise ChecksumError(f"checksum {cks} does not match {checksum(data[:end])} over the received bytes")
        data = data[:start]
    elif require_checksum and verify:
        raise ChecksumError("no AZ checksum although error detection is on")
    try:
        text = data.decode(charset, "replace")
    except LookupError as exc:
        raise FrameError(f"unknown character set {charset!r}") from exc
    return _new_decoded(Decoded, (parse_text(text), seq, cks))   # no Python-level __new__


def decode(frame: bytes, *, charset: str = "utf-8", verify: bool = True,
           require_checksum: bool = False) -> Message:
    """Decode wire bytes into the typed record for its message code (see :func:`decode_frame`)."""
    return decode_frame(frame, charset=charset, verify=verify, require_checksum=require_checksum).record


# The record types (one small frozen dataclass per message, kiosk/sip2/messages/); importing them
# fills MESSAGES/REQUESTS/RESPONSES.  Re-exported so ``from kiosk.sip2.codec import CheckoutRequest``
# works.
from kiosk.sip2.messages import *  # noqa: E402,F403
from kiosk.sip2.messages import __all__ as _message_names  # noqa: E402

__all__ += list(_message_names)
