"""MFRC522 patron-card driver against a register-level simulation behind a fake ``spidev``."""

from __future__ import annotations

import sys
import threading

import pytest

from kiosk.errors import HardwareError
from kiosk.hardware.cardformat import format_card_number
from kiosk.hardware.mfrc522 import Mfrc522CardReader, Mfrc522TagReader, crc_a
from kiosk.hardware.mfrc522_sim import Mfrc522Sim, SimCard, fake_spidev_module
from kiosk.tags import encode_tag


@pytest.fixture
def chip(monkeypatch):
    sim = Mfrc522Sim()
    monkeypatch.setitem(sys.modules, "spidev", fake_spidev_module(sim))   # the production import path
    return sim


def reader_for(chip, **kw):
    reader = Mfrc522CardReader(poll_interval=0.02, **kw)
    cards: list[str] = []
    reader.when_card = cards.append
    return reader, cards


def test_crc_a_check_value():
    # ISO/IEC 14443-3 CRC_A of HALT (50 00) is 57 CD
    assert crc_a(b"\x50\x00") == b"\x57\xcd"


def test_no_card(chip):
    reader, cards = reader_for(chip)
    reader.poll_once()
    assert cards == []


@pytest.mark.parametrize("uid", ["8B6566B9", "04A1B2C3D4E5F6", "0102030405060708090A"])
def test_one_card_any_uid_length(chip, uid):
    chip.place(SimCard(bytes.fromhex(uid), sak=0x00))
    reader, cards = reader_for(chip)
    reader.poll_once()
    assert cards == [uid]                          # no BCC byte, full cascade


def test_seven_byte_uids_sharing_the_first_three_bytes_differ(chip):
    reader, cards = reader_for(chip)
    a = chip.place(SimCard(bytes.fromhex("04A1B2C3D4E5F6"), sak=0))
    reader.poll_once()
    chip.remove(a)
    reader.poll_once()
    reader.poll_once()
    chip.place(SimCard(bytes.fromhex("04A1B211111111"), sak=0))
    reader.poll_once()
    assert cards == ["04A1B2C3D4E5F6", "04A1B211111111"]


def test_card_left_on_reader_is_reported_once_and_again_after_removal(chip):
    reader, cards = reader_for(chip)
    card = chip.place(SimCard(bytes.fromhex("8B6566B9")))
    for _ in range(5):
        reader.poll_once()
    assert cards == ["8B6566B9"]
    chip.remove(card)
    reader.poll_once()
    reader.poll_once()
    chip.place(card)
    reader.poll_once()
    assert cards == ["8B6566B9", "8B6566B9"]


def test_two_cards_read_nothing_until_one_leaves(chip):
    reader, cards = reader_for(chip)
    a = chip.place(SimCard(bytes.fromhex("11223344")))
    chip.place(SimCard(bytes.fromhex("55667788")))
    reader.poll_once()
    assert cards == []
    chip.remove(a)
    reader.poll_once()
    assert cards == ["55667788"]


@pytest.mark.parametrize("fmt, prefix, expected", [
    ("hex", "", "8B6566B9"),
    ("hex_reversed", "", "B966658B"),
    ("decimal", "", str(0x8B6566B9)),
    ("decimal_reversed", "", str(0xB966658B)),
    ("decimal", "29", "29" + str(0x8B6566B9)),
])
def test_card_number_formats(chip, fmt, prefix, expected):
    chip.place(SimCard(bytes.fromhex("8B6566B9")))
    reader, cards = reader_for(chip, card_format=fmt, prefix=prefix)
    reader.poll_once()
    assert cards == [expected] == [format_card_number(bytes.fromhex("8B6566B9"), fmt, prefix)]


def test_waiting_sleeps_instead_of_spinning(chip):
    chip.latency_s = 0.02                     # the air exchange takes 20 ms
    reader, cards = reader_for(chip)
    chip.place(SimCard(bytes.fromhex("8B6566B9")))
    reader.poll_once()
    assert cards == ["8B6566B9"]
    # 6 exchanges (WUPA, anticoll, select, ... HALT) x 20 ms; 2 ms sleeps allow ~10 reads each,
    # the mfrc522 package's loop would do up to 2000 per exchange
    assert chip.irq_reads < 6 * 20


def test_irq_pin_wakes_the_driver_instead_of_polling_the_chip(chip):
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    try:
        chip.latency_s = 0.02
        chip.irq_pin = factory.pin(24)
        chip.irq_pin.drive_high()                    # idle: IRQ line released (pulled up)
        reader, cards = reader_for(chip, irq_pin=24, pin_factory=factory)
        woken: list[bool] = []
        event = reader.chip.irq_event

        class RecordingEvent:
            def clear(self):
                event.clear()

            def set(self):
                event.set()

            def wait(self, timeout=None):
                woken.append(event.wait(timeout))
                return woken[-1]

        reader.chip.irq_event = RecordingEvent()
        chip.place(SimCard(bytes.fromhex("8B6566B9")))
        before = chip.irq_reads
        reader.poll_once()
        assert cards == ["8B6566B9"]
        assert woken and all(woken)                  # every wait ended by the interrupt, not a timeout
        # each exchange: one look before waiting, one after the interrupt (6 exchanges)
        assert chip.irq_reads - before <= 6 * 3
        reader.close()
    finally:
        factory.close()


def test_events_come_from_the_reader_thread(chip):
    reader, _ = reader_for(chip)
    got = threading.Event()
    seen: list = []

    def on_card(number):
        seen.append((number, threading.current_thread().name))
        got.set()

    reader.when_card = on_card
    reader.start()
    chip.place(SimCard(bytes.fromhex("DEADBEEF")))
    assert got.wait(3)
    reader.close()
    assert seen[0][0] == "DEADBEEF" and seen[0][1] == "card-reader-mfrc522"
    assert reader.spi.closed


def test_no_chip_answering(chip):
    chip.version = 0x00
    with pytest.raises(HardwareError, match="no MFRC522"):
        Mfrc522CardReader()


def test_reset_and_irq_pins_are_ours_only(chip):
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    try:
        other = factory.pin(17)
        other.function = "output"
        other.state = 1
        reader = Mfrc522CardReader(reset_pin=25, irq_pin=24, pin_factory=factory)
        assert factory.pin(25).state == 1          # RST held high: chip running
        reader.close()
        assert other.state == 1 and other.function == "output"   # untouched
        assert factory.pin(25).function == "input"              # ours released
    finally:
        factory.close()


def test_iso14443_item_tag(chip):
    memory = bytes(16) + encode_tag("28560-3", "1000000056", isil="DK-718500").ljust(112, b"\x00")
    chip.place(SimCard(bytes.fromhex("04A1B2C3D4E5F6"), memory=memory, sak=0x00))
    reader = Mfrc522TagReader(poll_interval=0.02)
    assert reader.inventory() == ["04A1B2C3D4E5F6"]
    tag = reader.read_tag("04A1B2C3D4E5F6")
    assert (tag.item_id, tag.owner_isil) == ("1000000056", "DK-718500")
    with pytest.raises(HardwareError, match="no AFI/EAS"):
        reader.set_security("04A1B2C3D4E5F6", False)
