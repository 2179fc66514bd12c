"""Pure SIP2 codec: one table from message code to a frozen record type, both directions.

No I/O here.  Every message is a small frozen dataclass whose fields say where they live on the
wire: ``fixed(width, kind)`` for the positional part after the 2-character code, ``var(id, kind)``
for the ``|``-terminated identified fields.  One generic :func:`encode` and one generic
:func:`decode` walk that description (the shape of Koha's ``%handlers`` table in
``C4/SIP/Sip/MsgType.pm``, re-derived; see /work/shared/reference/sip2.md section 1.5).

Why the leniency: real servers deviate (reference sip2.md section 0 and 1.8) -- CR LF terminators,
18 blanks for a date, a stray ``|`` after a fixed-only message, check-in replies without AQ, Koha's
alert type ``98``, ``&#124;`` escapes, free-form due dates.  Variable fields are parsed by id in any
order and unknown ids are kept in ``extra`` so nothing a server says is lost.

Checksums are verified over the *bytes on the wire* before any text decoding (Evergreen sends NFD
UTF-8 and its checksums only verify over those bytes, sip2.md 1.7); text is then decoded with the
configured charset and normalised to NFC for display.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple

from kiosk.errors import ProtocolError

__all__ = [
    "MESSAGES", "REQUESTS", "RESPONSES", "RESPONSE_TO", "ChecksumError", "FrameError", "Message",
    "Decoded", "checksum", "decode", "decode_frame", "encode", "sip_datetime", "parse_sip_datetime",
    "parse_due_date", "escape_value", "unescape_value",
]

DELIMITER = "|"
TERMINATOR = b"\r"
DATE_BLANK = " " * 18
# Koha Sip.pm add_field escapes the delimiter inside a value as an HTML entity (sip2.md 1.2).
_PIPE_ENTITY = "&#124;"


class FrameError(ProtocolError):
    """A frame that cannot be a SIP2 message (too short, unknown code, NUL byte, bad fixed field)."""


class ChecksumError(ProtocolError):
    """The AZ checksum does not match the bytes received: the frame was damaged on the way."""


# --------------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------------

def checksum(data: bytes) -> str:
    """SIP2 checksum of everything up to and including ``AZ``: two's complement of the low 16 bits
    of the byte sum, as 4 zero-padded upper-case hex digits (sip2.md 1.4; 3M example -> FCB4)."""
    return f"{(-sum(data)) & 0xFFFF:04X}"


def sip_datetime(dt: datetime | None) -> str:
    """18-char ``YYYYMMDDZZZZHHMMSS``.  Naive = local time (zone blank, preferred by the spec);
    an aware datetime is written in UTC with ``Z`` in the last zone position (sip2.md 1.3)."""
    if dt is None:
        return DATE_BLANK
    zone = "    "
    if dt.tzinfo is not None:
        dt, zone = dt.astimezone(UTC), "   Z"
    return f"{dt.year:04d}{dt.month:02d}{dt.day:02d}{zone}{dt.hour:02d}{dt.minute:02d}{dt.second:02d}"


def parse_sip_datetime(text: str | None) -> datetime | None:
    """Parse an 18-char SIP date; ``None`` for blanks or anything that is not one."""
    if not text or len(text) != 18:
        return None
    date, time_ = text[:8], text[12:]
    if not (date.isdigit() and time_.isdigit() and date.isascii() and time_.isascii()):
        return None
    try:
        dt = datetime(int(date[:4]), int(date[4:6]), int(date[6:]), int(time_[:2]), int(time_[2:4]),
                      int(time_[4:]))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if text[11] == "Z" else dt


# Due dates (AH) are free text: Koha's SIP date or a locale format, Evergreen "2011-10-28 23:59:59",
# a French ILS "04/01/2018" (sip2.md 1.3).  Day-first is assumed for slashes (European ILSes).
_DUE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%Y%m%d",
                "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%m/%d/%Y")


def parse_due_date(text: str | None) -> datetime | None:
    """Lenient due date parser; ``None`` when it cannot be read (the text is still shown as is)."""
    if not text or not text.strip():
        return None
    s = text.strip()
    dt = parse_sip_datetime(s)
    if dt is not None:
        return dt
    if re.fullmatch(r"\d{8} +\d{6}", s):        # SIP date with a mangled zone
        return parse_sip_datetime(s[:8] + "    " + s[-6:])
    iso = s.replace("Z", "+00:00") if s.endswith("Z") else s
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    for fmt in _DUE_FORMATS:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    return None


def escape_value(value: str) -> str:
    """Make a value safe for the wire: delimiter -> ``&#124;``, CR/LF -> space (Koha add_field)."""
    if not isinstance(value, str):
        value = str(value)
    return value.replace(DELIMITER, _PIPE_ENTITY).replace("\r", " ").replace("\n", " ")


def unescape_value(value: str) -> str:
    return value.replace(_PIPE_ENTITY, DELIMITER)


def _nfc(s: str) -> str:
    return s if s.isascii() else unicodedata.normalize("NFC", s)


# --------------------------------------------------------------------------------------------
# Field descriptions
# --------------------------------------------------------------------------------------------
# Fixed kinds: "str" (exact width), "yn" (Y/N; None = 'U' unknown or anything else received),
# "01" ('1'/'0'), "date" (18-char SIP date, None = blanks), "count" (N digits, None = blanks).
# Variable kinds: "req" (always written, "" when missing), "opt" (None = left out), "yn"
# (optional Y/N), "list" (repeatable, tuple).

def fixed(width: int, kind: str = "str", default: Any = None) -> Any:
    if default is None and kind == "str":
        default = " " * width
    return field(default=default, metadata={"fixed": width, "kind": kind})


def var(fid: str, kind: str = "opt") -> Any:
    default: Any = {"req": "", "opt": None, "yn": None, "list": ()}[kind]
    return field(default=default, metadata={"id": fid, "kind": kind})


class _FixedSpec(NamedTuple):
    name: str
    width: int
    kind: str


class _VarSpec(NamedTuple):
    name: str
    fid: str
    kind: str


@dataclass(frozen=True, kw_only=True)
class Message:
    """Base of every SIP2 record.  ``extra`` keeps identified fields this codec does not know
    (vendor extensions such as Koha's PB/PC/PI, duplicates), in the order received."""

    code: ClassVar[str] = ""
    extra: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # Accept a single string for repeatable fields: CheckoutResponse(screen_messages="No").
        for name in _list_fields(type(self)):
            v = getattr(self, name)
            if type(v) is not tuple:
                object.__setattr__(self, name, (v,) if isinstance(v, str) else tuple(v))

    @property
    def screen_message(self) -> str:
        """All AF screen messages joined for display ("" when the message has none)."""
        return " ".join(m.strip() for m in getattr(self, "screen_messages", ()) if m.strip())

    @property
    def print_line(self) -> str:
        return " ".join(m.strip() for m in getattr(self, "print_lines", ()) if m.strip())

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (dates as ISO text), with the message code and name."""
        out: dict[str, Any] = {"code": self.code, "message": type(self).__name__}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, tuple):
                v = [list(x) if isinstance(x, tuple) else x for x in v]
            out[f.name] = v
        return out


_SPEC_CACHE: dict[type, tuple[tuple[_FixedSpec, ...], tuple[_VarSpec, ...], dict[str, _VarSpec]]] = {}


def _specs(cls: type) -> tuple[tuple[_FixedSpec, ...], tuple[_VarSpec, ...], dict[str, _VarSpec]]:
    got = _SPEC_CACHE.get(cls)
    if got is None:
        fx = tuple(_FixedSpec(f.name, f.metadata["fixed"], f.metadata["kind"])
                   for f in dataclasses.fields(cls) if "fixed" in f.metadata)
        vs = tuple(_VarSpec(f.name, f.metadata["id"], f.metadata["kind"])
                   for f in dataclasses.fields(cls) if "id" in f.metadata)
        got = _SPEC_CACHE[cls] = (fx, vs, {v.fid: v for v in vs})
    return got


_LIST_CACHE: dict[type, tuple[str, ...]] = {}


def _list_fields(cls: type) -> tuple[str, ...]:
    got = _LIST_CACHE.get(cls)
    if got is None:
        got = _LIST_CACHE[cls] = tuple(v.name for v in _specs(cls)[1] if v.kind == "list")
    return got


def fixed_length(cls: type) -> int:
    """Length of the fixed part after the 2-character code."""
    return sum(s.width for s in _specs(cls)[0])


MESSAGES: dict[str, type[Message]] = {}
REQUESTS: dict[str, type[Message]] = {}    # SC -> ACS (what the kiosk sends)
RESPONSES: dict[str, type[Message]] = {}   # ACS -> SC (what the library system answers)


def _message(code: str, direction: str) -> Any:
    def register(cls: type[Message]) -> type[Message]:
        cls.code = code
        MESSAGES[code] = cls
        (REQUESTS if direction == "request" else RESPONSES)[code] = cls
        return cls
    return register


#: The reply code expected for each request code (Block Patron 01 is answered with 24).
RESPONSE_TO: dict[str, str] = {
    "93": "94", "99": "98", "23": "24", "63": "64", "11": "12", "09": "10", "29": "30",
    "65": "66", "17": "18", "35": "36", "37": "38", "15": "16", "01": "24", "25": "26",
    "19": "20", "97": "",  # 97: the server resends its last reply, whatever code it had
}


# --------------------------------------------------------------------------------------------
# Encode
# --------------------------------------------------------------------------------------------

def _yn(v: bool | None, unknown: str) -> str:
    return unknown if v is None else ("Y" if v else "N")


def _encode_fixed(spec: _FixedSpec, v: Any) -> str:
    kind, width = spec.kind, spec.width
    if kind == "date":
        return sip_datetime(v)
    if kind == "yn":
        return _yn(v, "U")
    if kind == "01":
        return "1" if v else "0"
    if kind == "count":
        return " " * width if v is None else str(int(v)).zfill(width)[-width:]
    s = "" if v is None else str(v).replace("\r", " ").replace("\n", " ")
    return s[:width].ljust(width)


def encode_text(record: Message) -> str:
    """The message text without error-detection trailer and terminator."""
    cls = type(record)
    fx, vs, _ = _specs(cls)
    parts = [cls.code]
    parts.extend(_encode_fixed(s, getattr(record, s.name)) for s in fx)
    for s in vs:
        v = getattr(record, s.name)
        if s.kind == "list":
            parts.extend(f"{s.fid}{escape_value(x)}{DELIMITER}" for x in v)
        elif s.kind == "yn":
            if v is not None:
                parts.append(f"{s.fid}{_yn(v, 'N')}{DELIMITER}")
        elif v is not None or s.kind == "req":
            parts.append(f"{s.fid}{escape_value(v or '')}{DELIMITER}")
    parts.extend(f"{fid}{escape_value(v)}{DELIMITER}" for fid, v in record.extra)
    return "".join(parts)


def encode(record: Message, *, seq: int | None = None, error_detection: bool = True,
           charset: str = "utf-8") -> bytes:
    """Encode a record to wire bytes ending in CR.

    With error detection the trailer is ``AY<seq>AZ<checksum>`` (``AZ`` only when ``seq`` is None
    and always for 96/97, which never carry a sequence number -- sip2.md 1.4).  Text is NFC
    normalised, then encoded (unencodable characters become ``?``), then checksummed: the checksum
    is over the bytes actually sent.
    """
    text = _nfc(encode_text(record))
    data = text.encode(charset, errors="replace")
    if error_detection:
        if seq is not None and record.code not in ("96", "97"):
            data += f"AY{int(seq) % 10}".encode("ascii")
        data += b"AZ"
        data += checksum(data).encode("ascii")
    return data + TERMINATOR


# --------------------------------------------------------------------------------------------
# Decode
# --------------------------------------------------------------------------------------------

class Decoded(NamedTuple):
    """A decoded frame with its error-detection trailer (``seq``/``checksum`` None when absent)."""

    record: Message
    seq: int | None
    checksum: str | None


# AY<digit>AZ<hex> (PyPI sip2 1.1 writes the checksum without zero padding, sip2.md 1.4) or AZ<hex4>.
_TRAILER_RE = re.compile(rb"(?:AY([0-9])AZ([0-9A-Fa-f]{1,4})|AZ([0-9A-Fa-f]{4}))\Z")


def _strip_terminator(frame: bytes) -> bytes:
    # Koha ends replies with CR LF by default; a reader splitting on CR leaves the LF in front of
    # the next frame (sip2.md 0.1).
    return frame.strip(b"\r\n")


def decode_frame(frame: bytes, *, charset: str = "utf-8", verify: bool = True,
                 require_checksum: bool = False) -> Decoded:
    """Decode wire bytes (with or without terminator) into a :class:`Decoded`.

    Raises :class:`ChecksumError` when a checksum is present and wrong (or missing while
    ``require_checksum``), :class:`FrameError` for anything that is not a SIP2 message.
    """
    if not isinstance(frame, (bytes, bytearray, memoryview)):
        raise FrameError(f"a frame must be bytes, not {type(frame).__name__}")
    data = _strip_terminator(bytes(frame))
    if b"\x00" in data:
        raise FrameError("NUL byte in frame (not allowed by SIP2)")
    if b"\r" in data:
        raise FrameError("carriage return inside a frame")
    seq: int | None = None
    cks: str | None = None
    tail = max(0, len(data) - 13)            # "AY9AZ" + 4 hex + slack: only the end can be a trailer
    m = _TRAILER_RE.search(data, tail)
    if m is not None and m.start() >= 2:
        seq = int(m.group(1)) if m.group(1) is not None else None
        cks = (m.group(2) or m.group(3)).decode("ascii").upper()
        covered = data[: m.end() - len(m.group(2) or m.group(3))]
        if verify and int(cks, 16) != int(checksum(covered), 16):
            raise ChecksumError(f"checksum {cks} does not match {checksum(covered)} over the received bytes")
        data = data[: m.start()]
    elif require_checksum and verify:
        raise ChecksumError("no AZ checksum although error detection is on")
    try:
        text = data.decode(charset, errors="replace")
    except LookupError as exc:
        raise FrameError(f"unknown character set {charset!r}") from exc
    return Decoded(parse_text(text), seq, cks)


def decode(frame: bytes, *, charset: str = "utf-8", verify: bool = True,
           require_checksum: bool = False) -> Message:
    """Decode wire bytes into the typed record for its message code (see :func:`decode_frame`)."""
    return decode_frame(frame, charset=charset, verify=verify, require_checksum=require_checksum).record


_YN = {"Y": True, "N": False, "y": True, "n": False}


def _dec_str(raw: str) -> str:
    return _nfc(raw.replace("\n", " ") if "\n" in raw else raw)


def _dec_yn(raw: str) -> bool | None:
    return _YN.get(raw)


def _dec_count(raw: str) -> int | None:
    s = raw.strip()
    return int(s) if s.isdigit() and s.isascii() else None


def _dec_01(raw: str) -> bool:
    if raw in ("1", "Y"):
        return True
    if raw in ("0", "N"):
        return False
    raise ValueError(raw)


_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(cls: type) -> dict[str, Any]:
    got = _DEFAULTS.get(cls)
    if got is None:
        got = _DEFAULTS[cls] = {
            f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
            for f in dataclasses.fields(cls)}
    return got


_FIXED_DECODERS = {"str": _dec_str, "yn": _dec_yn, "count": _dec_count, "01": _dec_01,
                   "date": parse_sip_datetime}
_PLANS: dict[type, tuple[int, tuple[tuple[str, int, int, Any], ...]]] = {}


def _plan(cls: type) -> tuple[int, tuple[tuple[str, int, int, Any], ...]]:
    """(fixed width, ((name, start, end, decoder), ...)) for a record type, computed once."""
    got = _PLANS.get(cls)
    if got is None:
        steps, pos = [], 0
        for f in _specs(cls)[0]:
            steps.append((f.name, pos, pos + f.width, _FIXED_DECODERS[f.kind]))
            pos += f.width
        got = _PLANS[cls] = (pos, tuple(steps))
    return got


def _lenient_fixed(code: str, body: str, width: int) -> str:
    """Repair known short fixed parts before slicing (sip2.md 1.8)."""
    if code == "99":
        head = body.split(DELIMITER, 1)[0]
        if len(head) == width - 1:      # node-sip2 sends a 2-digit print width: "990401.00|"
            return head[0] + "0" + head[1:] + body[len(head):]
    return body


def parse_text(text: str) -> Message:
    """Parse message text (no trailer, no terminator) into its record."""
    if len(text) < 2:
        raise FrameError(f"frame too short to hold a message code: {text!r}")
    code = text[:2]
    cls = MESSAGES.get(code)
    if cls is None:
        raise FrameError(f"unknown SIP2 message code {code!r}")
    by_id = _specs(cls)[2]
    width, steps = _plan(cls)
    body = _lenient_fixed(code, text[2:], width)
    if len(body) < width:
        raise FrameError(f"message {code} ({cls.__name__}): fixed part needs {width} characters, "
                         f"got {len(body)}")
    values: dict[str, Any] = {}
    for name, start, end, dec in steps:
        try:
            values[name] = dec(body[start:end])
        except ValueError:
            raise FrameError(f"message {code}: field {name} must be 0 or 1, got {body[start:end]!r}") from None
    lists: dict[str, list[str]] = {}
    extra: list[tuple[str, str]] = []
    for chunk in body[width:].split(DELIMITER):
        if not chunk:
            continue                    # a trailing '|' after a fixed-only message (jsip2)
        # LF is not displayable (and Koha's CR LF could leave one behind): shown as a space.
        value = chunk[2:]
        if "&" in value or "\n" in value:
            value = unescape_value(value).replace("\n", " ")
        fid, value = chunk[:2], _nfc(value)
        spec = by_id.get(fid)
        if spec is None:
            extra.append((fid, value))
        elif spec.kind == "list":
            lists.setdefault(spec.name, []).append(value)
        elif spec.name in values:
            extra.append((fid, value))  # duplicate of a single-valued field: keep the first
        elif spec.kind == "yn":
            values[spec.name] = _YN.get(value.strip()[:1])
        else:
            values[spec.name] = value
    for name, items in lists.items():
        values[name] = tuple(items)
    values["extra"] = tuple(extra)
    # Build the frozen record without running __init__: every value is already of its field's
    # type (tuples for repeatable fields), and this is the hot path of every reply.
    record = object.__new__(cls)
    record.__dict__.update(_defaults(cls))
    record.__dict__.update(values)
    return record


# The record types live in messages.py (one small frozen dataclass per message); importing it
# fills MESSAGES/REQUESTS/RESPONSES.  Re-exported so ``from kiosk.sip2.codec import CheckoutRequest``
# works.
from kiosk.sip2.messages import *  # noqa: E402,F403
from kiosk.sip2.messages import __all__ as _message_names  # noqa: E402

__all__ += list(_message_names)
