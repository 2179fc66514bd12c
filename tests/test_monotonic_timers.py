"""Issue 13 item 4: timeouts run on a monotonic clock; the wall clock only dates things.

A Pi without RTC boots with a stale clock and NTP steps it later; a wall clock can also be stepped
back.  The clocks here are injected: the wall clock jumps back an hour in the middle of a
patron's session while real (monotonic) time keeps going.
"""

from __future__ import annotations

import pytest

from kiosk import config
from kiosk.circulation import view as v
from kiosk.circulation.journal import Journal
from kiosk.circulation.memory_ils import MemItem, MemoryIls, MemPatron
from kiosk.circulation.service import KioskService

CARD = "23529000445172"


class Clocks:
    def __init__(self) -> None:
        self.wall_t, self.mono_t = 1_800_000_000.0, 5000.0

    def wall(self) -> float:
        return self.wall_t

    def mono(self) -> float:
        return self.mono_t

    def step(self, real_s: float, wall_jump_s: float = 0.0) -> None:
        self.mono_t += real_s
        self.wall_t += real_s + wall_jump_s


@pytest.fixture
def kiosk(tmp_path):
    made = []

    def build(**sets):
        c = Clocks()
        settings = config.load(None, [f"storage.data_dir={tmp_path}", "kiosk.session_timeout_s=60",
                                      "kiosk.timeout_warning_s=15", "offline.probe_interval_s=30",
                                      *[f"{k.replace('__', '.')}={val}" for k, val in sets.items()]])
        ils = MemoryIls([MemPatron(CARD, "Alice")], [MemItem("B1", title="Book")])
        journal = Journal(tmp_path / "journal.sqlite3")
        svc = KioskService(settings, ils, journal, None, clock=c.wall, monotonic=c.mono)
        made.append((svc, journal))
        return svc, ils, c
    yield build
    for svc, journal in made:
        svc.close()
        journal.close()


def test_a_backward_wall_clock_step_does_not_keep_a_patrons_session_on_screen(kiosk):
    svc, ils, c = kiosk()
    svc.card_presented(CARD)
    svc.wait_idle(5)
    assert svc.view().patron is not None and svc.view().patron.name == "Alice"
    c.step(10, wall_jump_s=-3600)          # NTP steps the wall clock back an hour
    svc.tick()
    c.step(40)
    svc.tick()
    assert svc.view().warning_s is not None   # the warning comes on real time
    c.step(15)
    svc.tick()
    svc.wait_idle(5)
    view = svc.view()
    assert view.state in (v.ENDED, v.IDLE) and view.patron is None   # name and loans gone


def test_a_forward_wall_clock_step_does_not_cut_a_session_short(kiosk):
    svc, ils, c = kiosk()
    svc.card_presented(CARD)
    svc.wait_idle(5)
    c.step(5, wall_jump_s=+86400)          # the stale boot clock is corrected a day forward
    svc.tick()
    svc.wait_idle(5)
    assert svc.view().patron is not None and svc.view().state != v.ENDED


def test_the_probe_runs_on_real_time_after_a_backward_step(kiosk):
    svc, ils, c = kiosk(kiosk__offline_policy="returns")
    ils.down = True
    svc.start(v.RETURN)
    svc.item_seen("B1")
    svc.wait_idle(5)
    assert not svc.online
    ils.down = False
    c.step(31, wall_jump_s=-7200)          # real time passed; the wall clock says two hours earlier
    svc.tick()
    svc.wait_idle(5)
    assert svc.online                      # the probe still ran


def test_the_return_hatch_locks_on_real_time_after_a_backward_step(tmp_path):
    """The slot's ``lock_open_s`` is a duration: a wall clock stepped back must not hold the hatch open."""
    from kiosk.afterhours import slot as S
    from kiosk.afterhours.bookdrop import BookDrop
    from kiosk.hardware import open_devices

    c = Clocks()
    settings = config.load(None, [f"storage.data_dir={tmp_path}", "hardware.simulate=true", "kiosk.mode=returns",
                                  "bookdrop.lock_open_s=8"])
    devices = open_devices(settings)
    devices.start()
    journal = Journal(tmp_path / "journal.sqlite3")
    ils = MemoryIls([MemPatron(CARD, "Alice")], [MemItem("B1", title="Book")])
    drop = BookDrop(settings, devices, ils, journal, clock=c.wall, monotonic=c.mono, tick_interval=None)
    try:
        drop.start()
        drop.tick()
        assert drop.wait_idle(10)
        drop.request_open()
        drop.tick()
        assert drop.wait_idle(10)
        assert devices.door_lock.states[-1] == "unlocked" and drop.view().state == S.DOOR_OPEN
        c.step(9, wall_jump_s=-3600)
        drop.tick()
        assert drop.wait_idle(10)
        assert devices.door_lock.states[-1] == "locked" and not drop.view().door_unlocked
    finally:
        drop.close()
        journal.close()
        devices.close()
