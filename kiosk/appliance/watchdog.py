"""systemd notification and watchdog, without dependencies.

The kiosk unit is ``Type=notify`` with ``WatchdogSec=``: systemd waits for ``READY=1`` and then
expects ``WATCHDOG=1`` regularly, otherwise it kills and restarts the kiosk (reference
hardware-and-deployment.md §5.1).  The ping is sent from a Kivy ``Clock`` callback, i.e. from the
UI's main loop, so a frozen screen — not just a dead process — gets restarted.  An optional
``health`` callable lets the app stop pinging when a vital worker thread has died.

The protocol (sd_notify(3)) is one datagram of ``KEY=VALUE`` lines sent to the AF_UNIX socket
named by ``$NOTIFY_SOCKET``; a leading ``@`` means the Linux abstract namespace.  Unlike the
``sdnotify`` package we do not swallow errors silently: a failed send is logged once.

The app calls, on the main thread, once the first screen is up::

    self.watchdog = start_watchdog(Clock.schedule_interval)   # App.on_start
    self.watchdog.stop()                                        # App.on_stop (sends STOPPING=1)
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify messages to ``$NOTIFY_SOCKET`` (or a given address); a no-op without one."""

    def __init__(self, address: str | None = None) -> None:
        self.address = os.environ.get("NOTIFY_SOCKET") if address is None else address
        self._sock: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def _target(self) -> str:
        assert self.address
        # "@name" is an abstract socket: the kernel wants a leading NUL byte instead.
        return "\0" + self.address[1:] if self.address.startswith("@") else self.address

    def notify(self, *lines: str) -> bool:
        """Send ``lines`` as one datagram; True when sent, False when disabled or failed."""
        if not self.address:
            return False
        payload = "\n".join(lines).encode("utf-8")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(payload, self._target())
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify systemd at %s: %s", self.address, exc)
                self._warned = True
            self.close()
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def ping(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_interval_s(environ: dict[str, str] | None = None) -> float | None:
    """The watchdog timeout systemd set for *this* process, in seconds (None: no watchdog)."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None  # meant for another process (e.g. our parent)
    return int(usec) / 1_000_000


class Watchdog:
    """A running watchdog: pings from the scheduler until ``stop()``.  Also feeds the UI heartbeat
    metric so ``/health`` notices a frozen UI even where systemd is not watching."""

    def __init__(self, notifier: Notifier, interval_s: float | None,
                 health: Callable[[], tuple[bool, str]] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.notifier = notifier
        self.interval_s = interval_s
        self.health = health
        self.clock = clock
        self.event: Any = None
        self.pings = 0
        self._unhealthy_reason: str | None = None

    def tick(self, dt: float = 0.0) -> None:
        """The Clock callback: ping unless a vital part of the kiosk reports itself dead."""
        from kiosk.appliance.monitoring import metrics

        if self.health is not None:
            ok, reason = self.health()
            if not ok:
                if reason != self._unhealthy_reason:
                    log.error("not pinging the watchdog: %s (systemd will restart the kiosk)", reason)
                    self.notifier.status(f"unhealthy: {reason}")
                    self._unhealthy_reason = reason
                return
            if self._unhealthy_reason is not None:
                self.notifier.status("running")
                self._unhealthy_reason = None
        metrics.set("ui_heartbeat_timestamp_seconds", self.clock())
        if self.notifier.ping():
            self.pings += 1

    def stop(self) -> None:
        if self.event is not None:
            cancel = getattr(self.event, "cancel", None)
            if cancel:
                cancel()
            self.event = None
        self.notifier.stopping()
        self.notifier.close()


def start_watchdog(clock_schedule_interval: Callable[[Callable[[float], Any], float], Any], *,
                   health: Callable[[], tuple[bool, str]] | None = None,
                   notifier: Notifier | None = None, status: str = "running") -> Watchdog:
    """Tell systemd we are ready and schedule watchdog pings at a third of the timeout.

    ``clock_schedule_interval`` is ``kivy.clock.Clock.schedule_interval`` (anything with the same
    signature works, which is how the tests drive it).  Without a systemd watchdog the UI heartbeat
    is still scheduled every 10 s for ``/health``.
    """
    notifier = notifier or Notifier()
    interval = watchdog_interval_s()
    dog = Watchdog(notifier, interval, health)
    notifier.ready(status)
    # sd_watchdog_enabled(3) recommends pinging every half of the timeout; a third leaves room for
    # a slow frame on a busy Pi.
    period = interval / 3 if interval else 10.0
    dog.tick()
    dog.event = clock_schedule_interval(dog.tick, period)
    if interval:
        log.info("systemd watchdog: %.0f s timeout, pinging every %.1f s", interval, period)
    return dog
