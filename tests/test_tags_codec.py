"""Tag codecs: round trips, multi-part sets, damaged tags and random bytes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.errors import KioskError
from kiosk.tags import TagDecodeError, decode_tag, encode_tag, iso28560_2, iso28560_3, threem

item_ids = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-", min_size=1,
                   max_size=16)
isils = st.builds(lambda cc, rest: f"{cc}-{rest}",
                  st.sampled_from(["DK", "FI", "DE", "US", "GB"]),
                  st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-:/",
                          min_size=1, max_size=9).filter(lambda s: s[0] != "-" and s[-1] != "-"))
parts = st.integers(1, 15).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n)))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(item=item_ids, isil=isils, set_info=parts, model=st.sampled_from(["28560-3", "28560-2"]))
def test_iso_round_trip(item, isil, set_info, model):
    n, k = set_info
    tag = decode_tag(encode_tag(model, item, isil=isil, parts_in_item=n, part_number=k))
    assert (tag.model, tag.primary_item_id, tag.owner_isil) == (model, item, isil)
    assert (tag.parts_in_item, tag.part_number) == (n, k)
    assert tag.crc_ok is (True if model == "28560-3" else None)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(item=item_ids, set_info=parts)
def test_3m_round_trip(item, set_info):
    n, k = set_info
    tag = decode_tag(encode_tag("3m", item, parts_in_item=n, part_number=k))
    assert (tag.model, tag.primary_item_id, tag.parts_in_item, tag.part_number) == ("3m", item, n, k)


@settings(max_examples=3000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120))
def test_random_bytes_raise_only_the_codec_error(data):
    try:
        tag = decode_tag(data)
    except TagDecodeError as exc:
        assert isinstance(exc, KioskError) and isinstance(exc, ValueError)
        assert str(exc)
    else:
        assert tag.primary_item_id and tag.primary_item_id.isprintable()


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.binary(min_size=1, max_size=60), st.sampled_from([0x11, 0x04, 0x91, 0x7F, 0x3F]))
def test_structured_garbage(data, first):
    try:
        decode_tag(bytes([first]) + data)
    except TagDecodeError:
        pass


def test_blank_tags_are_refused():
    for blank in (bytes(32), b"\xff" * 32, threem.BLANK, b""):
        with pytest.raises(TagDecodeError, match="blank|never programmed"):
            decode_tag(blank)


def test_damaged_crc_is_reported_not_trusted():
    data = bytearray(encode_tag("28560-3", "1000000056", isil="DK-718500"))
    data[10] = ord("9")                          # one digit of the barcode flipped
    tag = decode_tag(bytes(data))
    assert tag.model == "28560-3" and tag.crc_ok is False


def test_truncated_32_byte_block_and_reversed_blocks():
    full = encode_tag("28560-3", "11223344", isil="DE-705")
    assert full[32:] == b"\x00\x00"
    assert decode_tag(full[:32]).crc_ok is True
    reversed_blocks = b"".join(full[i:i + 4][::-1] for i in range(0, 32, 4))
    tag = decode_tag(reversed_blocks)
    assert tag.primary_item_id == "11223344" and tag.crc_ok is True


def test_multi_part_set():
    for k in (1, 2, 3):
        tag = decode_tag(encode_tag("28560-3", "3000000001", parts_in_item=3, part_number=k))
        assert (tag.parts_in_item, tag.part_number) == (3, k)
    data = encode_tag("28560-3", "3000000001", parts_in_item=3, part_number=2)
    assert data[1:3] == b"\x03\x02"              # byte 1 total, byte 2 ordinal (rfid-tags.md 4.1)


def test_extension_blocks_encode():
    data = iso28560_3.encode("1000000136", isil="DK-718500", extensions=((1, b"\x01"),))
    (ext,) = decode_tag(data).extensions
    assert ext["id"] == 1 and ext["xor_ok"] and ext["media_format"] == 1
    bad = bytearray(data)
    bad[-2] ^= 0xFF                              # media format byte corrupted: XOR check fails
    assert decode_tag(bytes(bad)).extensions[0]["xor_ok"] is False


def test_isil_code_matches_real_tag():
    # the Mikkeli tag's ISIL bytes, with a shift for the single upper-case "M"
    assert iso28560_2.encode_isil("FI-Mamk-M").hex() == "3240de05ab075b"
    assert iso28560_2.decode_isil(bytes.fromhex("3240de05ab075b")) == "FI-Mamk-M"


def test_dsfid_selects_28560_2():
    data = encode_tag("28560-2", "1620168259", isil="FI-Mamk-M")
    assert decode_tag(data, dsfid=0x06).model == "28560-2"


@pytest.mark.parametrize("kwargs, match", [
    ({"item_id": ""}, "empty"),
    ({"item_id": "x" * 17}, "longer"),
    ({"item_id": "1", "parts_in_item": 2, "part_number": 3}, "not a valid set"),
    ({"item_id": "1", "isil": "DK-" + "9" * 20}, "longer"),
    ({"item_id": "äö"}, "not ASCII"),
])
def test_encode_refuses_what_a_tag_cannot_hold(kwargs, match):
    item = kwargs.pop("item_id")
    with pytest.raises(TagDecodeError, match=match):
        encode_tag("28560-3", item, **kwargs)


def test_unknown_model():
    with pytest.raises(TagDecodeError, match="unknown tag model"):
        encode_tag("28560-9", "1")
