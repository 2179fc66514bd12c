"""GPIO devices on gpiozero's MockFactory: fail-secure lock, slot sensor, indicators."""

from __future__ import annotations

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
