"""Trusted time: does the kiosk know what time it is?

A Raspberry Pi has no real-time clock.  After a power cut without network it boots with the time
systemd-timesyncd last saved (or older), so an offline return journaled then would carry a wrong
date, and replaying it with that date would backdate (or postdate) the return: fines charged or
spared for the wrong patrons.  So every journal row records whether the clock was trusted when it
was written, a row written on an untrusted clock is replayed without its dates (the library system
uses its own), and staff see it listed.

When is the clock trusted?

1. **A time service says it is synchronised** -- ``/run/systemd/timesync/synchronized`` exists
   (systemd-timesyncd), or ``timedatectl show -p NTPSynchronized --value`` says ``yes`` (timedated
   answers from the kernel's NTP state, which chrony and ntpd keep too), or the kernel's own
   ``adjtimex`` status lacks ``STA_UNSYNC``.  A time service that runs and says "not synchronised"
   makes the clock untrusted, whatever it reads.
2. **The last-known-good rule.**  Whenever the clock is trusted, its wall time is saved in the data
   directory (``clock.json``: wall time, monotonic time, boot id; at most every ``SAVE_EVERY_S``,
   written atomically).  A wall clock earlier than that saved time is untrusted (it went back: a
   stale boot clock, a bad manual setting).  Within one boot the monotonic clock says how much time
   really passed, so a wall clock that stepped back by more than ``STEP_TOLERANCE_S`` against it is
   untrusted too.
3. Where no time service can be asked (a container, a VM whose clock comes from the host), only
   rule 2 applies.

The sources are injectable (``sync_source``, ``wall``, ``monotonic``, ``boot_id``) so tests run
with a fake clock; nothing here is called on Kivy's main thread (``timedatectl`` is a subprocess:
the answer is cached for ``RECHECK_S``).  Timers never use this: they use ``time.monotonic()``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_FILE = "clock.json"
SAVE_EVERY_S = 600.0        # the last-known-good time is written at most this often (SD-card wear)
RECHECK_S = 30.0            # the time service is asked at most this often
STEP_TOLERANCE_S = 120.0    # a backward step (against the monotonic clock) larger than this is untrusted
TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")

SyncSource = Callable[[], tuple[bool | None, str]]


@dataclass(frozen=True)
class ClockState:
    """What the kiosk believes about its wall clock right now."""

    trusted: bool
    synchronised: bool | None     # None: no time service could be asked
    source: str                   # which source answered
    reason: str                   # a sentence for staff
    wall: float
    last_good: float | None

    def as_dict(self) -> dict:
        return asdict(self)


# -- the system's time services ------------------------------------------------------------------------

class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """struct timex of <sys/timex.h> (Linux, glibc)."""

    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time", _Timeval), ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long),
                ("jitter", ctypes.c_long), ("shift", ctypes.c_int), ("stabil", ctypes.c_long),
                ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long),
                ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int), ("_pad", ctypes.c_int * 11)]


STA_UNSYNC = 0x0040
TIME_ERROR = 5


def kernel_synchronised() -> bool | None:
    """The kernel's NTP state (``adjtimex`` with no modes: read only).  None where unavailable."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return not (tx.status & STA_UNSYNC) and state != TIME_ERROR


def _time_service_running() -> bool:
    """Is there a time service whose "not synchronised" means something?  systemd as init (with
    timesyncd or timedated), or chrony/ntpd.  Without one, the kernel's flag is merely never set."""
    if Path("/run/systemd/system").is_dir():
        return True
    return any(Path(p).exists() for p in ("/run/chrony/chronyd.pid", "/run/chronyd.pid", "/run/ntpd.pid",
                                           "/var/run/ntpd.pid"))


def system_sync_state() -> tuple[bool | None, str]:
    """(synchronised?, source) from the system's time services; None when none can tell."""
    if TIMESYNCD_FLAG.exists():
        return True, "systemd-timesyncd"
    if not _time_service_running():
        return None, "no time service"
    if shutil.which("timedatectl"):
        try:
            out = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                                 capture_output=True, text=True, timeout=3)
            value = out.stdout.strip().lower()
            if out.returncode == 0 and value in ("yes", "no"):
                return value == "yes", "timedatectl"
        except (OSError, subprocess.SubprocessError):
            pass
    kernel = kernel_synchronised()
    return kernel, "adjtimex" if kernel is not None else "no time service"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


# -- the trusted clock ---------------------------------------------------------------------------------

class TrustedClock:
    """``state()`` / ``trusted()``: may the wall clock be believed?  Thread-safe, cheap when cached."""

    def __init__(self, state_path: str | os.PathLike | None = None, *, sync_source: SyncSource | None = None,
                 wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
                 boot_id: Callable[[], str] = _boot_id, recheck_s: float = RECHECK_S) -> None:
        self.state_path = Path(state_path) if state_path else None
        self.sync_source = sync_source or (lambda: system_sync_state())
        self.wall, self.monotonic, self.boot_id = wall, monotonic, boot_id
        self.recheck_s = recheck_s
        self._lock = threading.Lock()
        self._sync: tuple[bool | None, str] | None = None
        self._asked_at = -1e18
        self._good = self._load()
        self._saved_at = -1e18
        self._last: ClockState | None = None

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> TrustedClock:
        return cls(Path(settings.data_dir) / STATE_FILE, **kwargs)

    # -- last known good --------------------------------------------------------------------------
    def _load(self) -> dict | None:
        if not self.state_path:
            return None
        try:
            data = json.loads(self.state_path.read_text())
            return {"wall": float(data["wall"]), "monotonic": float(data["monotonic"]),
                    "boot_id": str(data.get("boot_id", ""))}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("clock state %s unreadable (%s): starting without a last known good time",
                        self.state_path, exc)
            return None

    def _save(self, wall: float, mono: float) -> None:
        self._good = {"wall": wall, "monotonic": mono, "boot_id": self.boot_id()}
        if not self.state_path:
            return
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(self._good, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.state_path)
        except OSError as exc:   # a read-only data partition must not stop the kiosk
            log.warning("cannot save the last known good time to %s: %s", self.state_path, exc)

    # -- the verdict ------------------------------------------------------------------------------
    def state(self) -> ClockState:
        with self._lock:
            mono, wall = self.monotonic(), self.wall()
            if mono - self._asked_at >= self.recheck_s or self._sync is None:
                try:
                    self._sync = self.sync_source()
                except Exception as exc:  # noqa: BLE001 - a broken source means "cannot tell"
                    log.warning("time service state unavailable: %s", exc)
                    self._sync = (None, "error")
                self._asked_at = mono
            synced, source = self._sync
            good = self._good
            last_good = good["wall"] if good else None
            if synced is True:
                trusted, reason = True, f"synchronised ({source})"
            elif synced is False:
                trusted, reason = False, f"not synchronised ({source})"
            elif good and wall < good["wall"] - 1.0:
                trusted, reason = False, (f"the clock reads {time.ctime(wall)}, earlier than the last known good "
                                          f"time {time.ctime(good['wall'])}")
            elif good and good.get("boot_id") == self.boot_id() and \
                    wall - good["wall"] < (mono - good["monotonic"]) - STEP_TOLERANCE_S:
                behind = (mono - good["monotonic"]) - (wall - good["wall"])
                trusted, reason = False, f"the clock stepped back {behind:.0f} s since the last known good time"
            else:
                trusted, reason = True, "no time service to ask; not earlier than the last known good time"
            if trusted and mono - self._saved_at >= SAVE_EVERY_S:
                self._saved_at = mono
                self._save(wall, mono)
            st = ClockState(trusted, synced, source, reason, wall, last_good)
            if self._last is None or self._last.trusted != st.trusted:
                (log.info if st.trusted else log.warning)("clock %s: %s", "trusted" if st.trusted else "NOT trusted",
                                                          st.reason)
            self._last = st
        _publish(st)
        return st

    def trusted(self) -> bool:
        return self.state().trusted

    def last_state(self) -> ClockState | None:
        """The last verdict without asking again (for /health: no I/O on its thread)."""
        return self._last


class AlwaysTrusted:
    """For code and tests that do not care about trusted time (the engine's default)."""

    def trusted(self) -> bool:
        return True

    def state(self) -> ClockState:
        return ClockState(True, None, "assumed", "not checked", time.time(), None)


def timer_clock(clock: Callable[[], float], monotonic: Callable[[], float] | None = None) -> Callable[[], float]:
    """The clock that runs the timers of an engine whose wall ``clock`` dates things.

    Timers (session timeout, the slot's hatch and read windows, probes) must not follow the wall
    clock: one stepped back by NTP or a stale boot clock would hold a session or the hatch open.
    So they run on ``time.monotonic`` -- unless a test injected a fake wall ``clock`` and no
    ``monotonic``: then that one fake clock drives both."""
    if monotonic is not None:
        return monotonic
    return time.monotonic if clock is time.time else clock


# -- reporting: /health, kiosk doctor, metrics ---------------------------------------------------------

_published: dict[str, ClockState] = {}


def _publish(st: ClockState) -> None:
    _published["last"] = st
    with contextlib.suppress(Exception):   # reporting never stops the kiosk, whatever the registry
        from kiosk.appliance.monitoring import metrics

        with contextlib.suppress(Exception):
            metrics.declare("clock_trusted", "gauge", "1 when the wall clock is synchronised or otherwise "
                            "trusted, 0 when offline transactions are flagged for staff")
        metrics.set("clock_trusted", 1 if st.trusted else 0)


def health_check() -> dict:
    """The ``clock`` entry of ``/health``: the last verdict (no I/O)."""
    st = _published.get("last")
    if st is None:
        return {"ok": True, "state": "unknown"}
    return {"ok": st.trusted, "state": "trusted" if st.trusted else "untrusted", "synchronised": st.synchronised,
            "source": st.source, "detail": st.reason}


def doctor_check(settings: Any) -> tuple[bool, str]:
    """(ok, detail) for ``kiosk doctor``.  Reads the saved state but writes nothing."""
    clock = TrustedClock(Path(settings.data_dir) / STATE_FILE)
    clock._saved_at = float("inf")     # a check never writes the data directory
    st = clock.state()
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.wall))
    return st.trusted, f"{when}: {'trusted' if st.trusted else 'NOT trusted'} ({st.reason}; source: {st.source})"


def reset() -> None:
    """Forget the published verdict (tests)."""
    _published.clear()
