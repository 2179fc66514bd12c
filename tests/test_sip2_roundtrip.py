"""Property tests: every record type round-trips; random and mutated frames only raise codec errors."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.sip2 import codec, record
from kiosk.sip2.codec import MESSAGES, ChecksumError, FrameError, decode, decode_frame, encode

pytestmark = pytest.mark.sip2_only("property tests of the SIP2 codec: pure, no library system")

CHARSETS = ("utf-8", "cp850", "latin-1")
_FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# Characters that NFC changes or composes (U+037E GREEK QUESTION MARK -> ';', combining marks,
# Hangul jamo, a Hebrew presentation form NFC lengthens) and the codec's own delimiters.  Drawn
# often on purpose: an alphabet of NFC-stable letters is what hid the frame-level normalisation bug.
HAZARDS = "|&#124;\n AEFZY0\u037e\u0301\u0308\u0338=e\u1fef\u212b\u0344\ufb2c\u1100\u1161\u11a8\ufffd\u00e9"


def _text(charset: str, max_size: int = 20) -> st.SearchStrategy[str]:
    """Values a record can hold and get back: NFC (the decoder normalises for display), no CR/LF
    (sent as spaces) and no literal '&#124;' (Koha's escape of '|', sip2.md 1.2)."""
    chars = st.one_of(st.characters(codec=charset, exclude_categories=("Cc", "Cs")),
                      st.sampled_from([c for c in HAZARDS if c != "\n"]))
    return st.text(chars, max_size=max_size).filter(
        lambda s: unicodedata.is_normalized("NFC", s) and "&#124;" not in s and _encodable(s, charset))


def _encodable(s: str, charset: str) -> bool:
    try:
        s.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


_DATES = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda d: d.replace(microsecond=0)),
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2099, 12, 30)).map(
        lambda d: d.replace(microsecond=0, tzinfo=UTC)),
)


def _fixed_value(spec) -> st.SearchStrategy:
    if spec.kind == "date":
        return _DATES
    if spec.kind == "yn":
        return st.sampled_from([True, False, None])
    if spec.kind == "01":
        return st.booleans()
    if spec.kind == "count":
        return st.one_of(st.none(), st.integers(0, 10 ** spec.width - 1))
    return st.text("0123456789 .", min_size=spec.width, max_size=spec.width)


def _var_value(spec, charset: str) -> st.SearchStrategy:
    if spec.kind == "req":
        return _text(charset)
    if spec.kind == "opt":
        return st.one_of(st.none(), _text(charset))
    if spec.kind == "yn":
        return st.sampled_from([None, True, False])
    return st.lists(_text(charset), max_size=3).map(tuple)


@st.composite
def records(draw, cls=None):
    cls = cls or draw(st.sampled_from(sorted(MESSAGES.values(), key=lambda c: c.code)))
    charset = draw(st.sampled_from(CHARSETS))
    fixed_specs, var_specs, by_id = record._specs(cls)
    kwargs = {s.name: draw(_fixed_value(s)) for s in fixed_specs}
    kwargs.update({s.name: draw(_var_value(s, charset)) for s in var_specs})
    # any two characters but the delimiter, CR and LF (sip2.md 1.2: ids are 2 characters before a
    # value), NFC or not: an unknown id is kept exactly as received
    id_chars = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ" + HAZARDS)
    unknown_ids = st.text(id_chars, min_size=2, max_size=2).filter(
        lambda i: i not in by_id and not {"|", "\r", "\n"} & set(i) and _encodable(i, charset))
    kwargs["extra"] = tuple(draw(st.lists(st.tuples(unknown_ids, _text(charset)), max_size=2)))
    return cls(**kwargs), charset


@pytest.mark.parametrize("code", sorted(MESSAGES))
@_FAST
@given(data=st.data())
def test_round_trip_every_record_type(code, data):
    record, charset = data.draw(records(MESSAGES[code]))
    seq = data.draw(st.integers(0, 9))
    detect = data.draw(st.booleans())
    wire = encode(record, seq=seq, error_detection=detect, charset=charset)
    assert wire.endswith(b"\r") and wire.count(b"\r") == 1
    got = decode_frame(wire, charset=charset, require_checksum=detect)
    assert got.record == record
    if detect and code not in ("96", "97"):
        assert got.seq == seq
    # and the CR LF form decodes to the same record
    assert decode(wire + b"\n", charset=charset) == record


# (random bytes are fuzzed below; here the hazards must come up often, not once in a million)
_ANY_CHAR = st.sampled_from(HAZARDS + "BCOPQ:")


@st.composite
def frames(draw) -> bytes:
    """A message code, a fixed part (a valid one or any characters of the right length), then any
    text: mostly frames the decoder accepts, with hazards where the field ids and values are."""
    cls = draw(st.sampled_from(sorted(MESSAGES.values(), key=lambda c: c.code)))
    width = codec.fixed_length(cls)
    fixed = draw(st.one_of(st.just(codec.encode_text(cls())[2: 2 + width]),
                           st.text(_ANY_CHAR, min_size=width, max_size=width)))
    return (cls.code + fixed + draw(st.text(_ANY_CHAR, max_size=40))).encode("utf-8")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(frames(), st.booleans())
def test_decode_encode_decode_is_stable(frame, detect):
    """Any frame the decoder accepts re-encodes to a frame that decodes to the same record."""
    try:
        first = decode(frame, verify=False)
    except (FrameError, ChecksumError):
        return
    assert decode(encode(first, seq=2, error_detection=detect)) == first


# ---------------------------------------------------------------------------------- fuzzer

def _good_frames() -> list[bytes]:
    path = Path(__file__).with_name("data") / "sip2_vectors.json"
    vs = json.loads(path.read_text(encoding="utf-8"))
    return [bytes.fromhex(v["bytes_hex_if_non_ascii"]) if v["bytes_hex_if_non_ascii"]
            else v["message"].encode() for v in vs if v["checksum_ok"]]


GOOD_FRAMES = _good_frames()


def _must_only_raise_codec_errors(frame: bytes, charset: str = "utf-8") -> None:
    for verify in (True, False):
        try:
            rec = decode(frame, charset=charset, verify=verify)
        except (FrameError, ChecksumError):
            continue
        # anything that decodes must encode again and decode to the same record
        assert decode(encode(rec, seq=1, charset=charset), charset=charset) == rec


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=120), st.sampled_from(CHARSETS))
def test_fuzz_random_bytes(frame, charset):
    _must_only_raise_codec_errors(frame, charset)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.binary(min_size=0, max_size=40))
def test_fuzz_random_bytes_behind_a_real_code(tail):
    for code in MESSAGES:
        _must_only_raise_codec_errors(code.encode() + tail)


@st.composite
def mutated(draw):
    frame = bytearray(draw(st.sampled_from(GOOD_FRAMES)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        if not frame:
            break
        i = draw(st.integers(0, len(frame) - 1))
        if op == "flip":
            frame[i] = draw(st.integers(0, 255))
        elif op == "insert":
            frame.insert(i, draw(st.sampled_from([ord("|"), 0, 13, 10, ord("A"), 0xC3, ord("&")])))
        elif op == "delete":
            del frame[i]
        elif op == "truncate":
            del frame[i:]
        else:
            frame[i:i] = frame[max(0, i - 5): i]
    return bytes(frame)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(mutated())
def test_fuzz_mutated_real_frames(frame):
    _must_only_raise_codec_errors(frame)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(mutated())
def test_single_byte_change_is_caught_by_the_checksum(frame):
    """A damaged frame with a still-present trailer either fails the checksum or is not a frame."""
    try:
        decode(frame)
    except (FrameError, ChecksumError):
        return
    # it decoded: then the checksum really matches (or there is no trailer any more)
    d = decode_frame(frame)
    if d.checksum is not None:
        covered = frame.strip(b"\r\n")
        covered = covered[: covered.rfind(b"AZ") + 2]
        assert int(codec.checksum(covered), 16) == int(d.checksum, 16)
