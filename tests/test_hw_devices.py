"""Simulated twins, open_devices, kiosk doctor, the tag CLI, and start-anywhere imports."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from kiosk import config
from kiosk.cli import main
from kiosk.errors import HardwareError
from kiosk.hardware import TagRead, open_devices
from kiosk.hardware.doctor import Check, run_checks
from kiosk.hardware.sim import SimCardReader, SimScanner, SimSlotSensor, SimTagReader


def collect(n: int):
    """A callback that records (args, thread) and an event set after n calls."""
    calls: list = []
    done = threading.Event()

    def cb(*args):
        calls.append((args, threading.current_thread() is threading.main_thread()))
        if len(calls) >= n:
            done.set()
    return cb, calls, done


def test_sim_card_reader_fires_from_its_own_thread():
    reader = SimCardReader(card_format="decimal", prefix="P")
    cb, calls, done = collect(2)
    reader.when_card = cb
    reader.start()
    reader.tap("23529000445172")
    reader.tap(bytes.fromhex("0000ABCD"))
    assert done.wait(2)
    assert calls == [(("23529000445172",), False), (("P43981",), False)]
    reader.close()


def test_sim_tag_reader_place_remove_and_security():
    reader = SimTagReader(poll_interval=0.02)
    changed, changes, _ = collect(99)
    present, presents, got_two = collect(2)
    reader.when_tags_changed, reader.when_tag_present = changed, present
    reader.start()
    a = reader.place("1000000056", isil="DK-718500")
    b = reader.place(TagRead(uid="E0040100000000B2", item_id="3000000001", parts_in_item=3, part_number=2))
    assert got_two.wait(2)
    tags = {t.uid: t for t in reader.tags}
    assert tags[a].item_id == "1000000056" and tags[a].owner_isil == "DK-718500" and tags[a].security_on
    assert (tags[b].parts_in_item, tags[b].part_number) == (3, 2)
    assert not any(main_thread for _, main_thread in presents)
    reader.set_security(a, False)
    assert reader.read_security(a) is False
    reader.fail_security_writes = True
    with pytest.raises(HardwareError):
        reader.set_security(a, True)
    removed, removals, gone = collect(1)
    reader.when_tag_removed = removed
    reader.remove(b)
    assert gone.wait(2) and removals[0][0] == (b,)
    reader.close()


def test_sim_unreadable_tag_is_reported():
    reader = SimTagReader(poll_interval=0.02)
    uid = reader.place(data=b"\x01\x02\x03" * 10)
    reader.poll_once()
    (tag,) = reader.tags
    assert tag.uid == uid and tag.item_id is None and tag.error


def test_sim_scanner_and_slot_sensor():
    scanner = SimScanner(pattern=r"[0-9]{4,14}")
    cb, calls, done = collect(1)
    scanner.when_scan = cb
    scanner.start()
    scanner.scan("\x1b[12")                   # refused, never delivered
    scanner.scan("31234567")
    assert done.wait(2) and calls[0][0] == ("31234567",)
    scanner.close()
    slot = SimSlotSensor()
    blocked, blocks, _ = collect(1)
    cleared, clears, clear_done = collect(1)
    slot.when_blocked, slot.when_cleared = blocked, cleared
    slot.start()
    slot.drop_item()
    assert clear_done.wait(2) and len(blocks) == 1 and not slot.is_blocked
    slot.close()


def test_open_devices_simulated():
    settings = config.load(None, ["hardware.simulate=true", "card_reader.card_format=decimal"])
    with open_devices(settings) as devices:
        devices.start()
        assert {d.driver for d in devices.all()} == {"sim"}
        assert devices.card_reader.card_format == "decimal"
        devices.door_lock.unlock(1)
        assert not devices.door_lock.is_locked
    assert devices.door_lock.is_locked and devices.door_lock.states == ["unlocked", "locked"]


def test_open_devices_survives_missing_hardware(tmp_path):
    settings = config.load(None, ["hardware.simulate=false", "gpio.backend=mock",
                                  "tag_reader.port=/dev/nothing-here", "scanner.driver=none",
                                  "printer.driver=sim", "card_reader.driver=none"])
    devices = open_devices(settings)
    try:
        assert devices.tag_reader.inventory() == []
        with pytest.raises(HardwareError, match="nothing-here"):
            devices.tag_reader.set_security("E004010000000001", True)
        assert devices.door_lock.driver == "gpio"
    finally:
        devices.close()


def test_run_checks_structured_results():
    settings = config.load(None, ["hardware.simulate=false", "gpio.backend=mock", "tag_reader.port=/dev/nothing",
                                  "card_reader.driver=sim", "scanner.driver=sim", "printer.driver=none",
                                  "ils.port=1"])
    results = run_checks(settings)
    by_name = {r.name: r for r in results}
    assert all(isinstance(r, Check) for r in results)
    assert list(by_name) == ["card_reader", "tag_reader", "scanner", "printer", "indicators", "slot_sensor",
                             "door_lock", "library_system"]
    assert by_name["card_reader"].ok and by_name["door_lock"].ok
    assert not by_name["tag_reader"].ok and "/dev/nothing" in by_name["tag_reader"].detail
    assert by_name["tag_reader"].hint
    assert by_name["printer"].ok and "not fitted" in by_name["printer"].detail
    assert not by_name["library_system"].ok and by_name["library_system"].hint


def test_doctor_command(tmp_path, capsys):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[hardware]\nsimulate = true\n[ils]\nport = 1\n")
    assert main(["doctor", "--config", str(cfg), "--no-ils"]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 11     # 7 devices, journal, clock, storage, display
    # the staff page's plain words, not driver jargon ("sim at simulated: ok")
    assert "Simulated (demo): working" in out and "sim at" not in out
    assert main(["doctor", "--config", str(cfg), "--json"]) == 3     # only the link failed: unreachable
    out = json.loads(capsys.readouterr().out)
    rows = out["checks"]
    assert out["ok"] is False and out["config"] == str(cfg)
    assert rows[-1]["name"] == "library_system" and rows[-1]["ok"] is False and rows[-1]["hint"]
    # A device that fails is a hardware error (5), whatever the library system says.
    assert main(["doctor", "--config", str(cfg), "--no-ils", "--set", "hardware.simulate=false",
                 "--set", "gpio.backend=mock", "--set", "tag_reader.port=/dev/nothing",
                 "--set", "card_reader.driver=sim", "--set", "scanner.driver=sim", "--set", "printer.driver=none"]) == 5
    assert "FAIL  tag_reader" in capsys.readouterr().out


def test_tag_cli(capsys):
    assert main(["tag", "encode", "--model", "28560-3", "--item", "1000000056", "--isil", "DK-718500",
                 "--parts", "2", "--part", "2"]) == 0
    hexdata = capsys.readouterr().out.strip()
    assert main(["tag", "decode", hexdata]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "28560-3" and out["primary_item_id"] == "1000000056"
    assert (out["parts_in_item"], out["part_number"], out["owner_isil"], out["crc_ok"]) == (2, 2, "DK-718500", True)
    assert main(["tag", "encode", "--model", "28560-2", "--item", "1620168259", "--isil", "FI-Mamk-M"]) == 0
    assert main(["tag", "decode", capsys.readouterr().out.strip()]) == 0
    assert json.loads(capsys.readouterr().out)["owner_isil"] == "FI-Mamk-M"
    assert main(["tag", "decode", "00112233"]) == 2          # not tag data: "cannot understand"
    assert "not library tag data" in capsys.readouterr().err
    assert main(["tag", "decode", "zz"]) == 64               # not hex at all: a usage error
    err = capsys.readouterr().err
    assert "zz is not hexadecimal" in err and "['zz']" not in err


def test_hardware_package_imports_without_pi_modules():
    # Pi-only modules must be imported only inside functions: the kiosk starts anywhere.
    code = (
        "import sys, importlib, pkgutil\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('spidev', 'RPi', 'lgpio', 'evdev', 'mfrc522'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import kiosk.hardware, kiosk.tags\n"
        "for pkg in (kiosk.hardware, kiosk.tags):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
