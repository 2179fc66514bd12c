"""Pure SIP2 codec: one table from message code to a frozen record type, both directions.

No I/O here.  Every message is a small frozen dataclass whose fields say where they live on the
wire: ``fixed(width, kind)`` for the positional part after the 2-character code, ``var(id, kind)``
for the ``|``-terminated identified fields (the shape of Koha's ``%handlers`` table in
``C4/SIP/Sip/MsgType.pm``, re-derived from the 3M SIP2 2.00 specification, section 1.5).
:func:`encode` and :func:`decode` use one encoder, one decoder and one ``__init__`` per record
type, generated once from that description the way :mod:`dataclasses` generates methods:
walking the description on every call cost more than the loopback round trip itself
(``bench/bench_sip2.py``, docs/sip2.md "Performance").

Why the leniency: real servers deviate (reference sip2.md section 0 and 1.8) -- CR LF terminators,
18 blanks for a date, a stray ``|`` after a fixed-only message, check-in replies without AQ, Koha's
alert type ``98``, ``&#124;`` escapes, free-form due dates.  Variable fields are parsed by id in any
order and unknown ids are kept in ``extra`` so nothing a server says is lost.

Checksums are verified over the *bytes on the wire* before any text decoding (Evergreen sends NFD
UTF-8 and its checksums only verify over those bytes, sip2.md 1.7); text is then decoded with the
configured charset and normalised to NFC for display.

Normalisation works on one field value at a time, never on a whole frame.  The frame's structure
is positional and delimited: a fixed part of so many *characters*, then fields made of a
2-character id, a value and ``|`` (sip2.md 1.2, 1.5).  NFC changes lengths (``e`` + U+0301 -> ``é``)
and maps some characters to others (U+037E GREEK QUESTION MARK -> ``;``), so normalising a frame
moves field boundaries: a value that starts with a combining mark joins its field id (``AE`` +
U+0301 -> ``AÉ``), a fixed field shrinks.  So: the decoder slices and splits the text as received,
then normalises each variable value *before* undoing Koha's ``&#124;`` escape (normalising after it
could turn ``&#124`` + U+037E into a literal ``|``); the encoder normalises each value before
escaping it; field ids and fixed positional fields (codes, flags, counts -- not text for people)
are written and read as they are.  Decode -> encode -> decode is therefore stable.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple

from kiosk.errors import ProtocolError

try:
    from zlib import adler32 as _adler32
except ImportError:  # pragma: no cover - a CPython built without zlib
    _adler32 = None  # type: ignore[assignment]

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


def sip_datetime(dt: datetime | None) -> str:
    """18-char ``YYYYMMDDZZZZHHMMSS``.  Naive = local time (zone blank, preferred by the spec);
    an aware datetime is written in UTC with ``Z`` in the last zone position (sip2.md 1.3)."""
    if dt is None:
        return DATE_BLANK
    # %-formatting: one C call (half the cost of an f-string with six format specs, per request).
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
        return "%04d%02d%02d   Z%02d%02d%02d" % (  # noqa: UP031 - see above
            dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)
    return "%04d%02d%02d    %02d%02d%02d" % (  # noqa: UP031 - see above
        dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)


def parse_sip_datetime(text: str | None) -> datetime | None:
    """Parse an 18-char SIP date; ``None`` for blanks or anything that is not one."""
    if not text or len(text) != 18:
        return None
    digits = text[:8] + text[12:]                 # YYYYMMDD HHMMSS, the zone left out
    if not (digits.isdigit() and digits.isascii()):
        return None
    n = int(digits)                               # one int() instead of six: this is per reply
    try:
        dt = datetime(n // 10**10, n // 10**8 % 100, n // 10**6 % 100, n // 10**4 % 100, n // 100 % 100,
                      n % 100)
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
    if type(value) is str and "|" not in value and "\r" not in value and "\n" not in value:
        return value                  # the usual case: nothing to replace, no new string
    if not isinstance(value, str):
        value = str(value)
    return value.replace(DELIMITER, _PIPE_ENTITY).replace("\r", " ").replace("\n", " ")


def unescape_value(value: str) -> str:
    return value.replace(_PIPE_ENTITY, DELIMITER)


def _nfc(s: str) -> str:
    return s if s.isascii() else unicodedata.normalize("NFC", s)


def _wire_value(value: str) -> str:
    """One variable field's value as it goes on the wire: NFC (so a legacy charset can encode
    composed letters), then escaped.  Per value, never over the frame (see the module docstring)."""
    if type(value) is str and value.isascii() and "|" not in value and "\r" not in value and "\n" not in value:
        return value                  # the usual case: nothing to do, no new string
    if not isinstance(value, str):
        value = str(value)
    return escape_value(_nfc(value))


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
        for name in _field_names(type(self)):
            v = getattr(self, name)
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, tuple):
                v = [list(x) if isinstance(x, tuple) else x for x in v]
            out[name] = v
        return out


_NAMES_CACHE: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    got = _NAMES_CACHE.get(cls)
    if got is None:
        got = _NAMES_CACHE[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return got


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


def _fast_init(cls: type) -> Callable[..., None]:
    """The same keyword-only ``__init__`` as the dataclass one, writing the instance dict in one go.

    The generated frozen-dataclass ``__init__`` calls ``object.__setattr__`` once per field and then
    ``__post_init__``: a third of the cost of building, encoding and sending a request.  This one
    takes the same arguments and defaults and applies ``Message.__post_init__``'s rule inline."""
    fields = [f for f in dataclasses.fields(cls) if f.init]
    lists = set(_list_fields(cls))
    ns: dict[str, Any] = {f"_d_{f.name}": f.default for f in fields}
    args = ", ".join(f"{f.name}=_d_{f.name}" for f in fields)
    body = [f"    if type({n}) is not tuple:\n        {n} = ({n},) if isinstance({n}, str) else tuple({n})"
            for n in sorted(lists)]
    body.append(f"    self.__dict__.update({{{', '.join(f'{f.name!r}: {f.name}' for f in fields)}}})")
    src = f"def __init__(self, *, {args}):\n" + "\n".join(body)
    exec(compile(src, f"<sip2 init {cls.__name__}>", "exec"), ns)  # noqa: S102 - our own field names
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    return init


def _message(code: str, direction: str) -> Any:
    def register(cls: type[Message]) -> type[Message]:
        cls.code = code
        MESSAGES[code] = cls
        (REQUESTS if direction == "request" else RESPONSES)[code] = cls
        fields = dataclasses.fields(cls)
        if (cls.__post_init__ is Message.__post_init__ and "__init__" in cls.__dict__
                and all(f.default is not dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                        for f in fields if f.init)):
            cls.__init__ = _fast_init(cls)  # type: ignore[misc]
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
# Each record type gets its own encoder, generated once from its field description (the way
# dataclasses generates __init__): one f-string for the fixed part and the always-written fields,
# then one test per optional field.  Walking the description on every call cost more than the
# socket round trip itself (bench/bench_sip2.py).

def _yn(v: bool | None, unknown: str) -> str:
    return unknown if v is None else ("Y" if v else "N")


def _enc_str(v: Any, width: int) -> str:
    if type(v) is str and len(v) == width and "\r" not in v and "\n" not in v:
        return v
    s = "" if v is None else str(v).replace("\r", " ").replace("\n", " ")
    return s[:width].ljust(width)


def _enc_count(v: Any, width: int) -> str:
    return " " * width if v is None else str(int(v)).zfill(width)[-width:]


_ENCODERS: dict[type, Callable[[Any], str]] = {}


def _compile_encoder(cls: type) -> Callable[[Any], str]:
    """Generate ``encode_<code>(record) -> str`` for one record type (field order = wire order)."""
    fx, vs, _ = _specs(cls)
    head = [cls.code]                        # pieces of one f-string
    for s in fx:
        a = f"r.{s.name}"
        head.append({"date": f"{{_dt({a})}}", "yn": f"{{_yn({a}, 'U')}}", "01": f"{{'1' if {a} else '0'}}",
                     "count": f"{{_cnt({a}, {s.width})}}"}.get(s.kind, f"{{_str({a}, {s.width})}}"))
    lines = []
    for s in vs:
        a = f"r.{s.name}"
        if s.kind == "req" and not lines:    # still inside the leading run of required fields
            head.append(f"{s.fid}{{_esc({a} or '')}}{DELIMITER}")
        elif s.kind == "req":
            lines.append(f"    s += f'{s.fid}{{_esc({a} or \"\")}}{DELIMITER}'")
        elif s.kind == "list":
            lines += [f"    for v in {a}:", f"        s += f'{s.fid}{{_esc(v)}}{DELIMITER}'"]
        elif s.kind == "yn":
            lines += [f"    v = {a}", "    if v is not None:",
                      f"        s += '{s.fid}Y{DELIMITER}' if v else '{s.fid}N{DELIMITER}'"]
        else:
            lines += [f"    v = {a}", "    if v is not None:", f"        s += f'{s.fid}{{_esc(v or \"\")}}{DELIMITER}'"]
    src = "\n".join([f"def encode_{cls.code}(r):", f"    s = f\"{''.join(head)}\"", *lines,
                     "    for fid, v in r.extra:", f"        s += f'{{fid}}{{_esc(v)}}{DELIMITER}'",
                     "    return s"])
    ns: dict[str, Any] = {"_dt": sip_datetime, "_yn": _yn, "_cnt": _enc_count, "_str": _enc_str,
                          "_esc": _wire_value}
    exec(compile(src, f"<sip2 encoder {cls.__name__}>", "exec"), ns)  # noqa: S102 - our own field names
    return ns[f"encode_{cls.code}"]


def encode_text(record: Message) -> str:
    """The message text without error-detection trailer and terminator."""
    cls = type(record)
    enc = _ENCODERS.get(cls)
    if enc is None:
        enc = _ENCODERS[cls] = _compile_encoder(cls)
    return enc(record)


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


_YN = {"Y": True, "N": False, "y": True, "n": False}
_D01 = {"1": True, "Y": True, "0": False, "N": False}


def _dec_str(raw: str) -> str:
    """A fixed positional field is a code (status, language, version), kept character for character:
    NFC could change its width and so where the next field starts on re-encoding."""
    return raw.replace("\n", " ") if "\n" in raw else raw


def _dec_count(raw: str) -> int | None:
    s = raw.strip()
    return int(s) if s.isdigit() and s.isascii() else None


def _dec_01(raw: str, name: str, code: str) -> bool:
    v = _D01.get(raw)
    if v is None:
        raise FrameError(f"message {code}: field {name} must be 0 or 1, got {raw!r}")
    return v


_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(cls: type) -> dict[str, Any]:
    got = _DEFAULTS.get(cls)
    if got is None:
        got = _DEFAULTS[cls] = {
            f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
            for f in dataclasses.fields(cls)}
    return got


def _lenient_fixed(code: str, body: str, width: int) -> str:
    """Repair known short fixed parts before slicing (sip2.md 1.8)."""
    if code == "99":
        head = body.split(DELIMITER, 1)[0]
        if len(head) == width - 1:      # node-sip2 sends a 2-digit print width: "990401.00|"
            return head[0] + "0" + head[1:] + body[len(head):]
    return body


_SINGLE, _YES_NO, _LIST = 0, 1, 2
_KIND_CODES = {"req": _SINGLE, "opt": _SINGLE, "yn": _YES_NO, "list": _LIST}


def _parse_vars(rest: str, values: dict[str, Any], clean: bool, by_id: dict[str, tuple[str, int]]) -> None:
    """The identified fields, by id in any order; unknown ids and duplicates go to ``extra``.
    ``clean``: the text is ASCII without LF or '&', so values need no repair (the usual reply)."""
    extra: list[tuple[str, str]] = []
    lists: dict[str, list[str]] = {}
    for chunk in rest.split(DELIMITER):
        if not chunk:
            continue                    # a trailing '|' after a fixed-only message (jsip2)
        fid, value = chunk[:2], chunk[2:]
        if not clean:
            # NFC before unescaping: the other order can make a '|' out of '&#124' + U+037E, which
            # re-encodes as an escape the next decode reads differently.
            value = _nfc(value)
            # LF is not displayable (and Koha's CR LF could leave one behind): shown as a space.
            if "&" in value or "\n" in value:
                value = unescape_value(value).replace("\n", " ")
        try:
            name, kind = by_id[fid]
        except KeyError:
            extra.append((fid, value))
            continue
        if kind == _LIST:
            got = lists.get(name)
            if got is None:
                lists[name] = [value]
            else:
                got.append(value)
        elif name in values:
            extra.append((fid, value))  # duplicate of a single-valued field: keep the first
        elif kind == _SINGLE:
            values[name] = value
        else:
            yn = _YN.get(value.strip()[:1])
            if yn is not None:
                values[name] = yn
            elif value:
                # Neither Y nor N: kept as received (and a later Y/N for the same id still counts),
                # so that re-encoding the record gives the same record back.
                extra.append((fid, value))
    for name, items in lists.items():
        values[name] = tuple(items)
    values["extra"] = tuple(extra)


_DECODERS: dict[type, Callable[[str], Message]] = {}


def _compile_decoder(cls: type) -> Callable[[str], Message]:
    """Generate ``decode_<code>(text) -> record`` for one record type: the fixed part as one dict
    display of slices (two variants: plain ASCII text needs no LF/NFC repair), then the identified
    fields.  The frozen record is built without running __init__: every value already has its
    field's type (tuples for repeatable fields), and this is the hot path of every reply."""
    fx, vs, by_id = _specs(cls)
    code, pos, clean, mixed = cls.code, 0, [], []
    for s in fx:
        sl = f"b[{pos}:{pos + s.width}]"
        pos += s.width
        if s.kind == "str":
            c, m = sl, f"_str({sl})"
        elif s.kind == "count":
            c, m = f"int(x) if (x := {sl}).isdigit() else _cnt(x)", f"_cnt({sl})"
        else:
            c = m = {"yn": f"_YN.get({sl})", "date": f"_date({sl})",
                     "01": f"_d01({sl}, {s.name!r}, {code!r})"}[s.kind]
        clean.append(f"{s.name!r}: {c}")
        mixed.append(f"{s.name!r}: {m}")
    src = "\n".join([
        f"def decode_{code}(text):",
        "    b = text[2:]" + (f"\n    b = _lenient({code!r}, b, {pos})" if code == "99" else ""),
        f"    if len(b) < {pos}:",
        f"        raise FrameError(f'message {code} ({cls.__name__}): fixed part needs {pos} characters, "
        "got {len(b)}')",
        "    clean = text.isascii() and '\\n' not in text and '&' not in text",
        f"    v = {{{', '.join(clean)}}} if clean else {{{', '.join(mixed)}}}",
        f"    _vars(b[{pos}:], v, clean, BY_ID)",
        "    r = _new(cls)",
        "    d = r.__dict__",
        "    d.update(DEFAULTS)",
        "    d.update(v)",
        "    return r"])
    ns: dict[str, Any] = {"FrameError": FrameError, "_lenient": _lenient_fixed, "_str": _dec_str,
                          "_cnt": _dec_count, "_YN": _YN, "_date": parse_sip_datetime, "_d01": _dec_01,
                          "_vars": _parse_vars, "_new": object.__new__, "cls": cls,
                          "DEFAULTS": _defaults(cls), "BY_ID": {f: (s.name, _KIND_CODES[s.kind]) for f, s in by_id.items()}}
    exec(compile(src, f"<sip2 decoder {cls.__name__}>", "exec"), ns)  # noqa: S102 - our own field names
    return ns[f"decode_{code}"]


def parse_text(text: str) -> Message:
    """Parse message text (no trailer, no terminator) into its record."""
    if len(text) < 2:
        raise FrameError(f"frame too short to hold a message code: {text!r}")
    code = text[:2]
    cls = MESSAGES.get(code)
    if cls is None:
        raise FrameError(f"unknown SIP2 message code {code!r}")
    dec = _DECODERS.get(cls)
    if dec is None:
        dec = _DECODERS[cls] = _compile_decoder(cls)
    return dec(text)


# The record types live in messages.py (one small frozen dataclass per message); importing it
# fills MESSAGES/REQUESTS/RESPONSES.  Re-exported so ``from kiosk.sip2.codec import CheckoutRequest``
# works.
from kiosk.sip2.messages import *  # noqa: E402,F403
from kiosk.sip2.messages import __all__ as _message_names  # noqa: E402

__all__ += list(_message_names)
