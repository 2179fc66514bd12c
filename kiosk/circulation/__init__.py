"""The circulation engine: patron sessions, stacks of items, the durable journal and offline replay.

Public API (contracts D; the screens, the CLI and the after-hours drop all use the same engine)::

    from kiosk.circulation import KioskService, Journal, SessionView, ItemLine, PatronSummary

    journal = Journal(settings.data_dir / "journal.sqlite3")       # SQLite, synchronous=FULL
    service = KioskService(settings, ils, journal, listener, security=tag_reader_or_None,
                           clock=time.time)
    service.start("borrow" | "return" | "account")
    service.card_presented(patron_id, pin=None)   # also starts a "borrow" session from idle
    service.pin_entered(pin)
    service.item_seen(item_id, parts_in_item=1, part_number=1, uid=None, source="rfid")
    service.tag_seen(tag)                         # a kiosk.hardware TagRead (uid, item_id, parts...)
    service.item_removed(item_id)                 # or a tag uid
    service.renew(item_id); service.renew_all()
    service.finish(receipt=None | "print" | "email" | "none")   # None: ask (state "receipt")
    service.more_time(); service.touch(); service.cancel()
    service.tick(now=None)                        # once a second from the app: timeouts, reconnect
    service.view() -> SessionView                 # the latest snapshot
    service.online -> bool
    service.wait_idle(timeout=None) -> bool       # tests/CLI: every queued job and notification done
    service.sync_journal() -> Future              # replay journaled transactions now
    service.close()

Every intent returns at once; library-system work runs on a worker pool of ``[ils] pool_size``
threads.  After every change the service calls ``listener(view)`` from its notifier thread (never from
the caller's thread), with views in increasing ``view.version`` order.

Views (``kiosk.circulation.view``): ``SessionView(state, mode, patron, items, warning_s, online,
offline_mode, message_key, message_text, busy, needs_pin, receipt, session_id, version,
pending_sync)``; ``ItemLine(item_id, title, state, action, due_date, due, reason_key, reason_text,
journaled, alert, sort_bin, destination, parts_in_item, parts_present, security_ok, journal_id,
source)``; ``PatronSummary(name, loans, loan_count, overdue_count, holds_ready, holds_count,
fine_amount, currency, can_checkout, can_renew, block_keys, screen_message, offline, masked_id,
holds_ready_items, details_pending, email)``.  In an "account" session the loans and ready holds are
looked up with Item Information (``kiosk.circulation.account``) and stream into ``patron`` as they
arrive (``details_pending`` counts down); loans are ordered overdue first, then by due date.
States, item states and modes are string constants in ``kiosk.circulation.view``.

Reason keys (``ItemLine.reason_key`` / ``SessionView.message_key``) and their plain-English fallback
texts are in ``kiosk.circulation.reasons.REASONS`` (key -> (what happened, what to do)).

Lower layers, usable on their own:
* ``kiosk.circulation.session.Session``: the pure state machine (no threads, no I/O, clock passed in);
  its effects are in ``kiosk.circulation.effects``, its identification and account steps in
  ``kiosk.circulation.patron_steps``, its timers in ``kiosk.circulation.timers``.
* ``kiosk.circulation.journal.Journal(path)``: ``record_intent(kind, item_id, patron_id=...) -> id``
  before a send, ``record_outcome(id, state, ...)`` after; ``pending()``, ``staff_queue()``,
  ``resolve(id, note)``, ``rows()``, ``export()``; the offline card cache.
* ``kiosk.circulation.transact.Circulator(ils, journal, policy)``: one checkout / checkin / renewal
  journaled before it is sent, ambiguous outcomes resolved with Item Information, offline fallback
  by policy.  ``checkout(...) / checkin(...) / renew(...) -> Outcome``.
* ``kiosk.circulation.replay.Replayer(ils, journal).sync() -> SyncReport``: journaled offline
  transactions replayed in order with no-block=Y and their original dates; conflicts go to the
  staff queue with a reason, never dropped.
* ``kiosk.circulation.cli``: ``kiosk checkout``, ``kiosk return``, ``kiosk journal list|sync|export``.
"""

from __future__ import annotations

from kiosk.circulation.view import ItemLine, LoanLine, PatronSummary, SessionView

__all__ = ["ItemLine", "LoanLine", "PatronSummary", "SessionView", "Journal", "KioskService"]


def __getattr__(name: str):  # lazy: the view module must import without SQLite/threads
    if name == "Journal":
        from kiosk.circulation.journal import Journal
        return Journal
    if name == "KioskService":
        from kiosk.circulation.service import KioskService
        return KioskService
    raise AttributeError(name)
