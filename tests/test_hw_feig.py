"""FEIG ISO host protocol: pure frame codec, and the real driver against a simulated reader on a pty."""

from __future__ import annotations

import threading

import pytest

from kiosk.errors import HardwareError
from kiosk.hardware import feig_protocol as fp
from kiosk.hardware.feig import FeigReader
from kiosk.hardware.feig_sim import FeigSimulator, PtyFeigReader, SimTag
from kiosk.tags import encode_tag


def test_crc_matches_reference_example():
    # hardware-and-deployment.md Appendix B: 05 FF 65 -> CRC bytes E5 CB
    assert fp.encode_request(fp.CMD_SOFTWARE_VERSION) == bytes.fromhex("05FF65E5CB")


def test_frames_round_trip_standard_and_advanced():
    short = fp.encode_response(0xB0, 0x00, b"\x01\x02", address=3)
    assert short[0] == len(short) and fp.decode_response(short) == fp.Frame(3, 0xB0, 0x00, b"\x01\x02")
    long = fp.encode_response(0xB0, 0x00, bytes(range(256)) * 2)
    assert long[0] == fp.STX and fp.frame_length(long[:3]) == len(long)
    assert fp.decode_response(long).data == bytes(range(256)) * 2
    req = fp.encode_request(0xB0, fp.inventory_request())
    assert fp.decode_request(req) == fp.Frame(0xFF, 0xB0, None, b"\x01\x00")


@pytest.mark.parametrize("damage", ["crc", "short", "length"])
def test_bad_frames_are_refused(damage):
    frame = bytearray(fp.encode_response(0xB0, 0x00, b"\x00"))
    if damage == "crc":
        frame[-1] ^= 0x01
    elif damage == "short":
        frame = frame[:-1]
    else:
        frame[0] = 3
    with pytest.raises(fp.FrameError):
        fp.decode_response(bytes(frame))


def test_block_order_is_reversed_on_the_wire():
    data, sec = fp.parse_blocks(bytes([2, 4, 0, 4, 3, 2, 1, 0, 8, 7, 6, 5]))
    assert data == bytes([1, 2, 3, 4, 5, 6, 7, 8]) and sec == [0, 0]
    req = fp.write_blocks_request("E004010000000001", 0, 4, bytes([1, 2, 3, 4]))
    assert req[-4:] == bytes([4, 3, 2, 1])


UIDS = [f"E0040100000000{i:02X}" for i in range(7)]


@pytest.fixture
def field():
    sim = FeigSimulator(max_records=3)        # 7 tags need three inventory answers (0x94 twice)
    for i, uid in enumerate(UIDS):
        sim.add(SimTag(uid=uid, data=encode_tag("28560-3", f"20000{i}", isil="DK-718500",
                                                parts_in_item=2 if i == 1 else 1)))
    with PtyFeigReader(sim) as pty:
        reader = FeigReader(pty.port, timeout=0.3, poll_interval=0.05)
        yield sim, pty, reader
        reader.close()


def test_inventory_collects_every_tag_across_more_data(field):
    sim, _, reader = field
    assert reader.inventory() == UIDS
    inventories = [r for r in sim.requests if r[2:4] == b"\xb0\x01"]
    assert [r[4] for r in inventories] == [0x00, 0x80, 0x80]   # MORE bit on the follow-ups


def test_empty_field(field):
    sim, _, reader = field
    for uid in UIDS:
        sim.remove(uid)
    assert reader.inventory() == []


def test_read_and_decode_a_tag(field):
    _, _, reader = field
    reader.inventory()
    tag = reader.read_tag(UIDS[1])
    assert (tag.item_id, tag.parts_in_item, tag.part_number, tag.owner_isil) == ("200001", 2, 1, "DK-718500")
    assert tag.security_on is True and tag.error is None and tag.model == "28560-3"


def test_28560_2_tag_is_recognised_by_its_dsfid(field):
    sim, _, reader = field
    sim.add(SimTag(uid="E0040100000000F0", dsfid=0x06, data=encode_tag("28560-2", "1620168259", isil="FI-Mamk-M")))
    reader.inventory()
    tag = reader.read_tag("E0040100000000F0")
    assert (tag.item_id, tag.owner_isil, tag.model) == ("1620168259", "FI-Mamk-M", "28560-2")


def test_garbage_tag_reports_an_error_not_an_exception(field):
    sim, _, reader = field
    sim.add(SimTag(uid="E0040100000000F1", data=bytes.fromhex("deadbeef") * 8))
    reader.inventory()
    tag = reader.read_tag("E0040100000000F1")
    assert tag.item_id is None and "not a known library tag format" in tag.error


def test_tag_that_failed_to_read_is_read_again(field):
    sim, _, reader = field
    for uid in UIDS[1:]:
        sim.remove(uid)
    sim.fail_reads[UIDS[0]] = 1
    present: list = []
    reader.when_tag_present = present.append
    reader.poll_once()
    assert present[0].item_id is None and present[0].error.startswith("could not read the tag")
    reader.poll_once()
    assert present[1].item_id == "200000" and present[1].error is None
    assert [t.item_id for t in reader.tags] == ["200000"]
    reader.poll_once()
    assert len(present) == 2                        # nothing new: no further events


def test_afi_security_write_and_read_back(field):
    sim, _, reader = field
    reader.set_security(UIDS[0], False)
    assert sim.tags[UIDS[0]].afi == 0xC2 and reader.read_security(UIDS[0]) is False
    reader.set_security(UIDS[0], True)
    assert sim.tags[UIDS[0]].afi == 0x07 and reader.read_security(UIDS[0]) is True


def test_eas_security_write_and_read_back(field):
    sim, _, reader = field
    reader.security = "eas"
    reader.set_security(UIDS[2], False)
    assert sim.tags[UIDS[2]].eas is False and reader.read_security(UIDS[2]) is False
    reader.set_security(UIDS[2], True)
    assert sim.tags[UIDS[2]].eas is True


def test_security_write_that_did_not_stick_raises(field):
    sim, _, reader = field
    sim.ignore_security_writes = True
    with pytest.raises(HardwareError, match="still on"):
        reader.set_security(UIDS[0], False)


def test_corrupted_answer_and_silence(field):
    _, pty, reader = field
    pty.corrupt_next = True
    with pytest.raises(fp.FrameError, match="CRC"):
        reader.inventory()
    assert reader.inventory() == UIDS           # the next exchange is fine again
    pty.mute = True
    with pytest.raises(HardwareError, match="did not answer"):
        reader.check()


def test_polling_thread_reports_changes_from_its_own_thread(field):
    sim, _, reader = field
    events: list = []
    threads: set = set()
    changed = threading.Event()

    def on_changed(tags):
        threads.add(threading.current_thread().name)
        events.append(sorted(t.uid for t in tags))
        changed.set()

    removed: list = []
    reader.when_tags_changed = on_changed
    reader.when_tag_removed = removed.append
    reader.start()
    assert changed.wait(3)
    assert events[-1] == UIDS
    changed.clear()
    sim.remove(UIDS[3])
    assert changed.wait(3)
    assert events[-1] == [u for u in UIDS if u != UIDS[3]] and removed == [UIDS[3]]
    assert threading.current_thread().name not in threads


def test_unplugged_reader_does_not_kill_the_poller(field):
    _, pty, reader = field
    pty.mute = True
    reader.error_backoff = 0.1
    reader.start()
    reader._thread.stopping.wait(0.8)
    assert reader._thread.is_alive() and reader._thread.failing
    pty.mute = False
    reader._thread.stopping.wait(1.5)
    assert reader._thread.failing is None


def test_cannot_open_port():
    with pytest.raises(HardwareError, match="cannot open"):
        FeigReader("/dev/does-not-exist-ttyUSB9")
