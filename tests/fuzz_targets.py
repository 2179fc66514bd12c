"""Fuzz targets shared by the bounded suite (tests/test_fuzz.py) and the long run (bench/bench_fuzz.py).

Each ``check_*`` function feeds one input to one parser and lets through only the error that
parser documents (the contract of issue 13: every parser raises only its own error).  Anything
else propagates, so a fuzzer reports the input.  The seed corpora are the public test vectors
(tests/data) and the shipped configuration; :func:`mutate` damages them in the ways hardware,
disks and hostile people do (flips, cuts, NUL/CR, non-ASCII digits, deep nesting, huge numbers).
"""

from __future__ import annotations

import dataclasses
import json
import random
from functools import cache
from pathlib import Path

from kiosk import config
from kiosk.errors import ConfigError, ProtocolError
from kiosk.hardware.scanner import KeyDecoder
from kiosk.hardware.scanner_filter import MAX_CODE, ScanFilter
from kiosk.sip2.codec import decode
from kiosk.tags import MODELS, TagDecodeError, decode_tag, encode_tag

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent
CHARSETS = ("utf-8", "cp850", "latin-1")

#: byte strings that broke or nearly broke parsers: non-ASCII digits ("²", Arabic-Indic "٣",
#: fullwidth "５"), NUL, CR/LF, SIP2 and TOML delimiters, a long digit run, deep brackets
INTERESTING = [
    "²".encode(), "٣".encode(), "５".encode(), "¹²³".encode(), b"\x00", b"\r", b"\n", b"|", b"&",
    b"[", b"]", b"{", b"=", b'"', b"\\", b"\xff", b"\xc3", b"\xe9", b"9" * 40, b"-1", b"nan", b"inf",
    b"AZ", b"AY", b"\x80", b"\x06", b"\x3e", b"[" * 300, b"1e999",
]


# -- seed corpora -----------------------------------------------------------------------------------

@cache
def sip2_seeds() -> tuple[bytes, ...]:
    vs = json.loads((DATA / "sip2_vectors.json").read_text(encoding="utf-8"))
    return tuple(bytes.fromhex(v["bytes_hex_if_non_ascii"]) if v["bytes_hex_if_non_ascii"]
                 else v["message"].encode() for v in vs)


@cache
def tag_seeds() -> tuple[bytes, ...]:
    vs = json.loads((DATA / "iso28560_vectors.json").read_text(encoding="utf-8"))
    out = [bytes.fromhex(v["hex"]) for key in ("iso28560_3", "iso28560_2", "rfid501_3m_proprietary_not_iso")
           for v in vs[key] if isinstance(v, dict) and v.get("hex")]
    out += [encode_tag(m, "1000000056", isil="DK-718500" if m != "3m" else "", parts_in_item=2, part_number=1)
            for m in MODELS]
    return tuple(out)


@cache
def config_seeds() -> tuple[bytes, ...]:
    out = [(ROOT / "config" / name).read_bytes() for name in ("kiosk.example.toml", "demo.toml")
           if (ROOT / "config" / name).exists()]
    # one small file per section, with every key set to its default (short inputs mutate better)
    import tomli_w

    for name, cls in config.SECTIONS.items():
        section = {f.name: getattr(cls(), f.name) for f in dataclasses.fields(cls)}
        out.append(tomli_w.dumps({name: section}).encode())
    return tuple(out)


SCAN_SEEDS = ("1000000056\r", "Ab-123\r\n", "39999000001234\t", "\x1b[31mX\r", "ABC\x7f\x00D\r", "x" * 70 + "\r")
PATTERNS = (r"[0-9A-Za-z-]{1,32}", r"\d{8,14}", r"\w+", r"[0-9]{4}-[0-9]{4}", r".+")


# -- the mutator ------------------------------------------------------------------------------------

def mutate(rng: random.Random, seed: bytes, rounds: int | None = None) -> bytes:
    """``seed`` with 1-4 random damages (a cheap, deterministic mutator for the long run)."""
    data = bytearray(seed)
    for _ in range(rounds or rng.randint(1, 4)):
        op = rng.randrange(7)
        i = rng.randint(0, len(data)) if data else 0
        if op == 0 and data:                       # flip a byte
            data[min(i, len(data) - 1)] = rng.randrange(256)
        elif op == 1:                              # insert something that has broken parsers
            data[i:i] = rng.choice(INTERESTING)
        elif op == 2 and data:                     # delete a run
            del data[i:i + rng.randint(1, 8)]
        elif op == 3:                              # cut short
            del data[i:]
        elif op == 4 and data:                     # duplicate a run
            j = rng.randint(0, len(data))
            data[i:i] = data[min(i, j):max(i, j)][:64]
        elif op == 5 and data:                     # replace an ASCII digit by a non-ASCII one
            digits = [k for k, b in enumerate(data) if 48 <= b <= 57]
            if digits:
                k = rng.choice(digits)
                data[k:k + 1] = rng.choice(["²", "٣", "５", "߀"]).encode()
        else:                                      # random bytes
            data[i:i] = rng.randbytes(rng.randint(1, 6))
    return bytes(data)


# -- the targets ------------------------------------------------------------------------------------

def check_sip2(frame: bytes, charset: str = "utf-8") -> None:
    """SIP2 decode: only ProtocolError (FrameError/ChecksumError) may escape."""
    for verify in (True, False):
        try:
            decode(frame, charset=charset, verify=verify)
        except ProtocolError:
            pass


def check_tag_decode(data: bytes, dsfid: int | None = None) -> None:
    """Tag decode: only TagDecodeError; a decoded tag is plain, printable data."""
    try:
        tag = decode_tag(data, dsfid=dsfid)
    except TagDecodeError:
        return
    assert isinstance(tag.primary_item_id, str) and tag.primary_item_id
    json.dumps(tag.to_json())


def check_tag_encode(model: str, item: str, isil: str = "", parts: int = 1, part: int = 1) -> None:
    """Tag encode: only TagDecodeError; what encodes decodes to the same item id."""
    try:
        data = encode_tag(model, item, isil=isil, parts_in_item=parts, part_number=part)
    except TagDecodeError:
        return
    assert isinstance(data, bytes)
    check_tag_decode(data)


def check_config(raw: bytes) -> None:
    """Config file bytes: only ConfigError (loaded as ``config.load`` does, without the disk)."""
    try:
        config.build_settings(config.parse_toml(raw, "fuzz.toml"), "fuzz.toml")
    except ConfigError:
        pass


def check_config_overrides(items: list[str]) -> None:
    """``--set`` items: only ConfigError."""
    try:
        config.load(None, items)
    except ConfigError:
        pass


def check_scanner(text: str, pattern: str = PATTERNS[0]) -> None:
    """Scanner input: never raises; what is accepted is a short printable ASCII code matching."""
    f = ScanFilter(pattern)
    for code, ok in f.feed(text):
        assert code and len(code) <= MAX_CODE and code.isprintable()
        if ok:
            assert code.isascii() and f.pattern.fullmatch(code)


def check_keys(events: list[tuple[object, object]]) -> None:
    """Keyboard-wedge decoding: never raises, at most one character per event."""
    d = KeyDecoder()
    for name, value in events:
        ch = d.key(name, value)  # type: ignore[arg-type]
        assert isinstance(ch, str) and len(ch) <= 1
