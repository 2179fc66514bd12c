"""The book-drop controller: the thin shell around :class:`~kiosk.afterhours.slot.SlotMachine`.

Threads, so that neither Kivy's main thread nor a hardware callback ever waits:

* one *event thread* runs the state machine: every input (light barrier, tag, tick, staff intent,
  check-in answer) is queued to it, so the machine is single-threaded; it carries out the
  machine's commands (door lock, lights, buzzer) and does the durable writes of a pass;
* the :class:`~kiosk.afterhours.returns.ReturnSender` pool talks to the library system;
* an optional *ticker* calls :meth:`BookDrop.tick` once a second.

Lossless by construction (issue 8; notes/common.md rule 2):

1. a pass is written to the drop log (state ``reading``), then each item's check-in is written to
   the circulation journal (``checkin``, ``queued``, acknowledged, dated at the drop), then the
   drop-log row gets the journal id (``journaled``) -- three SQLite commits with
   ``synchronous=FULL``; only after them may the patron see "accepted";
2. the check-in is sent at once with the drop time as its return date; what is left (library
   system down, no answer, a crash) is replayed by the circulation ``Replayer`` with the original
   dates, and the drop log is reconciled from the journal (routing included);
3. on start, a pass a crash left half-written is completed exactly once (see
   :meth:`ReturnSender.recover`), and the journal turns rows a dead process was sending into
   "unknown", which the replayer resolves before any resend.

The hatch lock is fail-secure (hardware-and-deployment.md section 2.4): the controller locks it at
start, on close, on every fault, and whenever the machine says so; it never executes an unlock
while a fault is set, the bin is full or the kiosk is not in returns-only mode; unlocks are
time-limited (and capped again by the lock driver).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.afterhours import commands as C
from kiosk.afterhours import slot as S
from kiosk.afterhours.droplog import DropLog, DropRecord, NewDrop
from kiosk.afterhours.hours import OpeningHours
from kiosk.afterhours.mode import ModeDecision
from kiosk.afterhours.passes import classify_pass
from kiosk.afterhours.period import ReturnsPeriod
from kiosk.afterhours.returns import ReturnSender
from kiosk.afterhours.slot import DropLine, SlotMachine, SlotSettings
from kiosk.afterhours.view import BookDropView, NightCounts, night_counts
from kiosk.appliance.clock import timer_clock
from kiosk.appliance.monitoring import metrics
from kiosk.errors import HardwareError, JournalError

log = logging.getLogger(__name__)

__all__ = ["BookDrop", "BookDropView", "NightCounts", "SlotMachine", "DropLine", "classify_pass"]

# A second read of an item accepted less than this long ago is a re-read (a tag seen again from
# the bin), not a second return: recorded, not sent again.  Longer ago, it is sent: a check-in of an
# item already in is harmless, a return ignored is a patron fined.
DUPLICATE_WINDOW_S = 30 * 60


class BookDrop:
    """The after-hours return slot (API in :mod:`kiosk.afterhours`)."""

    def __init__(self, settings: Any, devices: Any, ils: Any, journal: Any,
                 listener: Callable[[BookDropView], None] | None = None,
                 clock: Callable[[], float] = time.time, drop_log: DropLog | None = None,
                 tick_interval: float | None = 1.0, monotonic: Callable[[], float] | None = None) -> None:
        self.settings = settings
        self.devices = devices
        self.ils = ils
        self.journal = journal
        self.listener = listener
        # ``clock`` (wall) dates drops, events and opening hours; ``monotonic`` runs the slot's
        # timers (hatch open, read window, jam, feedback: kiosk.appliance.clock.timer_clock).  The slot
        # machine sees monotonic time only; a time it hands back as a date (a pass's drop time)
        # is mapped to the wall clock by _wall().
        self.clock = clock
        self.monotonic = timer_clock(clock, monotonic)
        self.cfg = SlotSettings.from_settings(settings)
        cap = getattr(devices.door_lock, "max_unlock_s", None)
        if cap and self.cfg.lock_open_s > cap:   # the lock driver re-locks at its cap: say so on screen
            log.warning("book drop: [bookdrop] lock_open_s %.0f s is above the lock's limit %.0f s",
                        self.cfg.lock_open_s, cap)
            self.cfg = replace(self.cfg, lock_open_s=float(cap))
        hours = OpeningHours.from_section(settings.hours, settings.source)   # a bad schedule fails here, first
        self.own_isils = frozenset(settings.bookdrop.own_isils)
        data_dir = Path(settings.data_dir)
        self.drop_log = drop_log or DropLog(data_dir / "bookdrop.sqlite3")
        self.machine = SlotMachine(self.cfg, bin_count=self.drop_log.bin_count())
        self._last_emptied = self.drop_log.last_emptied_ts()
        self._events: queue.Queue = queue.Queue()
        self.sender = ReturnSender(ils, journal, self.drop_log, notify=self._drop_changed,
                                   set_online=self._online_changed,
                                   workers=max(1, min(4, getattr(settings.ils, "pool_size", 2))))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bookdrop-staff")  # alerts, reports
        self._next_sync = 0.0
        self.period = ReturnsPeriod(settings.kiosk.mode, hours, self.drop_log, data_dir / "afterhours-override.json",
                                    self.clock)
        self._view = BookDropView()
        self._version = 0
        self._sensor_disagree = 0
        self._closed = False
        self._tick_interval = tick_interval
        self._thread = threading.Thread(target=self._run, name="bookdrop-events", daemon=True)
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._queued = 0

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self, wire: bool = True) -> None:
        """Lock the hatch, recover a crashed pass, start the threads (and wire the devices)."""
        self._safe_lock("start")
        self.sender.recover()
        self._thread.start()
        if wire:
            self.devices.slot_sensor.when_blocked = self.slot_blocked
            self.devices.slot_sensor.when_cleared = self.slot_cleared
            self.devices.tag_reader.when_tag_present = self.tag_seen
            sensor = getattr(self.devices, "bin_sensor", None)   # not in the hardware layer yet
            if self.settings.bookdrop.bin_full_sensor and sensor is not None:
                sensor.when_blocked = lambda: self.bin_sensor(True)
                sensor.when_cleared = lambda: self.bin_sensor(False)
        if self._tick_interval:
            self._ticker = threading.Thread(target=self._tick_loop, name="bookdrop-ticker", daemon=True)
            self._ticker.start()
        self._post(self._do_tick)

    def close(self) -> None:
        """Stop, and leave the hatch locked."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._events.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.sender.close()
        self._pool.shutdown(wait=True, cancel_futures=False)
        self._safe_lock("closing")

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Tests and scripts: wait until every queued event and check-in is done."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._queued or self.sender.busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(0.05 if left is None else min(left, 0.05))
        return True

    # -- intents (any thread; return at once) ------------------------------------------------------

    def request_open(self) -> None:
        self._post(lambda now: self.machine.request_open(now))

    def slot_blocked(self) -> None:
        self._post(lambda now: self.machine.slot_blocked(now))

    def slot_cleared(self) -> None:
        self._post(lambda now: self.machine.slot_cleared(now))

    def tag_seen(self, tag: Any) -> None:
        self._post(lambda now: self.machine.tag_seen(tag, now))

    def bin_sensor(self, full: bool) -> None:
        """A bin-full sensor changed (only with ``[bookdrop] bin_full_sensor = true``)."""
        if not self.settings.bookdrop.bin_full_sensor:
            log.warning("book drop: bin sensor event ignored: [bookdrop] bin_full_sensor is false")
            return
        self._post(lambda now: self.machine.bin_sensor(full, now))

    def bin_emptied(self) -> None:
        def do(now: float) -> list:
            self.drop_log.add_event("bin_emptied", f"{self.machine.bin_count} items", ts=self._wall(now))
            self._last_emptied = max(self._last_emptied, self._wall(now))
            return self.machine.bin_emptied(now)
        self._post(do)

    def reset_fault(self) -> None:
        def do(now: float) -> list:
            self.drop_log.add_event("fault_reset", self.machine.fault or "", ts=self._wall(now))
            self.sender.recover()      # a pass the failed journal could not take is written now
            return self.machine.reset_fault(now)
        self._post(do)

    def set_mode_override(self, mode: str | None, until: datetime | None = None) -> None:
        """Staff: ``"returns"`` / ``"staffed"`` (until ``until``, default the next scheduled change),
        or None to go back to the schedule."""
        def do(now: float) -> list:
            self.period.set_override(mode, until, self._wall(now))
            return self._apply_mode(now)
        self._post(do)

    def tick(self, now: float | None = None) -> None:
        self._post(self._do_tick, now)

    def sync(self) -> None:
        """Send every journaled return the library system has not confirmed (worker thread)."""
        self._post(lambda now: self._start_sync(now, force=True))

    def view(self) -> BookDropView:
        return self._view

    @property
    def mode(self) -> ModeDecision:
        return self.period.mode

    @property
    def configured_mode(self) -> str:
        """``[kiosk] mode`` ("auto", "staffed", "returns"); staff may change it while we run."""
        return self.period.configured_mode

    @configured_mode.setter
    def configured_mode(self, mode: str) -> None:
        self.period.configured_mode = mode

    # -- the event thread --------------------------------------------------------------------------

    def _post(self, fn: Callable[..., list], now: float | None = None) -> None:
        if self._closed:
            return
        with self._idle:
            self._queued += 1
        self._events.put((fn, now))

    def _run(self) -> None:
        while True:
            job = self._events.get()
            if job is None:
                return
            fn, now = job
            try:
                now = self.monotonic() if now is None else now
                commands = fn(now) or []
                self._execute(commands, now)
                self._publish(now)
            except Exception:
                log.exception("book drop: event failed")
                with contextlib.suppress(Exception):
                    self._execute(self.machine.set_fault("internal error", self.monotonic()), self.monotonic())
                    self._publish(self.monotonic())
            finally:
                with self._idle:
                    self._queued -= 1
                    self._idle.notify_all()

    def _tick_loop(self) -> None:
        while not self._stop.wait(self._tick_interval or 1.0):
            self.tick()

    def _do_tick(self, now: float) -> list:
        cmds = self._apply_mode(now)
        emptied = self.drop_log.last_emptied_ts()
        if emptied > self._last_emptied:      # staff ran `kiosk report bin --emptied`
            self._last_emptied = emptied
            cmds += self.machine.bin_emptied(now)
            self.machine.bin_count = self.drop_log.bin_count()
        cmds += self._poll_slot_sensor(now)
        cmds += self.machine.tick(now)
        self._start_sync(now)
        return cmds

    def _wall(self, mono: float) -> float:
        """The wall-clock time of a monotonic instant (for dates only: drop times, events)."""
        return self.clock() - (self.monotonic() - mono)

    def _apply_mode(self, now: float) -> list:
        wall = self._wall(now)
        ended = self.period.update(wall)
        if ended is not None and self.settings.bookdrop.report_at_opening:
            self._pool.submit(self._send_report, ended, wall)
        return self.machine.set_mode(self.period.mode.returns_only, now)

    def _poll_slot_sensor(self, now: float) -> list:
        """Recover from a missed edge: the beam state read twice in a row disagreeing with ours."""
        try:
            blocked = bool(self.devices.slot_sensor.is_blocked)
        except Exception:
            return []
        in_pass = self.machine._pass is not None and self.machine._pass.cleared_at is None
        self._sensor_disagree = self._sensor_disagree + 1 if blocked != in_pass else 0
        if self._sensor_disagree < 2:
            return []
        self._sensor_disagree = 0
        log.warning("book drop: missed a light-barrier edge (beam %s)", "blocked" if blocked else "clear")
        return self.machine.slot_blocked(now) if blocked else self.machine.slot_cleared(now)

    def _execute(self, commands: list, now: float) -> None:
        for cmd in commands:
            try:
                if isinstance(cmd, C.Lock):
                    self.devices.door_lock.lock()
                elif isinstance(cmd, C.Unlock):
                    if self.machine.fault is not None or not self.machine.returns_mode or self.machine.bin_full:
                        continue    # a fault raised earlier in this batch wins: never unlock then
                    self.devices.door_lock.unlock(cmd.seconds)
                    log.info("book drop: hatch unlocked for %.0f s", cmd.seconds)
                elif isinstance(cmd, C.Lights):
                    ind = self.devices.indicators
                    ind.set_light("ready", cmd.ready)
                    ind.set_light("busy", cmd.busy)
                    ind.set_light("error", cmd.error)
                elif isinstance(cmd, C.Beep):
                    self.devices.indicators.beep(cmd.kind)
                elif isinstance(cmd, C.CommitPass):
                    self._execute(self._commit(cmd, now), now)
                elif isinstance(cmd, C.StaffAlert):
                    # kiosk.appliance.alerts watches this counter and tells staff (rate-limited).
                    self.drop_log.add_event(cmd.kind, cmd.detail, ts=self._wall(now))
                    metrics.inc("afterhours_failures_total", reason=cmd.kind)
            except HardwareError as exc:
                log.error("book drop: %s failed: %s", type(cmd).__name__, exc)
                self._safe_lock("hardware fault")
                self._execute([c for c in self.machine.set_fault(f"hardware: {exc}", now)
                               if not isinstance(c, C.Lock)], now)

    def _safe_lock(self, why: str) -> None:
        try:
            self.devices.door_lock.lock()
        except Exception as exc:  # nothing more we can do in software: the lock is fail-secure
            log.critical("book drop: could not lock the hatch (%s): %s", why, exc)

    # -- one pass: durable before "accepted" -------------------------------------------------------

    def _commit(self, cmd: C.CommitPass, now: float) -> list:
        cmd = replace(cmd, dropped_at=self._wall(cmd.dropped_at))   # the machine's monotonic time -> a date
        items = classify_pass(cmd.tags, self.own_isils)
        news = []
        for c in items:
            state = c.state
            if state == S.JOURNALED:
                earlier = self.drop_log.recent_return(c.item_id, cmd.dropped_at - DUPLICATE_WINDOW_S)
                state = S.DUPLICATE if earlier is not None else S.LINE_READING
            news.append(NewDrop(cmd.dropped_at, state, c.item_id, c.uid, "", c.reason_key, c.reason_text, c.parts))
        try:
            ids = self.drop_log.add(news)
            lines = []
            for drop_id, new in zip(ids, news, strict=True):
                if new.state == S.LINE_READING:
                    journal_id = self.sender.journal_return(new.item_id, cmd.dropped_at)
                    self.drop_log.update(drop_id, state=S.JOURNALED, journal_id=journal_id)
                    lines.append(self._line(drop_id, new, cmd.pass_id, S.JOURNALED))
                else:
                    lines.append(self._line(drop_id, new, cmd.pass_id, new.state))
        except (JournalError, OSError) as exc:
            # We cannot promise this return is kept: say "not accepted", stop the slot, tell staff.
            log.critical("book drop: journal write failed: %s", exc)
            failed = [DropLine(-(cmd.pass_id * 100 + i), n.item_id, datetime.fromtimestamp(n.dropped_ts),
                               S.LINE_REFUSED, reason_key="journal_failed", pass_id=cmd.pass_id, uid=n.uid)
                      for i, n in enumerate(news)]
            return self.machine.pass_recorded(cmd.pass_id, failed, now) + self.machine.set_fault(
                f"journal: {exc}", now)
        cmds = self.machine.pass_recorded(cmd.pass_id, lines, now)
        for line in lines:
            if line.state in S.BAD_LINE_STATES:
                metrics.inc("afterhours_failures_total", reason=line.state)
            if line.state == S.JOURNALED:
                self.sender.send_now(line.drop_id)
        return cmds

    @staticmethod
    def _line(drop_id: int, new: NewDrop, pass_id: int, state: str) -> DropLine:
        return DropLine(drop_id, new.item_id, datetime.fromtimestamp(new.dropped_ts), state, new.title,
                        new.reason_key, new.reason_text, pass_id=pass_id, uid=new.uid)

    # -- answers from the library system (sender threads) ------------------------------------------

    def _drop_changed(self, rec: DropRecord) -> None:
        if rec.state in S.BAD_LINE_STATES:
            metrics.inc("afterhours_failures_total", reason=rec.state)
        def do(now: float) -> list:
            pass_id = next((ln.pass_id for ln in self.machine.lines if ln.drop_id == rec.id), -1)
            line = DropLine(rec.id, rec.item_id, datetime.fromtimestamp(rec.dropped_ts), rec.state, rec.title,
                            rec.reason_key, rec.reason_text, rec.alert, rec.sort_bin, rec.destination,
                            pass_id=pass_id, uid=rec.uid or "")
            return self.machine.line_update(line, now)
        self._post(do)

    def _online_changed(self, online: bool) -> None:
        self._post(lambda now: self.machine.set_online(online, now))

    def _start_sync(self, now: float, force: bool = False) -> list:
        if not force and now < self._next_sync:
            return []
        if not force and self.machine.online and not self.drop_log.waiting() and not self.journal.pending_count():
            return []
        if self.sender.sync():
            self._next_sync = now + self.settings.bookdrop.sync_interval_s
        return []

    # -- staff -------------------------------------------------------------------------------------

    def _send_report(self, since: float, until: float) -> None:
        from kiosk.afterhours.report import build_report, send_report

        try:
            report = build_report(self.drop_log, datetime.fromtimestamp(since), datetime.fromtimestamp(until))
            if send_report(report, self.settings):
                self.drop_log.add_event("report_sent", f"{report.counts['drops']} drops", ts=until)
        except Exception:
            log.exception("book drop: morning report failed")

    # -- the view ----------------------------------------------------------------------------------

    def _publish(self, now: float) -> None:
        m = self.machine
        since = self.period.since if self.period.since is not None else self._wall(now) - 24 * 3600
        night = night_counts(self.drop_log.between(since))
        view = BookDropView(
            state=m.state, mode=self.period.mode, door_unlocked=m.door_unlocked(now), seconds_left=m.seconds_left(now),
            message_key=m.message_key, items=tuple(m.lines), online=m.online,
            pending_sync=len(self.drop_log.waiting()), bin_count=m.bin_count, bin_capacity=self.cfg.bin_capacity,
            bin_full=m.bin_full, fault=m.fault, night=night)
        if replace(view, version=self._view.version) == self._view:
            return
        self._version += 1
        self._view = replace(view, version=self._version)
        if self.listener is not None:
            try:
                self.listener(self._view)
            except Exception:
                log.exception("book drop: listener failed")
