"""The real ``mfrc522`` 0.0.7 package against the register-level MFRC522 simulation.

The package is installed into this venv with ``--no-deps`` when missing (as systemd/install.sh does
on a Pi: its RPi.GPIO dependency cannot share a venv with rpi-lgpio).  Off a Pi, its import-time
``RPi.GPIO`` and ``spidev`` are fakes in ``sys.modules``: a recording RPi.GPIO module and the
simulated chip behind ``fake_spidev_module``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
import threading
import types

import pytest

from kiosk import config
from kiosk.errors import HardwareError
from kiosk.hardware import open_devices
from kiosk.hardware.mfrc522_sim import Mfrc522Sim, SimCard, fake_spidev_module

VERSION = "0.0.7"


@pytest.fixture(scope="session")
def mfrc522_installed():
    """The package in this venv; a failed install fails the tests (never a skip)."""
    try:
        installed = importlib.metadata.version("mfrc522")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed != VERSION:
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                               f"mfrc522=={VERSION}"], capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, f"could not install mfrc522 {VERSION}: {proc.stderr[-500:]}"
        importlib.invalidate_caches()


@pytest.fixture
def chip(monkeypatch):
    sim = Mfrc522Sim()
    monkeypatch.setitem(sys.modules, "spidev", fake_spidev_module(sim))
    return sim


@pytest.fixture
def gpio(monkeypatch):
    """A fake ``RPi.GPIO`` that records every call (``gpio.calls``) and keeps the numbering mode."""
    mod = types.ModuleType("RPi.GPIO")
    mod.BOARD, mod.BCM, mod.OUT, mod.IN = 10, 11, 0, 1
    mod.mode = None
    mod.calls = []
    mod.getmode = lambda: mod.mode

    def setmode(mode):
        mod.mode = mode

    mod.setmode = setmode
    mod.setwarnings = lambda flag: None
    for name in ("setup", "output", "cleanup"):
        setattr(mod, name, lambda *a, _name=name, **k: mod.calls.append((_name, a)))
    rpi = types.ModuleType("RPi")
    rpi.GPIO = mod
    monkeypatch.setitem(sys.modules, "RPi", rpi)
    monkeypatch.setitem(sys.modules, "RPi.GPIO", mod)
    return mod


@pytest.fixture
def package(mfrc522_installed, chip, gpio, monkeypatch):
    """A fresh import of the package, bound to this test's fake spidev and RPi.GPIO."""
    for name in [n for n in sys.modules if n == "mfrc522" or n.startswith("mfrc522.")]:
        monkeypatch.delitem(sys.modules, name)
    return importlib.import_module("mfrc522")


def package_reader(**kw):
    from kiosk.hardware.mfrc522_package import Mfrc522PackageCardReader

    reader = Mfrc522PackageCardReader(poll_interval=0.02, **kw)
    cards: list[str] = []
    reader.when_card = cards.append
    return reader, cards


def test_the_package_itself_on_the_fake_chip(package, chip, gpio):
    """What the package does on its own: a 5-byte "UID" with BCC, a spinning wait, a global cleanup."""
    reader = package.MFRC522()
    before = chip.irq_reads
    status, _ = reader.MFRC522_Request(reader.PICC_REQIDL)
    assert status == reader.MI_ERR                     # empty field ...
    assert chip.irq_reads - before >= 2000             # ... after 2000 CommIrqReg reads (its busy loop)
    chip.place(SimCard(bytes.fromhex("8B6566B9")))
    status, bits = reader.MFRC522_Request(reader.PICC_REQIDL)
    assert (status, bits) == (reader.MI_OK, 16)        # ATQA: 16 bits
    status, uid = reader.MFRC522_Anticoll()
    assert status == reader.MI_OK
    assert bytes(uid).hex().upper() == "8B6566B931"    # the BCC byte is part of its "UID"
    assert reader.MFRC522_SelectTag(uid) == 0x08       # SAK via its CRC-coprocessor path
    reader.Close_MFRC522()
    assert ("cleanup", ()) in gpio.calls               # every GPIO pin of the process


@pytest.mark.parametrize("uid", ["8B6566B9", "04A1B2C3D4E5F6", "0102030405060708090A"])
def test_backend_reads_full_uids(package, chip, uid):
    chip.place(SimCard(bytes.fromhex(uid), sak=0x00))
    reader, cards = package_reader()
    reader.poll_once()
    assert cards == [uid]                              # no BCC byte, cascade done on top of ToCard
    reader.close()


def test_backend_empty_field_does_not_spin(package, chip):
    reader, cards = package_reader()
    before = chip.irq_reads
    reader.poll_once()
    assert cards == []
    assert chip.irq_reads - before <= 4                # the package alone: 2000 (test above)
    chip.latency_s = 0.02                              # each air exchange now takes 20 ms
    chip.place(SimCard(bytes.fromhex("04A1B2C3D4E5F6")))
    before = chip.irq_reads
    reader.poll_once()
    assert cards == ["04A1B2C3D4E5F6"]
    # 6 exchanges (WUPA, 2 x anticollision + select, HALT) x 20 ms in 2 ms sleeps
    assert chip.irq_reads - before < 6 * 20
    reader.close()


def test_backend_reports_a_card_once_per_presentation(package, chip):
    reader, cards = package_reader()
    card = chip.place(SimCard(bytes.fromhex("04A1B2C3D4E5F6"), sak=0x00))
    for _ in range(5):
        reader.poll_once()
    assert cards == ["04A1B2C3D4E5F6"]
    chip.remove(card)
    reader.poll_once()
    reader.poll_once()
    chip.place(card)
    reader.poll_once()
    chip.remove(card)
    reader.poll_once()
    reader.poll_once()
    chip.place(SimCard(bytes.fromhex("04A1B211111111"), sak=0x00))   # same cascade-level-1 bytes
    reader.poll_once()
    assert cards == ["04A1B2C3D4E5F6", "04A1B2C3D4E5F6", "04A1B211111111"]
    reader.close()


def test_backend_two_cards_read_nothing_until_one_leaves(package, chip):
    reader, cards = package_reader()
    a = chip.place(SimCard(bytes.fromhex("11223344")))
    chip.place(SimCard(bytes.fromhex("04A1B2C3D4E5F6"), sak=0x00))
    reader.poll_once()
    reader.poll_once()
    assert cards == []
    chip.remove(a)
    reader.poll_once()
    assert cards == ["04A1B2C3D4E5F6"]
    reader.close()


def test_backend_runs_on_its_thread_and_releases_only_its_own_pin(package, chip, gpio):
    reader, _ = package_reader(reset_pin=25)
    assert gpio.mode == gpio.BCM and ("setup", (25, gpio.OUT)) in gpio.calls   # RST is BCM 25
    got = threading.Event()
    seen: list = []
    reader.when_card = lambda number: (seen.append((number, threading.current_thread().name)), got.set())
    reader.start()
    chip.place(SimCard(bytes.fromhex("DEADBEEF")))
    assert got.wait(3)
    reader.close()
    assert seen[0] == ("DEADBEEF", "card-reader-mfrc522")
    assert [args for name, args in gpio.calls if name == "cleanup"] == [(25,)]   # never GPIO.cleanup()
    assert reader.spi.closed


def test_backend_refusals(package, chip, gpio, monkeypatch):
    with pytest.raises(HardwareError, match="reset_pin"):
        package_reader(reset_pin=-1)                    # the package would take BCM 15 (UART RXD)
    chip.version = 0x00
    with pytest.raises(HardwareError, match="no MFRC522"):
        package_reader()
    assert [args for name, args in gpio.calls if name == "cleanup"] == [(25,)]
    monkeypatch.setitem(sys.modules, "mfrc522", None)  # not installed
    with pytest.raises(HardwareError, match="pip install --no-deps mfrc522"):
        package_reader()


def test_config_selects_the_backend(package, chip):
    settings = config.load(None, ["hardware.simulate=false", "card_reader.driver=mfrc522-package",
                                  "tag_reader.driver=none", "scanner.driver=none", "printer.driver=none",
                                  "gpio.backend=sim"])
    with open_devices(settings) as devices:
        reader = devices.card_reader
        assert reader.driver == "mfrc522-package"
        assert reader.check() == "MFRC522 version 0x92 on spidev0.0"


def test_installer_adds_the_package_without_its_rpi_gpio_dependency():
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "systemd" / "install.sh"
    plan = subprocess.run(["sh", str(script), "--dry-run", "--no-apt"], capture_output=True, text=True,
                          timeout=60).stdout.splitlines()
    pi = next(i for i, line in enumerate(plan) if "pip install" in line and "[pi]" in line)
    package = next(i for i, line in enumerate(plan) if "pip install" in line and "mfrc522" in line)
    assert package > pi and f"--no-deps mfrc522=={VERSION}" in plan[package]
