"""3M 810 reader protocol and driver against a simulated reader on a pty."""

from __future__ import annotations

import pytest

from kiosk import config
from kiosk.errors import HardwareError
from kiosk.hardware import open_devices
from kiosk.hardware import threem810_protocol as tp
from kiosk.hardware.feig_sim import SimTag
from kiosk.hardware.threem810 import ThreeM810Reader
from kiosk.hardware.threem810_sim import PtyThreeM810Reader, ThreeM810Simulator
from kiosk.tags import encode_tag


@pytest.mark.parametrize("body, crc", [
    ("000903000200000003", 0x12E6),          # 3M specification example
    ("0005040011", 0x8C66),                  # Biblio-RFID hardware-version probe
    ("00090400110A050002", 0x7250),          # ... and the reader's answer to it
])
def test_crc_vectors(body, crc):
    assert tp.crc16(bytes.fromhex(body)) == crc


def test_frames():
    assert tp.encode(bytes.fromhex("040011"), tp.START_PROBE) == tp.PROBE
    frame = tp.encode(tp.inventory_request())
    assert frame[:3] == b"\xd6\x00\x05" and tp.decode(frame) == b"\xfe\x00\x05"
    with pytest.raises(tp.FrameError, match="CRC"):
        tp.decode(frame[:-1] + bytes([frame[-1] ^ 1]))
    with pytest.raises(tp.ReaderError):
        tp.check_reply(b"\x09\x06", tp.CMD_WRITE_AFI)


UIDS = ["E004010000000A01", "E004010000000A02"]


@pytest.fixture
def field():
    sim = ThreeM810Simulator()
    sim.add(SimTag(uid=UIDS[0], data=encode_tag("3m", "1302003767"), afi=tp.AFI_SECURED, blocks=8))
    sim.add(SimTag(uid=UIDS[1], data=encode_tag("28560-3", "1000000056", isil="DK-718500"),
                   afi=tp.AFI_SECURED, blocks=28))
    with PtyThreeM810Reader(sim) as pty:
        reader = ThreeM810Reader(pty.port, timeout=0.3, poll_interval=0.05)
        yield sim, pty, reader
        reader.close()


def test_inventory_read_and_decode(field):
    _, _, reader = field
    assert reader.inventory() == UIDS
    tags = {u: reader.read_tag(u) for u in UIDS}
    assert (tags[UIDS[0]].item_id, tags[UIDS[0]].model) == ("1302003767", "3m")   # 8-block tag: read stops at its end
    assert (tags[UIDS[1]].item_id, tags[UIDS[1]].owner_isil) == ("1000000056", "DK-718500")
    assert reader.check() == "3M 810 hardware 10.5.0.2"          # the version 3M810.pm reads


def test_afi_security_with_retries(field):
    sim, _, reader = field
    sim.refuse_afi_writes = 2                    # a moving tag refuses the first writes
    reader.set_security(UIDS[0], False)
    assert sim.tags[UIDS[0]].afi == tp.AFI_UNSECURED and reader.read_security(UIDS[0]) is False
    reader.set_security(UIDS[0], True)
    assert sim.tags[UIDS[0]].afi == tp.AFI_SECURED
    sim.refuse_afi_writes = 99
    with pytest.raises(tp.ReaderError):
        reader.set_security(UIDS[0], False)


def test_write_blocks_then_read_back(field):
    _, _, reader = field
    data = encode_tag("28560-3", "4000000004", isil="DK-718500")
    reader.write_blocks(UIDS[1], 0, data)
    assert reader.read_tag(UIDS[1]).item_id == "4000000004"


def test_silence_and_corruption(field):
    _, pty, reader = field
    pty.corrupt_next = True
    with pytest.raises(tp.FrameError):
        reader.inventory()
    pty.mute = True
    with pytest.raises(HardwareError, match="did not answer"):
        reader.inventory()


def test_eas_is_refused():
    with pytest.raises(HardwareError, match="AFI only"):
        ThreeM810Reader("loop://", security="eas")


def test_selected_by_config():
    with PtyThreeM810Reader() as pty:
        settings = config.load(None, ["hardware.simulate=false", "tag_reader.driver=3m810",
                                      f"tag_reader.port={pty.port}", "tag_reader.baudrate=19200",
                                      "tag_reader.parity=N", "card_reader.driver=none", "scanner.driver=none",
                                      "printer.driver=none", "gpio.backend=sim"])
        with open_devices(settings) as devices:
            assert devices.tag_reader.driver == "3m810"
            assert devices.tag_reader.check().startswith("3M 810 hardware")
