"""Send journaled transactions to the library system once it is back, exactly once, in order.

Offline transactions (``queued``) go out with ``no block = Y`` and their original dates: the
transaction date and, for a checkout, the due date promised to the patron; for a return, the
return date, so nobody is fined for the outage (sip2.md §1.6).

Rows whose fate is unknown (sent, no reply; or a crash between sending and recording the answer)
are resolved with Item Information first and only resent when that shows the transaction did not
happen.  Whatever cannot be settled safely goes to the staff queue with a reason; nothing is
dropped.  Each outcome is committed on its own, so after a crash at most one row is in doubt.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.appliance.monitoring import metrics
from kiosk.appliance.privacy import mask
from kiosk.circulation import journal as j
from kiosk.circulation.journal import Journal, JournalRow
from kiosk.circulation.reasons import checkin_alert, checkout_reason, key_from_text
from kiosk.circulation.view import due_text
from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.ils.base import (
    MINE,
    UNPROVEN,
    UNREACHABLE,
    Ils,
    ItemInfo,
    Resolution,
    checkin_bare_refusal,
    judge_return,
    resolve_checkout,
)

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    """What one :meth:`Replayer.sync` did."""

    synced: int = 0          # confirmed by the library system now
    staff: int = 0           # moved to the staff queue (conflicts)
    abandoned: int = 0       # unacknowledged and found not to have happened
    resolved_done: int = 0   # unacknowledged, found to have happened (online rows)
    remaining: int = 0       # still waiting (library system went away again)
    stopped: str | None = None
    staff_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _dt(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _library_due(due_date: datetime | None, due: str) -> dict:
    """The due date the library system set for a replayed checkout, as journal columns: it replaces
    the one promised offline (the library's loan rules may win over our no-block due date: FOLIO
    always computes its own); the promised one stays in the note (:func:`_promised`)."""
    if due_date is None and not due:
        return {}          # the library did not say: the promised date stands
    kw: dict = {"due": due_text(due_date, due)}
    if due_date is not None:
        kw["due_date"] = due_date.replace(microsecond=0).isoformat()
    return kw


# A replayed row's outcome waits for its batch's commit at most this long: a patron's line done
# offline shows as confirmed once its outcome is in the journal.
SETTLED_COMMIT_S = 0.25

_PROMISED = "due date set by the library system (promised offline: "     # + the date + ")"


def _promised(row: JournalRow, due: dict) -> str:
    """A note keeping the due date promised offline when the library system set another."""
    if row.due_date and due.get("due_date", row.due_date) != row.due_date:
        return f"{_PROMISED}{row.due_date})"
    return ""


def promised_due(row: JournalRow) -> str | None:
    """The due date an offline checkout promised the patron (ISO text), also once the replay put the
    library system's in ``due_date``: then it is the one :func:`_promised` kept in the note."""
    if row.kind != "checkout" or not row.offline:
        return None
    if row.state == j.SYNCED:
        _, found, tail = (row.note or "").partition(_PROMISED)
        if found:
            return tail.partition(")")[0] or None
    return row.due_date


def confirmed_line(row: JournalRow) -> dict | None:
    """What a line done offline takes from its journal row once the replay confirmed it (None: not
    confirmed): the library system's title, and for a checkout its due date, which may not be the
    one promised (:func:`_library_due`)."""
    if row.state != j.SYNCED:
        return None
    changes: dict = {"title": row.title} if row.title else {}
    if row.kind == "checkout" and (row.due_date or row.due):
        changes.update(due_date=_dt(row.due_date), due=row.due or "")
    return changes


class _Stop(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class Replayer:
    """Replays a :class:`Journal` against an :class:`Ils`.  One replay per journal at a time."""

    def __init__(self, ils: Ils, journal: Journal, batch: int = 64) -> None:
        self.ils = ils
        self.journal = journal
        self.batch = batch
        # Settled rows whose outcome is not committed yet: one commit (one fsync) for a batch, not
        # one per row.  Until it is committed a row stays REPLAYING, which a replay after a crash
        # resolves by asking the library system (Item Information), never by resending blindly --
        # sound only while it is the item's one unresolved row: the item's later rows wait for the
        # commit (:meth:`_one`).  A checkout resolved after its item's return had been sent too
        # looked never done, and was sent again (the kill -9 harness: a doubled checkout).
        self._settled: dict[str, tuple[int, str, dict]] = {}    # item id: (row id, state, outcome)
        self._settled_since = 0.0

    def sync(self, item_id: str | None = None, limit: int | None = None) -> SyncReport:
        """Replay pending rows (of one item, or all) oldest first; stops when the library is away."""
        report = SyncReport()
        with self.journal.replay_lock, self._process_lock():
            processed = 0
            while limit is None or processed < limit:
                n = self.batch if limit is None else min(self.batch, limit - processed)
                rows = self.journal.pending(item_id=item_id, limit=n)
                if not rows:
                    break
                queued = {r.id for r in rows if r.state == j.QUEUED}
                if queued:
                    self.journal.mark_replaying(sorted(queued))   # one commit for the batch
                attempted: set[int] = set()
                try:
                    for row in rows:
                        attempted.add(row.id)
                        self._one(row, queued_now=row.id in queued, report=report)
                        processed += 1
                except _Stop as stop:
                    report.stopped = stop.why
                    unsent = sorted(queued - attempted)   # marked, never sent: back to the queue
                    if unsent:
                        self.journal.record_outcomes([(i, j.QUEUED, {}) for i in unsent])
                    break
                finally:
                    self._commit_settled()
        report.remaining = (self.journal.pending_count() if item_id is None
                            else len(self.journal.pending(item_id=item_id)))
        if report.synced or report.staff or report.abandoned:
            log.info("journal replay: %s", report.as_dict())
        if report.stopped is None:   # the library system answered for everything we had
            metrics.set("last_sync_timestamp_seconds", time.time())
        return report

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[None]:
        """Another process (``kiosk journal sync`` beside the running kiosk) must not replay too."""
        path = self.journal.path.with_name(self.journal.path.name + ".replay-lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ---- one row -------------------------------------------------------------------------
    def _info(self, row: JournalRow) -> ItemInfo:
        try:
            return self.ils.item_information(row.item_id)
        except IlsUnavailable as exc:
            raise self._stop(row, f"library system unreachable: {exc}", requeue=False) from exc
        except (OutcomeUnknown, ProtocolError) as exc:
            raise self._stop(row, f"no valid reply: {exc}", requeue=False) from exc

    def _stop(self, row: JournalRow, why: str, requeue: bool) -> _Stop:
        return _Stop(why)

    def _where(self, row: JournalRow) -> Resolution:
        """Did this checkout reach the library system?  The one rule (kiosk.ils.base.resolve_checkout):
        Item Information, and the patron's loans only when 18 names no borrower.  UNPROVEN ("not
        listed" proves nothing: AU may carry titles, lists may be paged) goes to staff, never resent."""
        found = resolve_checkout(self.ils, row.item_id, row.patron_id or "")
        if found.verdict == UNREACHABLE:
            raise self._stop(row, f"no valid reply: {found.detail}", requeue=False)
        return found

    def _one(self, row: JournalRow, queued_now: bool, report: SyncReport) -> None:
        if row.item_id in self._settled:
            self._commit_settled()          # an item has one unresolved row at a time (see __init__)
        acked = row.acked or row.state == j.REPLAYING or queued_now
        if row.kind == "checkout":
            # Never resend a checkout blindly, not even a queued one: an earlier attempt may have
            # reached the library although the connection failed (a doubled checkout is a renewal).
            found = self._where(row)
            if found.verdict == MINE:
                if acked:
                    info = found.info
                    due = _library_due(info.due_date, info.due) if info is not None else {}
                    note = "; ".join(filter(None, ("resolved: already charged to the patron", _promised(row, due))))
                    self._settle(row, j.SYNCED, report, note=note, **due)
                else:
                    self._to_staff(row, "unconfirmed_checkout", report,
                                   text="charged to the patron, who was not told it was done")
            elif found.verdict == UNPROVEN:
                self._to_staff(row, "unconfirmed_checkout", report,
                               text=f"{'promised to the patron; ' if acked else ''}not resent: {found.detail}")
            elif acked:
                # Promised to the patron and proved not charged to them (charged to nobody, or to a
                # borrower the library system names): no block = Y records it even over a stale loan.
                if not queued_now and row.state != j.REPLAYING:
                    self.journal.mark_replaying([row.id])
                self._send(row, report)
            else:
                self._settle(row, j.ABANDONED, report,
                             note=f"resolved: checkout did not happen ({found.detail})")
            return
        if queued_now:
            self._send(row, report)
            return
        # replaying (interrupted in this process) or unknown: resolve before anything is resent
        info = self._info(row)
        acked = row.acked or row.state == j.REPLAYING
        if row.kind == "checkin":
            is_in, _alert = judge_return(info)
            if is_in:
                state = j.SYNCED if acked else j.DONE
                # reason_key stays for a check-in *answer*'s routing (the after-hours report tells
                # the two apart and recovers a lost answer's routing from the status itself).
                self._settle(row, state, report, title=info.title,
                             note=f"resolved: item is checked in (status {info.circulation_status})")
            elif is_in is False and acked:
                self.journal.mark_replaying([row.id])
                self._send(row, report)
            else:   # still charged and never acknowledged, or a status that proves neither
                self._to_staff(row, "return_unconfirmed", report,
                               text=f"{info.title} (item status {info.circulation_status or 'blank'})".strip())
        else:
            self._to_staff(row, "renewal_unconfirmed", report, text=info.title)

    def _send(self, row: JournalRow, report: SyncReport) -> None:
        """Send a queued (acknowledged) row with no block = Y and its original dates -- unless they
        came from an untrusted clock (kiosk.appliance.clock): then none, so nothing is backdated; staff see it."""
        trusted = not getattr(row, "clock_untrusted", False)
        when = _dt(row.txn_date) if trusted else None
        try:
            if row.kind == "checkout":
                r = self.ils.checkout(row.patron_id or "", row.item_id, no_block=True, transaction_date=when,
                                      nb_due_date=_dt(row.due_date) if trusted else None)
                if r.ok:
                    due = _library_due(r.due_date, r.due)
                    promised = _promised(row, due)      # kept beside why it went offline
                    note = "; ".join(filter(None, (row.note, promised))) if promised else None
                    self._settle(row, j.SYNCED, report, title=r.title, note=note, **due)
                else:
                    self._to_staff(row, checkout_reason(r), report, text=r.screen_message)
            elif row.kind == "checkin":
                r = self.ils.checkin(row.item_id, no_block=True, transaction_date=when, return_date=when)
                if checkin_bare_refusal(r):   # Evergreen/Sierra "already in": Item Information decides
                    info = self._info(row)
                    is_in, _alert = judge_return(info)
                    if is_in:
                        self._settle(row, j.SYNCED, report, title=r.title,
                                     note=f"ok=0 without a reason; Item Information: the item is in "
                                          f"(status {info.circulation_status})")
                    else:
                        self._to_staff(row, "return_unconfirmed", report, text=r.title)
                elif r.ok or r.not_on_loan:
                    alert = checkin_alert(r)
                    self._settle(row, j.SYNCED, report, title=r.title, reason_key=alert,
                                 note=f"route: {alert} {r.sort_bin or r.destination}".strip() if alert else None)
                else:
                    self._to_staff(row, key_from_text(r.screen_message, "check_at_desk"), report,
                                   text=r.screen_message)
            else:
                self._to_staff(row, "renewal_unconfirmed", report)
        except IlsUnavailable as exc:
            # nothing was sent: the row goes back to the queue as it was
            self.journal.record_outcomes([(row.id, j.QUEUED, {})])
            raise self._stop(row, f"library system unreachable: {exc}", requeue=False) from exc
        except (OutcomeUnknown, ProtocolError) as exc:
            self.journal.record_outcome(row.id, j.UNKNOWN, note=f"no reply on replay: {exc}")
            raise self._stop(row, f"no valid reply: {exc}", requeue=False) from exc

    def _settle(self, row: JournalRow, state: str, report: SyncReport, **kw) -> None:
        """The row is done: its outcome is committed with the batch's (:meth:`_commit_settled`),
        or sooner when the batch is slow (the kiosk shows a line done offline as confirmed only
        once its outcome is in the journal)."""
        if not self._settled:
            self._settled_since = time.monotonic()
        self._settled[row.item_id] = (row.id, state, kw)    # one per item: _one commits before a second
        if state == j.SYNCED:
            report.synced += 1
        elif state == j.ABANDONED:
            report.abandoned += 1
        else:
            report.resolved_done += 1
        if time.monotonic() - self._settled_since >= SETTLED_COMMIT_S:
            self._commit_settled()

    def _commit_settled(self) -> None:
        """Commit the settled rows' outcomes, in one transaction."""
        if self._settled:
            settled, self._settled = list(self._settled.values()), {}
            self.journal.record_outcomes(settled)

    def _to_staff(self, row: JournalRow, reason_key: str, report: SyncReport, text: str = "") -> None:
        log.warning("journal %d (%s of item %s) needs staff: %s", row.id, row.kind, mask(row.item_id),
                    reason_key)
        self.journal.record_outcome(row.id, j.STAFF, reason_key=reason_key, reason_text=text or None)
        report.staff += 1
        report.staff_ids.append(row.id)
