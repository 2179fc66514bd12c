"""Outages and coming back from them: the library system that stops answering, the journal found damaged.

:class:`~kiosk.circulation.service.KioskService` carries out a session's effects; this mixin holds
what it does when the ground under it moves, on timers of its own rather than a patron's taps:

* **The library system unreachable.**  A job that gets no answer turns the kiosk offline (the
  session goes to offline mode, or out of service when ``[offline] mode = "none"``); every
  ``[offline] probe_interval_s`` a worker asks for the system's status, and once it answers the
  kiosk is online again and replays the journal (:class:`~kiosk.circulation.replay.Replayer`).
  Lines on screen that were done offline then show what the library system confirmed.
* **The journal damaged.**  The journal file is re-read from disk at start and every
  ``INTEGRITY_CHECK_INTERVAL_S``; a damaged journal puts the kiosk out of service, because nothing
  may be acknowledged that is not durable (staff are told by the ``journal_damaged`` alert).

Kept apart because these are the service's states (online, probing, syncing, storage problem) and
rules a reader looks for on their own; the mixin uses the service's lock, session, worker pool
(``_submit_fn``), notifier (``_notify``, ``_apply``), journal, library system and circulator.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future

from kiosk.circulation.replay import SyncReport, confirmed_line
from kiosk.errors import JournalError

log = logging.getLogger(__name__)

INTEGRITY_CHECK_INTERVAL_S = 600.0   # the journal file is re-read from disk this often (off the UI thread)
STORAGE_STAFF_MESSAGE = ("Staff: the journal file is damaged and was kept aside; this kiosk acknowledges "
                         "nothing until it is restarted. Run `kiosk doctor` and see docs/circulation.md.")


class OutageHandling:
    """KioskService's side for outages: connectivity, journal replay, the journal's integrity."""

    def _init_outages(self, settings, now: float) -> None:
        """The outage state at start: online until a job says otherwise, nothing damaged yet."""
        off = getattr(settings, "offline", None)
        self.probe_interval_s = float(getattr(off, "probe_interval_s", 15.0))
        self._online = True
        self._last_probe = now
        self._sync_future: Future | None = None
        self._probing = False
        self.storage_problem: str | None = None   # a damaged journal: out of service (issue 13)
        self._last_integrity_check = now

    @property
    def online(self) -> bool:
        return self._online

    def sync_journal(self) -> Future:
        """Replay journaled transactions now (on a worker); the Future yields a SyncReport."""
        with self._lock:
            if self._syncing():
                return self._sync_future   # type: ignore[return-value]
            self._sync_future = self._submit_fn(self._sync)
            return self._sync_future

    def _upkeep(self, now: float) -> None:
        """(from tick) Every ``probe_interval_s``: the integrity check when it is due, a probe while
        offline, a replay while online with journaled transactions waiting."""
        with self._lock:
            if self._closed or now - self._last_probe < self.probe_interval_s:
                return
            self._last_probe = now
            if self.storage_problem is None and now - self._last_integrity_check >= INTEGRITY_CHECK_INTERVAL_S:
                self._last_integrity_check = now
                self._submit_fn(self._check_journal)
            if not self._online and not self._probing:
                self._probing = True
                self._submit_fn(self._probe)
            elif self._online and self._session.pending_sync and not self._syncing():
                self.sync_journal()

    def _set_online(self, online: bool) -> None:
        with self._lock:
            if online == self._online:
                return
            self._online = online
            mode = self.policy.mode
            self._session.set_connectivity(online, offline_mode=not online and mode != "none",
                                           out_of_service=(not online and mode == "none")
                                           or self.storage_problem is not None)
            log.warning("library system %s", "reachable again" if online else "unreachable")
        self._notify()
        if online:
            self.sync_journal()

    def _refresh_pending(self) -> None:
        try:
            n = self.journal.pending_count()
        except JournalError:
            return
        with self._lock:
            if n != self._session.pending_sync:
                self._session.pending_sync = n
                self._session.version += 1
        self._notify()

    def _storage_failed(self, reason: str) -> None:
        """The journal is damaged: nothing more can be acknowledged, so the kiosk goes out of
        service (a session already open finishes; its items go to the desk).  Staff are told by
        the alert on ``journal_damaged``, /health and ``kiosk doctor``."""
        with self._lock:
            if self.storage_problem is not None:
                return
            self.storage_problem = reason
            self._session.set_connectivity(self._online, offline_mode=self._session.offline_mode,
                                           out_of_service=True)
            self._session.version += 1
        log.error("out of service: the journal is damaged (%s). %s", reason, STORAGE_STAFF_MESSAGE)
        self._notify()

    def _check_journal(self) -> None:
        """(worker) The periodic integrity check: a card damaged under a running kiosk."""
        verify = getattr(self.journal, "verify", None)
        if verify is None:
            return
        try:
            verify()
        except JournalError:
            if getattr(self.journal, "damaged", None):
                self._storage_failed(self.journal.damaged)

    def _syncing(self) -> bool:
        return self._sync_future is not None and not self._sync_future.done()

    # ---- jobs (worker threads) -----------------------------------------------------------
    def _probe(self) -> None:
        try:
            status = self.ils.status()
            back = bool(status.online)
        except Exception as exc:
            log.debug("library system still unreachable: %s", exc)
            back = False
        finally:
            with self._lock:
                self._probing = False
        if back:
            self._set_online(True)

    def _sync(self) -> SyncReport:
        try:
            report = self.circulator.replayer.sync()
        finally:
            self._refresh_pending()
        self._confirm_journaled_lines()
        if report.stopped and "unreachable" in report.stopped:
            self._set_online(False)
        return report

    def _confirm_journaled_lines(self) -> None:
        """(worker, after a replay) The lines of the session on screen that were done offline and
        are now confirmed take what the library system said (its due date may not be the promised
        one), so the screen and the receipt built from the view show it."""
        with self._lock:
            session_id = self._session.session_id
            todo = [(line.item_id, line.journal_id) for line in self._session.view().items
                    if line.journaled and line.journal_id is not None]
        for item_id, journal_id in todo:
            try:
                row = self.journal.get(journal_id)
            except JournalError:
                return
            changes = confirmed_line(row) if row is not None else None
            if changes is not None:
                self._apply(lambda s, now, i=item_id, jid=journal_id, c=changes:
                            s.confirmed_later(session_id, i, jid, now, **c))
