"""Bounded fuzzing in ``make test`` (issue 13, item 9): every parser raises only its own error.

SIP2 decode -> ProtocolError, tag decode/encode -> TagDecodeError, the config loader and --set ->
ConfigError, scanner input -> nothing at all.  Derandomized and database-free, so CI is
reproducible; a few seconds in all.  The long run (over a million inputs) is bench/bench_fuzz.py.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.tags import MODELS
from tests import fuzz_targets as ft

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def bounded(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=_HEALTH)


def _mutated(seeds):
    """Strategy: a seed damaged by the shared mutator (hypothesis picks the seed and the damage)."""
    return st.tuples(st.sampled_from(seeds), st.integers(0, 2**32 - 1), st.integers(1, 6)).map(
        lambda t: ft.mutate(random.Random(t[1]), t[0], t[2]))


# -- SIP2 ---------------------------------------------------------------------------------------

@bounded(300)
@given(_mutated(ft.sip2_seeds()), st.sampled_from(ft.CHARSETS))
def test_fuzz_sip2_mutated_frames(frame, charset):
    ft.check_sip2(frame, charset)


@bounded(150)
@given(st.sampled_from(["98", "64", "12", "10", "18", "94", "36", "30", "66"]),
       st.text(st.sampled_from("0123456789YN ²٣５|AOBZ&\r\n\x00"), max_size=80))
def test_fuzz_sip2_fixed_fields_with_foreign_digits(code, body):
    ft.check_sip2((code + body).encode("utf-8"))


# -- tags ---------------------------------------------------------------------------------------

@bounded(300)
@given(_mutated(ft.tag_seeds()), st.sampled_from([None, 0x06, 0x3E, 0x00]))
def test_fuzz_tag_decode_mutated(data, dsfid):
    ft.check_tag_decode(data, dsfid)


_DIGITS = st.text(st.sampled_from("²٣５0123456789"), min_size=1, max_size=6).map(str.encode)


@st.composite
def data_sets(draw):
    """An ISO 28560-2 stream of random data sets (any compaction, OID, value bytes)."""
    from kiosk.tags import iso28560_2

    # usually a valid item id first, so the decoder reaches the elements after it
    out = bytearray(draw(st.sampled_from([iso28560_2._data_set(1, 1, b"\x3b\x9a\xca\x38"), b""])))
    any_set = st.tuples(st.integers(1, 40), st.integers(0, 7),
                        st.binary(min_size=1, max_size=40) | _DIGITS)
    # digit-string elements (set information, type of usage) as text: where "²" once got through
    digit_set = st.tuples(st.sampled_from([4, 5]), st.sampled_from([7, 5, 4]), _DIGITS)
    for _ in range(draw(st.integers(1, 5))):
        oid, compaction, value = draw(digit_set | any_set)
        out += iso28560_2._data_set(oid, compaction, value)
    return bytes(out) + b"\x00"


@bounded(200)
@given(data_sets())
def test_fuzz_tag_decode_28560_2_streams(data):
    ft.check_tag_decode(data, 0x06)
    ft.check_tag_decode(data, None)


@bounded(250)
@given(st.sampled_from(MODELS), st.text(max_size=20) | st.text("0123456789²٣", max_size=90),
       st.text(max_size=20) | st.text("DEK-0123456789²:/", max_size=18),
       st.integers(-3, 300), st.integers(-3, 300))
def test_fuzz_tag_encode(model, item, isil, parts, part):
    ft.check_tag_encode(model, item, isil, parts, part)


# -- configuration ------------------------------------------------------------------------------

@bounded(200)
@given(_mutated(ft.config_seeds()))
def test_fuzz_config_mutated_files(raw):
    ft.check_config(raw)


_toml_scalars = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(max_size=20), st.text("0123456789²٣\x00-:", max_size=8))
_toml_values = st.recursive(_toml_scalars, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text("abc_", min_size=1, max_size=4), inner, max_size=3),
                            max_leaves=8)


@st.composite
def config_documents(draw):
    """A structurally valid TOML document over the real sections and keys, with any values."""
    import tomli_w

    doc = {}
    names = sorted(ft.config.SECTIONS)
    for name in draw(st.lists(st.sampled_from(names + ["ilss"]), max_size=3, unique=True)):
        cls = ft.config.SECTIONS.get(name)
        keys = [f.name for f in ft.dataclasses.fields(cls)] if cls else ["port"]
        doc[name] = draw(st.dictionaries(st.sampled_from(keys + ["bogus"]), _toml_values, max_size=4))
    return tomli_w.dumps(doc).encode()


@bounded(250)
@given(config_documents())
def test_fuzz_config_documents(raw):
    ft.check_config(raw)


#: values that confuse a type or a range: wrong-typed list items, nesting, nan/inf, huge, NUL, "²"
NASTY = [[1, 2], [[]], [["x"]], [1.5], float("nan"), float("inf"), -float("inf"), -1, 0, 2**63 - 1, -(2**63),
         "\x00", "²", "٣٣", "", "x" * 300, {}, {"a": 1}, {"2026-12-24": 9}, True, [True], ["\x00"]]


@st.composite
def confused_documents(draw):
    """Every key of one section set to a value of the wrong type or out of any sane range."""
    import tomli_w

    name = draw(st.sampled_from(sorted(ft.config.SECTIONS)))
    fields = [f.name for f in ft.dataclasses.fields(ft.config.SECTIONS[name])]
    keys = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=2, unique=True))
    cls = ft.config.SECTIONS[name]
    values = {}
    for k in keys:
        listy = isinstance(getattr(cls(), k), list | dict)
        values[k] = draw(st.sampled_from([v for v in NASTY if isinstance(v, list | dict)] if listy else NASTY))
    return tomli_w.dumps({name: values}).encode()


@bounded(300)
@given(confused_documents())
def test_fuzz_config_type_confusion(raw):
    ft.check_config(raw)


@bounded(150)
@given(st.lists(st.one_of(
    st.builds(lambda s, k, v: f"{s}.{k}={v}", st.sampled_from(sorted(ft.config.SECTIONS)),
              st.sampled_from(["port", "timeout_s", "password", "languages", "card_hashes", "mon", "x"]),
              st.text(max_size=12) | st.sampled_from(["nan", "inf", "[[[[1]]]]", "\"a\\u0000\"", "1e999"])),
    st.text(max_size=15)), max_size=3))
def test_fuzz_config_overrides(items):
    ft.check_config_overrides(items)


# -- scanner ------------------------------------------------------------------------------------

@bounded(300)
@given(st.text(max_size=120) | st.sampled_from(ft.SCAN_SEEDS).map(lambda s: s * 3),
       st.sampled_from(ft.PATTERNS))
def test_fuzz_scanner_input(text, pattern):
    ft.check_scanner(text, pattern)


@bounded(200)
@given(st.lists(st.tuples(st.one_of(st.sampled_from(["KEY_A", "KEY_1", "KEY_LEFTSHIFT", "KEY_LEFTCTRL",
                                                      "KEY_ENTER", "KEY_F13"]),
                                    st.text(max_size=8), st.integers(), st.none(),
                                    st.lists(st.text(max_size=3), max_size=2)),
                          st.one_of(st.integers(-1, 3), st.none(), st.text(max_size=2))), max_size=30))
def test_fuzz_keyboard_wedge_events(events):
    ft.check_keys(events)
