"""Book-drop returns and the library system: journal first, send, replay, and keep the routing.

Each accepted item is a ``checkin`` row of the circulation journal (``kiosk.circulation.journal``),
written as ``queued`` and *acknowledged* (the patron is told "accepted" once it is on disk), with
the drop time as its transaction date.  Then:

* :meth:`ReturnSender.send_now` tries it at once (``no block = N``, return date = the drop time),
  under the journal's replay lock so it never races the circulation replayer;
* whatever is left -- the library system was down, no reply, a crash -- is sent by the
  circulation :class:`~kiosk.circulation.replay.Replayer` (``no block = Y``, the original dates;
  rows in doubt resolved with Item Information before any resend), from :meth:`ReturnSender.sync`
  or from the staffed kiosk's own replays;
* the drop log is reconciled from the journal afterwards.  The replayer is given an ILS wrapper
  that records each check-in answer, so the hold / transfer alert, sort bin and destination of a
  replayed return reach the morning report too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from kiosk.afterhours import slot as S
from kiosk.afterhours.droplog import DropLog, DropRecord, iso_local
from kiosk.circulation import journal as J
from kiosk.circulation.reasons import checkin_alert, checkin_reason
from kiosk.circulation.replay import Replayer
from kiosk.errors import IlsUnavailable, KioskError
from kiosk.ils.base import CheckinResult, Ils

log = logging.getLogger(__name__)


class RecordingIls(Ils):
    """Passes every call through and keeps the last check-in answer per item (for routing)."""

    def __init__(self, inner: Ils) -> None:
        self.inner = inner
        self.checkins: dict[str, CheckinResult] = {}

    def checkin(self, item_id: str, **kw: Any) -> CheckinResult:
        result = self.inner.checkin(item_id, **kw)
        self.checkins[item_id] = result
        return result

    def status(self):  # noqa: ANN201
        return self.inner.status()

    def patron_information(self, *a: Any, **kw: Any):  # noqa: ANN201
        return self.inner.patron_information(*a, **kw)

    def checkout(self, *a: Any, **kw: Any):  # noqa: ANN201
        return self.inner.checkout(*a, **kw)

    def renew(self, *a: Any, **kw: Any):  # noqa: ANN201
        return self.inner.renew(*a, **kw)

    def renew_all(self, *a: Any, **kw: Any):  # noqa: ANN201
        return self.inner.renew_all(*a, **kw)

    def item_information(self, *a: Any, **kw: Any):  # noqa: ANN201
        return self.inner.item_information(*a, **kw)

    def end_patron_session(self, *a: Any, **kw: Any):  # noqa: ANN201
        return self.inner.end_patron_session(*a, **kw)


def _route(result: CheckinResult | None) -> dict[str, Any]:
    if result is None:
        return {}
    return {"alert": checkin_alert(result), "sort_bin": result.sort_bin, "destination": result.destination,
            "title": result.title}


class ReturnSender:
    """Journals, sends and replays book-drop returns; tells its owner about every changed drop.

    ``notify(record)`` and ``set_online(bool)`` are called from the sender's worker threads.
    """

    def __init__(self, ils: Ils, journal: J.Journal, drop_log: DropLog,
                 notify: Callable[[DropRecord], None] = lambda r: None,
                 set_online: Callable[[bool], None] = lambda ok: None, workers: int = 2) -> None:
        self.ils = ils
        self.journal = journal
        self.drop_log = drop_log
        self.notify = notify
        self.set_online = set_online
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="bookdrop-checkin")
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        self._syncing = False
        self._idle = threading.Condition()

    # -- durable part (called on the controller's event thread) ------------------------------------

    def journal_return(self, item_id: str, dropped_ts: float) -> int:
        """Write the check-in down, acknowledged, dated at the drop.  Raises JournalError."""
        return self.journal.record_intent("checkin", item_id, state=J.QUEUED, acked=True, offline=False,
                                          txn_date=iso_local(dropped_ts))

    def recover(self) -> int:
        """Link drop-log rows a crash left between the drop log and the journal (exactly once)."""
        fixed = 0
        for rec in self.drop_log.between(0.0):
            if rec.state != S.LINE_READING or rec.item_id is None:
                continue
            match = [r for r in self.journal.rows() if r.kind == "checkin" and r.item_id == rec.item_id
                     and r.txn_date == rec.dropped_at]
            journal_id = match[-1].id if match else self.journal_return(rec.item_id, rec.dropped_ts)
            self.drop_log.update(rec.id, state=S.QUEUED, journal_id=journal_id)
            log.warning("book drop: completed a pass interrupted by a crash (drop %d)", rec.id)
            fixed += 1
        return fixed

    # -- the library system (worker threads) -------------------------------------------------------

    @property
    def busy(self) -> bool:
        return bool(self._in_flight) or self._syncing

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: not self.busy, timeout)

    def _done(self) -> None:
        with self._idle:
            self._idle.notify_all()

    def send_now(self, drop_id: int) -> None:
        with self._lock:
            if drop_id in self._in_flight:
                return
            self._in_flight.add(drop_id)
        self._pool.submit(self._send_first, drop_id)

    def _send_first(self, drop_id: int) -> None:
        try:
            with self.journal.replay_lock:
                self._send_first_locked(drop_id)
        except Exception:
            log.exception("book drop: sending drop %d failed; it stays queued", drop_id)
        finally:
            with self._lock:
                self._in_flight.discard(drop_id)
            self._done()

    def _send_first_locked(self, drop_id: int) -> None:
        rec = self.drop_log.get(drop_id)
        if rec is None or rec.journal_id is None:
            return
        row = self.journal.get(rec.journal_id)
        if row is None or row.state != J.QUEUED:
            self._reconcile_one(rec, None)       # settled or in doubt: the replayer's business
            return
        dropped = datetime.fromtimestamp(rec.dropped_ts)
        self.journal.mark_replaying([rec.journal_id])
        try:
            # a drop time read from an untrusted clock (kiosk.appliance.clock) is not sent: the library system
            # dates the return itself (it is being sent now, moments after the drop)
            dates = {} if row.clock_untrusted else {"transaction_date": dropped, "return_date": dropped}
            result = self.ils.checkin(rec.item_id, **dates)
        except IlsUnavailable as exc:
            # Nothing was sent: back to the queue, the replayer sends it when the system is back.
            self.journal.record_outcome(rec.journal_id, J.QUEUED, offline=True, note=str(exc)[:200])
            self._update(rec, state=S.QUEUED, attempt=True)
            self.set_online(False)
            return
        except KioskError as exc:
            # Sent, no valid reply: in doubt.  The replayer resolves it (Item Information) later.
            self.journal.record_outcome(rec.journal_id, J.UNKNOWN, note=f"no reply: {exc}"[:200])
            self._update(rec, state=S.QUEUED, attempt=True)
            return
        self.set_online(True)
        if not (result.ok or result.not_on_loan):
            _, reason_key = checkin_reason(result)
            self.journal.record_outcome(rec.journal_id, J.STAFF, reason_key=reason_key or "check_at_desk",
                                        reason_text=result.screen_message or None, title=result.title or None)
        else:
            self.journal.record_outcome(rec.journal_id, J.DONE, title=result.title or None,
                                        reason_key=checkin_alert(result))
        self._reconcile_one(rec, result)

    def sync(self) -> bool:
        """Replay every journaled transaction now (in the background); False if one is running."""
        with self._lock:
            if self._syncing:
                return False
            self._syncing = True
        self._pool.submit(self._sync)
        return True

    def _sync(self) -> None:
        try:
            recording = RecordingIls(self.ils)
            waiting = self.drop_log.waiting()
            if waiting or self.journal.pending_count():
                report = Replayer(recording, self.journal).sync()
                unreachable = bool(report.stopped and "unreachable" in report.stopped)
                self.set_online(not unreachable)
            else:
                try:
                    self.set_online(bool(self.ils.status().online))
                except KioskError:
                    self.set_online(False)
            self.reconcile(recording.checkins, lookup=True)
        except Exception:
            log.exception("book drop: replay failed")
        finally:
            with self._lock:
                self._syncing = False
            self._done()

    # -- drop log <- journal -----------------------------------------------------------------------

    def reconcile(self, answers: dict[str, CheckinResult] | None = None, lookup: bool = False) -> None:
        """Bring waiting drops up to date with their journal rows (settled by us or the replayer).

        ``lookup`` (worker threads only: it asks the library system) recovers the routing of a
        return whose check-in answer was lost (a crash, a timeout) from the item's status.
        """
        for rec in self.drop_log.waiting():
            with self._lock:
                if rec.id in self._in_flight:
                    continue
            self._reconcile_one(rec, (answers or {}).get(rec.item_id or ""), lookup)

    def _status_route(self, item_id: str) -> dict[str, Any]:
        """Routing from Item Information when the check-in answer is lost: SIP2 circulation status
        08 waiting on the hold shelf, 10 in transit (sip2.md 1.5, message 18)."""
        try:
            info = self.ils.item_information(item_id)
        except KioskError:
            return {}
        alert = {"08": "hold_here", "10": "transfer"}.get(info.circulation_status)
        if alert is None:
            return {}
        return {"alert": alert, "reason_key": "routing_from_status",
                "reason_text": "check-in answer lost; routing from the item's status: check the slip"}

    def _reconcile_one(self, rec: DropRecord, result: CheckinResult | None, lookup: bool = False) -> None:
        row = self.journal.get(rec.journal_id) if rec.journal_id is not None else None
        if row is None:
            return
        if row.state in (J.DONE, J.SYNCED, J.RESOLVED):
            fields = _route(result)
            if result is None and row.reason_key in ("hold_here", "hold_elsewhere", "transfer", "other"):
                fields["alert"] = row.reason_key   # replayed elsewhere: the journal keeps the alert kind
            elif result is None and lookup and rec.item_id:
                fields.update(self._status_route(rec.item_id))
            fields = {k: v for k, v in fields.items() if v not in (None, "")}
            fields.setdefault("title", row.title or rec.title)
            if result is not None:
                _, key = checkin_reason(result)
                if key:
                    fields.update(reason_key=key, reason_text=result.screen_message)
            self._update(rec, state=S.CHECKED_IN, **fields)
        elif row.state in (J.STAFF, J.REFUSED, J.ABANDONED):
            key = row.reason_key or "check_at_desk"
            state = S.NOT_OURS if key in ("unknown_item", "not_ours") else S.LINE_REFUSED
            self._update(rec, state=state, reason_key=key, reason_text=row.reason_text or "",
                         title=row.title or rec.title)
        elif rec.state == S.JOURNALED and row.state in (J.QUEUED, J.UNKNOWN):
            self._update(rec, state=S.QUEUED)

    def _update(self, rec: DropRecord, *, attempt: bool = False, **fields: Any) -> None:
        self.drop_log.update(rec.id, attempt=attempt, **fields)
        new = self.drop_log.get(rec.id)
        if new is not None:
            self.notify(new)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
