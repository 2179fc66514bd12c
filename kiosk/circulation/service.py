"""The thread-owning shell around the pure session machine: what the screens and the CLI talk to.

Intents return at once.  The pure :class:`~kiosk.circulation.session.Session` decides what to do;
this module does it on a small worker pool (``[ils] pool_size`` threads, one per SIP2 connection),
so the items of a stack are worked in parallel and each result is shown as soon as it arrives.
After every change a new immutable :class:`SessionView` goes to ``listener`` from the notifier
thread (never from the caller's thread: Kivy's main thread must never wait on us).

Parts with rules of their own live beside it: :mod:`~kiosk.circulation.outages` (the library system
unreachable, journal replay, a damaged journal), :mod:`~kiosk.circulation.notifier` (view delivery),
:mod:`~kiosk.circulation.lookups` (the account's Item Information lookups),
:mod:`~kiosk.circulation.security` (the tags' security bit).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from kiosk.appliance.clock import timer_clock
from kiosk.appliance.privacy import mask
from kiosk.circulation import view as v
from kiosk.circulation.effects import EndPatron, Identify, LookUpItems, Transact
from kiosk.circulation.journal import Journal
from kiosk.circulation.lookups import look_up_items
from kiosk.circulation.notifier import ViewNotifier
from kiosk.circulation.offline import OfflinePolicy
from kiosk.circulation.outages import OutageHandling
from kiosk.circulation.security import SecurityWriter, set_security_bits
from kiosk.circulation.session import Session, SessionConfig
from kiosk.circulation.transact import Circulator
from kiosk.circulation.view import SessionView
from kiosk.errors import IlsUnavailable, JournalError, OutcomeUnknown, ProtocolError
from kiosk.ils.base import Ils
from kiosk.staff import stats

log = logging.getLogger(__name__)


class KioskService(OutageHandling):
    """One kiosk's circulation: sessions, stacks, journal, offline policy, replay."""

    def __init__(self, settings, ils: Ils, journal: Journal, listener: Callable[[SessionView], None] | None = None,
                 security: SecurityWriter | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] | None = None) -> None:
        """``clock`` is wall time, for dates only (journal, card cache, due dates); ``monotonic``
        drives every timer (session timeout and warning, probe, integrity check), so a wall clock
        stepped back by NTP or a stale boot clock cannot keep a patron's session on screen.  A test
        that injects only a fake ``clock`` drives both with it."""
        self.settings = settings
        self.ils = ils
        self.journal = journal
        self.listener = listener
        self.security = security
        self.clock = clock
        self.monotonic = monotonic = timer_clock(clock, monotonic)
        self.policy = OfflinePolicy.from_settings(settings)
        self.circulator = Circulator(ils, journal, self.policy, clock=clock)
        k = settings.kiosk
        self._session = Session(SessionConfig(timeout_s=k.session_timeout_s, warning_s=k.timeout_warning_s,
                                              require_pin=k.require_pin, allow_borrow=k.mode != "returns",
                                              receipt_choices=tuple(settings.receipt.choices)),
                                now=monotonic())
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._outstanding = 0
        self._closed = False
        self._init_outages(settings, monotonic())
        self.protocol_errors = 0   # replies that could not be understood (the CLI exits 2)
        self._pool = ThreadPoolExecutor(max_workers=max(1, settings.ils.pool_size), thread_name_prefix="circ")
        # Account lookups (Item Information per loan) run at most this many at once, leaving one
        # connection free for the renewal the patron may tap meanwhile.
        self.lookup_parallel = max(1, settings.ils.pool_size - 1)
        self._notifier = ViewNotifier(self.view, lambda: self.listener)
        if getattr(journal, "damaged", None):
            self._storage_failed(journal.damaged)
            return
        self._submit_fn(self._check_journal)        # at start, off the caller's (UI) thread
        try:
            self._session.pending_sync = journal.pending_count()
        except JournalError:
            if not getattr(journal, "damaged", None):
                raise
            self._storage_failed(journal.damaged)
            return
        if self._session.pending_sync:
            self.sync_journal()

    # ---- intents (return at once) --------------------------------------------------------
    def start(self, mode: str) -> None:
        self._run(lambda s, now: s.start(mode, now))

    def card_presented(self, patron_id: str, pin: str | None = None) -> None:
        self._run(lambda s, now: s.card_presented(patron_id, pin, now))

    def pin_entered(self, pin: str) -> None:
        self._run(lambda s, now: s.pin_entered(pin, now))

    def item_seen(self, item_id: str, *, parts_in_item: int = 1, part_number: int = 1, uid: str | None = None,
                  source: str = "rfid") -> None:
        self._run(lambda s, now: s.item_seen(item_id, now, parts_in_item=parts_in_item, part_number=part_number,
                                             uid=uid, source=source))

    def tag_seen(self, tag) -> None:
        """A ``kiosk.hardware`` TagRead.  An undecodable tag (no item id) is logged and ignored."""
        if not getattr(tag, "item_id", None):
            log.info("tag %s could not be decoded: %s", mask(getattr(tag, "uid", "")), getattr(tag, "error", ""))
            return
        self.item_seen(tag.item_id, parts_in_item=getattr(tag, "parts_in_item", 1) or 1,
                       part_number=getattr(tag, "part_number", 1) or 1, uid=getattr(tag, "uid", None))

    def item_removed(self, item_id: str) -> None:
        self._run(lambda s, now: s.item_removed(item_id, now))

    def renew(self, item_id: str) -> None:
        self._run(lambda s, now: s.renew(item_id, now))

    def renew_all(self) -> None:
        self._run(lambda s, now: s.renew_all(now))

    def finish(self, receipt: str | None = None) -> None:
        self._run(lambda s, now: s.finish(receipt, now))

    def more_time(self) -> None:
        self._run(lambda s, now: s.more_time(now))

    def touch(self) -> None:
        self._run(lambda s, now: s.touch(now))

    def cancel(self) -> None:
        self._run(lambda s, now: s.cancel(now))

    def set_returns_only(self, returns_only: bool) -> None:
        """After hours (or staff): only returns; a card no longer starts a borrow session."""
        with self._lock:
            before = self._session.version
            self._session.set_allow_borrow(not returns_only)
            changed = self._session.version != before
        if changed:
            self._notify()

    def tick(self, now: float | None = None) -> None:
        """Once a second from the app: timeouts, and reconnect/replay while offline.  ``now`` is
        monotonic time (:attr:`monotonic`)."""
        now = self.monotonic() if now is None else now
        self._run(lambda s, _now: s.tick(now), now=now)
        self._upkeep(now)

    # ---- observation ---------------------------------------------------------------------
    def view(self) -> SessionView:
        with self._lock:
            return self._session.view()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running and every view was delivered (tests, CLI)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._idle:
                while self._outstanding:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._idle.wait(left)
            self._notifier.join()
            with self._lock:
                if not self._outstanding:
                    return True

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.shutdown(wait=True)
        self._notifier.close()

    def __enter__(self) -> KioskService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- machinery -----------------------------------------------------------------------
    def _run(self, fn, now: float | None = None) -> None:
        with self._lock:
            if self._closed:
                return
            before = self._session.version
            effects = fn(self._session, self.monotonic() if now is None else now)
            changed = self._session.version != before
            for effect in effects:
                self._submit_effect(effect)
        if changed:
            self._notify()

    def _submit_effect(self, effect) -> None:
        if isinstance(effect, Identify):
            self._submit_fn(self._identify, effect)
        elif isinstance(effect, Transact):
            self._submit_fn(self._transact, effect)
        elif isinstance(effect, EndPatron):
            self._submit_fn(self._end_patron, effect)
        elif isinstance(effect, LookUpItems):
            self._look_up(effect)
        else:  # pragma: no cover - a new effect type without a handler is a programming error
            raise TypeError(f"unknown effect {effect!r}")

    def _submit_fn(self, fn, *args) -> Future:
        with self._lock:
            self._outstanding += 1
        try:
            return self._pool.submit(self._job, fn, *args)
        except RuntimeError:   # pool shut down
            self._job_done()
            raise

    def _job(self, fn, *args):
        try:
            return fn(*args)
        except Exception:
            log.exception("circulation job %s failed", getattr(fn, "__name__", fn))
            raise
        finally:
            self._job_done()

    def _job_done(self) -> None:
        with self._idle:
            self._outstanding -= 1
            self._idle.notify_all()

    def _notify(self) -> None:
        self._notifier.notify()

    def _apply(self, fn) -> None:
        """Feed a worker's result into the machine (under the lock) and notify."""
        self._run(fn)

    # ---- jobs (worker threads) -----------------------------------------------------------
    def _identify(self, e: Identify) -> None:
        try:
            patron = self.ils.patron_information(e.patron_id, e.pin)
        except (IlsUnavailable, OutcomeUnknown) as exc:   # read-only: no reply = unreachable
            log.info("patron %s: library system unreachable (%s)", mask(e.patron_id), exc)
            if isinstance(exc, ProtocolError):   # e.g. not a SIP2 server, a malformed 98
                self.protocol_errors += 1
            self._set_online(False)
            self._identify_offline(e)
            return
        except ProtocolError as exc:
            log.warning("patron %s: unreadable reply: %s", mask(e.patron_id), exc)
            self.protocol_errors += 1
            self._apply(lambda s, now: s.patron_identified(e.session_id, None, now, error_key="check_at_desk"))
            return
        self._set_online(True)
        if patron.valid:
            try:
                self.journal.remember_card(e.patron_id, patron.can_checkout, now=self.clock())
            except JournalError as exc:
                log.error("card cache: %s", exc)
        self._apply(lambda s, now: s.patron_identified(e.session_id, patron, now))

    def _identify_offline(self, e: Identify) -> None:
        patron, key = self.circulator.identify_offline(e.patron_id, e.pin)
        self._apply(lambda s, now: s.patron_identified(e.session_id, patron, now, error_key=key,
                                                       offline=patron is not None))

    def _transact(self, e: Transact) -> None:
        try:
            if e.action == v.CHECKOUT:
                out = self.circulator.checkout(e.patron_id or "", e.item_id, pin=e.pin)
            elif e.action == v.CHECKIN:
                out = self.circulator.checkin(e.item_id)
            else:
                out = self.circulator.renew(e.patron_id or "", e.item_id, pin=e.pin)
        except JournalError as exc:
            # Without a durable journal nothing may be acknowledged.
            log.error("journal failure for item %s: %s", mask(e.item_id), exc)
            text = str(exc)
            self._apply(lambda s, now: s.item_result(e.session_id, e.item_id, now, state=v.NEEDS_STAFF,
                                                     reason_key="check_at_desk", reason_text=text))
            if getattr(self.journal, "damaged", None):
                self._storage_failed(self.journal.damaged)
            return
        except Exception as exc:
            text = str(exc)
            self._apply(lambda s, now: s.item_result(e.session_id, e.item_id, now, state=v.NEEDS_STAFF,
                                                     reason_key="check_at_desk", reason_text=text))
            raise
        self._set_online(out.online)
        # Statistics for staff and /metrics (no patron data); never raises for a storage problem.
        stats.record_event(e.action, out.state == v.DONE, offline=out.journaled, reason_key=out.reason_key)
        if out.protocol_error:
            self.protocol_errors += 1
        changes = out.line_changes()
        if out.state == v.DONE and e.uids and out.security is not None and self.security is not None:
            ok = set_security_bits(self.security, e.uids, out.security)
            changes["security_ok"] = ok
            if not ok:
                changes.update(state=v.NEEDS_STAFF, reason_key="security_failed")
        self._apply(lambda s, now: s.item_result(e.session_id, e.item_id, now, **changes))
        if out.journaled or not out.online:
            self._refresh_pending()

    def _look_up(self, e: LookUpItems) -> None:
        """Item Information for every listed loan/hold, ``lookup_parallel`` at a time on the pool
        (:mod:`kiosk.circulation.lookups`); each answer goes into the session as it arrives."""
        def wanted() -> bool:
            with self._lock:
                return self._session.session_id == e.session_id and self._session.patron is not None

        def deliver(item_id: str, info) -> None:
            today = datetime.fromtimestamp(self.clock())     # wall time: overdue is a date
            self._apply(lambda s, now: s.item_details(e.session_id, item_id, info, now, today=today))

        look_up_items(e.item_ids, parallel=self.lookup_parallel, submit=self._submit_fn, ask=self.ils.item_information,
                      wanted=wanted, deliver=deliver)

    def _end_patron(self, e: EndPatron) -> None:
        try:
            self.ils.end_patron_session(e.patron_id)
        except Exception as exc:   # courtesy message only; never worth bothering anyone
            log.info("end patron session: %s", exc)
