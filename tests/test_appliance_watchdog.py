"""sd_notify client and watchdog: messages seen on a fake NOTIFY_SOCKET, pings driven by Kivy's Clock."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from kiosk.appliance.monitoring import metrics
from kiosk.appliance.watchdog import Notifier, start_watchdog, watchdog_interval_s

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def notify_socket():
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET (short path: sun_path is 108 bytes)."""
    d = tempfile.mkdtemp(prefix="sdn", dir="/tmp")
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    yield path, sock
    sock.close()
    os.unlink(path)
    os.rmdir(d)


def received(sock: socket.socket, timeout: float = 0.2) -> list[str]:
    out = []
    sock.settimeout(timeout)
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except TimeoutError:
            return out


class FakeScheduler:
    """Stands in for Clock.schedule_interval: records the callback; the test calls it."""

    def __init__(self) -> None:
        self.calls: list = []
        self.cancelled = False

    def __call__(self, callback, interval):
        self.calls.append((callback, interval))
        return self

    def cancel(self) -> None:
        self.cancelled = True


def test_ready_ping_status_stopping(notify_socket, monkeypatch):
    path, sock = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    sched = FakeScheduler()
    dog = start_watchdog(sched)
    (callback, interval), = sched.calls
    assert interval == pytest.approx(10.0)  # a third of WatchdogSec=30
    callback(0.016)
    callback(0.016)
    dog.stop()
    msgs = received(sock)
    assert msgs == ["READY=1\nSTATUS=running", "WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1", "STOPPING=1"]
    assert sched.cancelled and dog.pings == 3
    assert time.time() - metrics.get("ui_heartbeat_timestamp_seconds") < 5


def test_abstract_namespace_socket(monkeypatch):
    name = f"kiosk-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    try:
        n = Notifier("@" + name)
        assert n.ready() and n.ping() and n.status("hello")
        assert received(sock) == ["READY=1", "WATCHDOG=1", "STATUS=hello"]
    finally:
        sock.close()


def test_unhealthy_worker_stops_pings(notify_socket, monkeypatch):
    path, sock = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "9000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    healthy = {"ok": True}
    sched = FakeScheduler()
    start_watchdog(sched, health=lambda: (healthy["ok"], "RFID reader thread died"))
    tick = sched.calls[0][0]
    healthy["ok"] = False
    tick(0)
    tick(0)
    healthy["ok"] = True
    tick(0)
    assert received(sock) == ["READY=1\nSTATUS=running", "WATCHDOG=1",
                              "STATUS=unhealthy: RFID reader thread died", "STATUS=running", "WATCHDOG=1"]


def test_no_socket_is_a_quiet_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    sched = FakeScheduler()
    dog = start_watchdog(sched)
    assert sched.calls[0][1] == 10.0 and dog.pings == 0  # heartbeat for /health still scheduled
    assert Notifier().ping() is False


def test_missing_socket_is_logged_not_raised(caplog):
    n = Notifier("/tmp/does-not-exist-kiosk.sock")
    assert n.ping() is False and n.ping() is False
    assert sum("cannot notify systemd" in r.getMessage() for r in caplog.records) == 1


def test_watchdog_interval():
    assert watchdog_interval_s({"WATCHDOG_USEC": "15000000"}) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "15000000", "WATCHDOG_PID": "1"}) is None  # not ours
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval_s({}) is None


KIVY_SCRIPT = """
import os, sys, time
from kivy.clock import Clock
from kiosk.appliance.watchdog import start_watchdog
dog = start_watchdog(Clock.schedule_interval)
end = time.time() + 0.6
while time.time() < end:          # the UI main loop turning
    Clock.tick()
time.sleep(0.6)                   # the UI freezes: no Clock ticks, so no pings
print(dog.pings, flush=True)
"""


def test_pings_come_from_the_kivy_clock(notify_socket, tmp_path):
    path, sock = notify_socket
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="150000", KIVY_NO_ARGS="1", KIVY_NO_FILELOG="1",
               KIVY_NO_CONSOLELOG="1", KIVY_HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-c", KIVY_SCRIPT], env=env, stdout=subprocess.PIPE, text=True)
    sock.settimeout(30)
    first = sock.recv(4096).decode()
    assert first.startswith("READY=1")
    stamps = []
    sock.settimeout(0.4)
    while True:
        try:
            msg = sock.recv(4096).decode()
        except TimeoutError:
            break
        assert msg == "WATCHDOG=1"
        stamps.append(time.monotonic())
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    # 0.6 s of a running loop at a 0.05 s period: about a dozen pings; then silence while frozen.
    assert int(out) == len(stamps) and len(stamps) >= 6
