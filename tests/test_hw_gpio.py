"""GPIO devices on gpiozero's MockFactory: fail-secure lock, slot sensor, indicators."""

from __future__ import annotations

import os
import threading
import time

import pytest

from kiosk.errors import HardwareError
from kiosk.hardware.gpio import AbsentDoorLock, GpioDoorLock, GpioIndicators, GpioSlotSensor, make_pin_factory


@pytest.fixture
def factory():
    f = make_pin_factory("mock")
    yield f
    f.close()


def test_lock_starts_locked_and_unlock_relocks_by_itself(factory):
    lock = GpioDoorLock(5, factory, max_unlock_s=0.2)
    pin = factory.pin(5)
    assert pin.state == 0 and lock.is_locked          # never energised at start
    lock.unlock(30)                                     # capped at max_unlock_s
    assert pin.state == 1 and not lock.is_locked
    time.sleep(0.4)
    assert pin.state == 0 and lock.is_locked
    lock.close()


def test_close_leaves_the_lock_locked_and_touches_only_our_pins(factory):
    other = factory.pin(6)
    other.function = "output"
    other.state = 1
    lock = GpioDoorLock(5, factory, max_unlock_s=5)
    lock.unlock(5)
    lock.close()
    pin = factory.pin(5)
    assert pin.state == 0 and pin.function == "input"  # de-energised, released (pull resistor holds it)
    assert other.state == 1 and other.function == "output"
    assert [s.state for s in pin.states][-2:] == [True, False]


def test_active_low_lock_driver(factory):
    lock = GpioDoorLock(5, factory, active_high=False)
    assert factory.pin(5).state == 1                   # inactive = high for an active-low driver
    lock.unlock(1)
    assert factory.pin(5).state == 0
    lock.close()


def test_absent_lock_refuses_to_unlock():
    with pytest.raises(HardwareError, match="no door lock"):
        AbsentDoorLock().unlock(1)


def test_slot_sensor_events_from_gpio_thread(factory):
    sensor = GpioSlotSensor(24, factory, active_low=True, bounce_ms=0)
    events: list = []
    done = threading.Event()

    def blocked():
        events.append(("blocked", threading.current_thread() is threading.main_thread()))

    def cleared():
        events.append(("cleared", threading.current_thread() is threading.main_thread()))
        done.set()

    sensor.when_blocked, sensor.when_cleared = blocked, cleared
    sensor.start()
    pin = factory.pin(24)
    assert not sensor.is_blocked
    pin.drive_low()                                    # beam interrupted (open-collector pulls low)
    assert sensor.is_blocked
    pin.drive_high()
    assert done.wait(2)
    assert [e[0] for e in events] == ["blocked", "cleared"]
    sensor.close()


def test_indicators(factory):
    ind = GpioIndicators({"ready": 17, "busy": 27, "error": -1}, 23, factory)
    ind.set_light("ready", "on")
    assert factory.pin(17).state == 1
    ind.set_light("ready", "off")
    assert factory.pin(17).state == 0
    ind.set_light("error", "on")                       # not fitted: ignored
    ind.set_light("busy", "blink")
    ind.beep("error")
    time.sleep(0.2)
    assert any(s.state for s in factory.pin(23).states)
    with pytest.raises(ValueError):
        ind.set_light("ready", "purple")
    ind.close()


def test_unknown_backend():
    with pytest.raises(HardwareError, match="expected lgpio or mock"):
        make_pin_factory("rpigpio")


def test_lgpio_gets_a_writable_workdir_when_started_from_an_unwritable_one(tmp_path, monkeypatch):
    """lgpio writes its notification pipe (.lgd-nfy*) into the working directory: `kiosk doctor`
    from / failed and blamed the gpio group.  The factory must point LG_WD somewhere writable first."""
    import sys
    import types

    from kiosk.hardware import gpio

    seen = {}

    class FakeFactory:   # stands in for gpiozero's LGPIOFactory: lgpio reads LG_WD when it loads
        def __init__(self, chip=None):
            wd = os.environ.get("LG_WD") or os.getcwd()
            seen["wd"] = wd
            open(os.path.join(wd, ".lgd-nfy0"), "w").close()   # raises where lgpio would fail

    fake = types.ModuleType("gpiozero.pins.lgpio")
    fake.LGPIOFactory = FakeFactory
    monkeypatch.setitem(sys.modules, "gpiozero.pins.lgpio", fake)
    monkeypatch.delenv("LG_WD", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.chdir("/proc")   # nobody, not even root, can create a file here
    gpio.make_pin_factory("lgpio")
    assert seen["wd"] == str(tmp_path / f"kiosk-lgpio-{os.getuid()}")
    monkeypatch.setenv("LG_WD", str(tmp_path))   # the unit's LG_WD=/run/kiosk is kept when writable
    gpio.make_pin_factory("lgpio")
    assert seen["wd"] == str(tmp_path)
