"""The SIP2 field codec: message text <-> record, one generated encoder and decoder per type.

:func:`encode_text` and :func:`parse_text` use one encoder and one decoder per record type,
generated once from its field description the way :mod:`dataclasses` generates methods: walking
the description on every call cost more than the loopback round trip itself
(``bench/bench_sip2.py``, docs/sip2.md "Performance").

Why the leniency: real servers deviate (reference sip2.md section 0 and 1.8) -- 18 blanks for a
date, a stray ``|`` after a fixed-only message, check-in replies without AQ, Koha's alert type
``98``, ``&#124;`` escapes.  Variable fields are parsed by id in any order and unknown ids are kept
in ``extra`` so nothing a server says is lost.

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

Apart from the framing (kiosk/sip2/codec.py: charset, checksum trailer, terminator) because this
part knows every message's layout and nothing about bytes.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Callable
from typing import Any

from kiosk.errors import ProtocolError
from kiosk.sip2.record import MESSAGES, Message, _specs
from kiosk.sip2.values import DELIMITER, escape_value, parse_sip_datetime, sip_datetime, unescape_value

__all__ = ["FrameError", "encode_text", "parse_text"]


class FrameError(ProtocolError):
    """A frame that cannot be a SIP2 message (too short, unknown code, NUL byte, bad fixed field)."""


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


# --------------------------------------------------------------------------------------------
# Decode
# --------------------------------------------------------------------------------------------

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
    display of slices (two variants: plain ASCII text needs no LF repair), then the identified
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
