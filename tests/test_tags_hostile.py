"""Hostile tag bytes and scanner input: every parser raises only its own error (issue 13, item 6).

One bad tag must stay in its own ``TagRead.error``; the codecs raise only ``TagDecodeError``
(never a bare ValueError/UnicodeEncodeError); the CLI answers with one line, never a traceback or
a Python repr; a scanner never dies on an odd key event and never passes a non-ASCII code on.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import types
from types import SimpleNamespace

import pytest

from kiosk.hardware.records import UNDECODABLE, TagRead
from kiosk.hardware.scanner import HidScanner
from kiosk.hardware.scanner_filter import ScanFilter
from kiosk.hardware.sim import SimTagReader
from kiosk.tags import TagDecodeError, decode_tag, encode_tag, iso28560_2


def _stream_with_set_info(value: bytes, compaction: int = 7) -> bytes:
    """A valid 28560-2 stream for item 1234 plus a set-information element (OID 4)."""
    return iso28560_2.encode("1234")[:-1] + iso28560_2._data_set(4, compaction, value) + b"\x00"


NON_ASCII_SET = [
    "²²".encode(),               # superscript two: str.isdigit() is True, int() refuses it
    "١٢".encode(),               # Arabic-Indic digits: int() reads them
    "0²".encode(),
]


@pytest.mark.parametrize("value", NON_ASCII_SET)
@pytest.mark.parametrize("dsfid", [None, iso28560_2.DSFID])
def test_non_ascii_set_information_is_a_tag_error(value, dsfid):
    data = _stream_with_set_info(value)
    with pytest.raises(TagDecodeError) as info:
        decode_tag(data, dsfid=dsfid)
    assert type(info.value) is TagDecodeError


def test_over_long_integer_item_id_is_a_tag_error():
    # 2000 bytes of integer compaction: int -> str would exceed Python's 4300-digit limit.
    data = iso28560_2._data_set(1, 1, b"\x01" * 2000) + b"\x00"
    with pytest.raises(TagDecodeError, match="integer"):
        decode_tag(data, dsfid=iso28560_2.DSFID)
    # a long but sane integer id still decodes
    assert decode_tag(encode_tag("28560-2", "9" * 60), dsfid=iso28560_2.DSFID).primary_item_id == "9" * 60


@pytest.mark.parametrize("model", ["28560-2", "28560-3"])
@pytest.mark.parametrize("isil", ["DE-²", "DE-é", "DE-١٢", "DK-7185\x00"])
def test_encode_refuses_non_ascii_isil_with_the_tag_error(model, isil):
    with pytest.raises(TagDecodeError) as info:
        encode_tag(model, "1000000056", isil=isil)
    assert type(info.value) is TagDecodeError


@pytest.mark.parametrize("item", ["²³", "١٢٣", "12\u0663"])
def test_encode_refuses_non_ascii_digit_item_ids(item):
    for model in ("28560-2", "28560-3", "3m"):
        with pytest.raises(TagDecodeError):
            encode_tag(model, item)


@pytest.mark.parametrize("kwargs", [{"parts_in_item": "2"}, {"part_number": 1.5}, {"isil": 5}])
def test_encode_wrong_types_are_tag_errors(kwargs):
    for model in ("28560-2", "28560-3", "3m"):
        with pytest.raises(TagDecodeError):
            encode_tag(model, "1234", **kwargs)


def test_one_bad_tag_does_not_hide_the_others():
    reader = SimTagReader()
    good = reader.place("1000000056")
    bad = reader.place(data=_stream_with_set_info("²²".encode()))
    other = reader.place("1000000057", model="28560-2")
    reader.poll_once()
    tags = {t.uid: t for t in reader.tags}
    assert set(tags) == {good, bad, other}
    assert tags[good].item_id == "1000000056" and tags[other].item_id == "1000000057"
    assert tags[bad].item_id is None and "set information" in tags[bad].error


def test_a_decoder_bug_stays_with_its_tag(monkeypatch, caplog):
    # Defence in depth: whatever a decoder raises, the field is still reported.
    reader = SimTagReader()
    good = reader.place("1000000056")
    bad = reader.place("1000000099")
    real = reader.read_tag

    def read_tag(uid):
        if uid == bad:
            raise KeyError("decoder bug")
        return real(uid)

    monkeypatch.setattr(reader, "read_tag", read_tag)
    seen: list[list[TagRead]] = []
    reader.when_tags_changed = seen.append
    reader.poll_once()
    tags = {t.uid: t for t in seen[-1]}
    assert tags[good].item_id == "1000000056"
    assert tags[bad].error == UNDECODABLE and tags[bad].item_id is None


def _kiosk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, timeout=60)


def test_tag_cli_gives_one_line_errors():
    """Bad arguments are usage errors (64, kiosk/exitcodes.py), each one line, never a traceback."""
    r = _kiosk("tag", "encode", "--model", "28560-2", "--item", "1234", "--isil", "DE-²")
    assert r.returncode == 64 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "ISIL" in r.stderr
    r = _kiosk("tag", "decode", "zz")
    assert r.returncode == 64 and r.stderr.strip().count("\n") == 0
    assert "['zz']" not in r.stderr and "zz" in r.stderr
    r = _kiosk("tag", "decode", "0611", "--dsfid", "0x٣")
    assert r.returncode == 64 and "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0


# -- scanner input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern,code", [(r"\w{1,32}", "12²"), (r"\d{1,32}", "١٢٣"), (r".{1,32}", "ABC\xe9")])
def test_scan_filter_refuses_non_ascii_codes(pattern, code):
    f = ScanFilter(pattern)
    out = list(f.feed(code + "\r" + "123\r"))
    assert out[0][1] is False                   # refused, not delivered
    assert all(ord(c) < 0x7F for c in out[0][0])
    assert out[1] == ("123", True)              # the next code is not affected


def test_hid_scanner_survives_an_unknown_key_code(monkeypatch):
    # With python-evdev, ecodes.KEY has no name for some codes (vendor keys, newer kernels):
    # KEY[code] raised KeyError and ended the scanner's thread for good.
    names = {30: "KEY_A", 2: "KEY_1", 28: "KEY_ENTER"}
    ecodes = types.SimpleNamespace(EV_KEY=1, KEY=names)
    monkeypatch.setitem(sys.modules, "evdev", types.SimpleNamespace(ecodes=ecodes))

    class Device:
        def __init__(self, events):
            self.events = events
            self.done = __import__("threading").Event()

        def grab(self):
            pass

        def ungrab(self):
            self.done.set()

        def read_loop(self):
            yield from self.events
            self.done.wait(5)

        def close(self):
            self.done.set()

    def press(code):
        return [SimpleNamespace(type=1, code=code, value=1), SimpleNamespace(type=1, code=code, value=0)]

    events = press(0x2FF) + press(30) + press(2) + press(28)
    scanner = HidScanner("/dev/input/fake", input_device=Device(events))
    got: queue.Queue = queue.Queue()
    scanner.when_scan = got.put
    scanner.start()
    try:
        assert got.get(timeout=3) == "a1"
    finally:
        scanner.close()


def test_feig_reader_reports_the_field_around_a_bad_28560_2_tag():
    # The real FEIG driver over a pseudo-terminal: the DSFID 0x06 tag with "²²" set information
    # used to abort every poll (the PollingThread only logged it), so no tag was ever reported.
    from kiosk.hardware.feig import FeigReader
    from kiosk.hardware.feig_sim import FeigSimulator, PtyFeigReader, SimTag

    sim = FeigSimulator()
    sim.add(SimTag(uid="E004010000000001", data=encode_tag("28560-3", "200001", isil="DK-718500")))
    sim.add(SimTag(uid="E004010000000002", dsfid=0x06, data=_stream_with_set_info("²²".encode())))
    sim.add(SimTag(uid="E004010000000003", dsfid=0x06, data=encode_tag("28560-2", "1620168259")))
    with PtyFeigReader(sim) as pty:
        reader = FeigReader(pty.port, timeout=0.3, poll_interval=0.05)
        try:
            reader.poll_once()
            tags = {t.uid: t for t in reader.tags}
        finally:
            reader.close()
    assert tags["E004010000000001"].item_id == "200001"
    assert tags["E004010000000003"].item_id == "1620168259"
    bad = tags["E004010000000002"]
    assert bad.item_id is None and "set information" in bad.error and bad.security_on is True
