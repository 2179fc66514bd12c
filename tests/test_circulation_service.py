"""KioskService over an in-memory library system: stacks, offline policy, ambiguity, security bit."""

from __future__ import annotations

import threading

import pytest

from kiosk import config
from kiosk.circulation import view as v
from kiosk.circulation.journal import Journal
from kiosk.circulation.memory_ils import MemItem, MemoryIls, MemPatron
from kiosk.circulation.service import KioskService

CARD, OTHER, BLOCKED = "23529000445172", "23529000111111", "23529000999999"


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Security:
    """A tag reader's security bit; ``fail_writes`` uids ignore the first N writes."""

    def __init__(self, fail_writes: dict[str, int] | None = None) -> None:
        self.bits: dict[str, bool] = {}
        self.fail_writes = dict(fail_writes or {})
        self.writes: list[tuple[str, bool]] = []

    def set_security(self, uid: str, on: bool) -> None:
        self.writes.append((uid, on))
        if self.fail_writes.get(uid, 0) > 0:
            self.fail_writes[uid] -= 1
            return
        self.bits[uid] = on

    def read_security(self, uid: str) -> bool:
        return self.bits.get(uid, True)


def make_ils(**kw) -> MemoryIls:
    items = [MemItem(f"B{i}", title=f"Book {i}") for i in range(30)]
    items.append(MemItem("HELD", title="Wanted", hold_for=OTHER))
    return MemoryIls([MemPatron(CARD, "Alice"), MemPatron(OTHER, "Olga"),
                      MemPatron(BLOCKED, "Bob", blocks=("charge privileges denied",), can_checkout=False)],
                     items, **kw)


@pytest.fixture
def env(tmp_path):
    created = []

    def build(policy="returns+checkouts", ils=None, security=None, clock=None, **overrides):
        sets = [f"kiosk.offline_policy={policy}", f"storage.data_dir={tmp_path}"]
        sets += [f"{k.replace('__', '.')}={val}" for k, val in overrides.items()]
        settings = config.load(None, sets)
        ils = ils or make_ils()
        journal = Journal(settings.data_dir / "journal.sqlite3")
        views: list[v.SessionView] = []
        threads: set[str] = set()

        def listener(view):
            threads.add(threading.current_thread().name)
            views.append(view)
        svc = KioskService(settings, ils, journal, listener, security=security, clock=clock or Clock())
        created.append((svc, journal))
        return svc, ils, journal, views, threads
    yield build
    for svc, journal in created:
        svc.close()
        journal.close()


def items(svc) -> dict[str, v.ItemLine]:
    return {i.item_id: i for i in svc.view().items}


def test_a_stack_is_worked_in_parallel_and_every_item_is_confirmed(env):
    svc, ils, journal, views, threads = env(ils=make_ils(latency_s=0.05), ils__pool_size=4)
    svc.card_presented(CARD)
    for i in range(8):
        svc.item_seen(f"B{i}")
    assert svc.wait_idle(10)
    lines = items(svc)
    assert {line.state for line in lines.values()} == {v.DONE}
    assert all(ils.happened("checkout", f"B{i}") == 1 for i in range(8))
    assert lines["B3"].title == "Book 3" and lines["B3"].due_date is not None and not lines["B3"].journaled
    assert "MainThread" not in threads
    versions = [view.version for view in views]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert views[-1].state == v.WORKING and views[-1].patron.name == "Alice"
    # journaled before and after: one settled row per item, card numbers masked
    rows = journal.rows()
    assert len(rows) == 8 and {r.state for r in rows} == {"done"}
    assert all(CARD not in (r.patron_id or "") for r in rows)


def test_items_on_the_pad_before_the_card_are_checked_out(env):
    svc, ils, *_ = env()
    svc.item_seen("B1")
    svc.item_seen("B2")
    svc.wait_idle(5)
    assert ils.log == []
    svc.card_presented(CARD)
    svc.wait_idle(5)
    assert {line.state for line in items(svc).values()} == {v.DONE}
    assert ils.happened("checkout", "B1") == ils.happened("checkout", "B2") == 1


def test_refusals_carry_a_reason_key_and_the_librarys_text(env):
    svc, ils, *_ = env()
    svc.card_presented(CARD)
    svc.item_seen("HELD")
    svc.item_seen("NOPE")
    svc.wait_idle(5)
    held, nope = items(svc)["HELD"], items(svc)["NOPE"]
    assert held.state == v.REFUSED and held.reason_key == "on_hold_for_other"
    assert held.reason_text == "Item is on hold for another patron."
    assert nope.state == v.REFUSED and nope.reason_key == "unknown_item"


def test_blocked_patron_gets_a_reason_and_nothing_is_sent(env):
    svc, ils, *_ = env()
    svc.card_presented(BLOCKED)
    svc.item_seen("B1")
    svc.wait_idle(5)
    assert svc.view().message_key == "patron_blocked"
    assert items(svc)["B1"].reason_key == "patron_blocked"
    assert not [c for c in ils.calls if c[0] == "checkout"]


def test_return_session_routes_a_hold(env):
    ils = make_ils()
    ils.items["B5"].borrower = OTHER
    ils.items["B5"].hold_for = CARD
    ils.items["B6"].borrower = OTHER
    svc, ils, *_ = env(ils=ils)
    svc.start("return")
    svc.item_seen("B5")
    svc.item_seen("B6")
    svc.item_seen("B7")        # not on loan: fine for a return
    svc.wait_idle(5)
    lines = items(svc)
    assert lines["B5"].state == v.DONE and lines["B5"].alert == "hold_here"
    assert lines["B6"].state == v.DONE and lines["B6"].alert is None
    assert lines["B7"].state == v.DONE


def test_ambiguous_checkout_is_resolved_with_item_information_not_resent(env):
    svc, ils, journal, *_ = env()
    ils.drop_after = {"B1"}     # the checkout happens, the reply is lost
    ils.drop_before = {"B2"}    # the request is lost: it did not happen
    svc.card_presented(CARD)
    svc.item_seen("B1")
    svc.item_seen("B2")
    svc.wait_idle(5)
    assert items(svc)["B1"].state == items(svc)["B2"].state == v.DONE
    assert ils.happened("checkout", "B1") == 1 and ils.happened("checkout", "B2") == 1
    b1_calls = [c for c in ils.calls if c[:2] == ("checkout", "B1")]
    b2_calls = [c for c in ils.calls if c[:2] == ("checkout", "B2")]
    assert len(b1_calls) == 1 and len(b2_calls) == 2          # resent only after "not charged"
    assert ("item_information", "B1") in ils.calls and ("item_information", "B2") in ils.calls
    assert journal.pending_count() == 0


def test_ambiguous_return_is_simply_resent(env):
    ils = make_ils()
    ils.items["B1"].borrower = CARD
    ils.drop_after = {"B1"}
    svc, ils, *_ = env(ils=ils)
    svc.start("return")
    svc.item_seen("B1")
    svc.wait_idle(5)
    assert items(svc)["B1"].state == v.DONE
    assert ils.happened("checkin", "B1") == 1


def test_offline_returns_are_journaled_then_replayed_when_the_library_is_back(env):
    clock = Clock()
    ils = make_ils()
    for i in range(3):
        ils.items[f"B{i}"].borrower = CARD
    svc, ils, journal, views, _ = env(policy="returns", ils=ils, clock=clock)
    ils.down = True
    svc.start("return")
    for i in range(3):
        svc.item_seen(f"B{i}")
    svc.wait_idle(5)
    view = svc.view()
    assert {line.state for line in view.items} == {v.DONE}
    assert all(line.journaled for line in view.items)
    assert not view.online and view.offline_mode and view.pending_sync == 3
    assert ils.log == []
    ils.down = False
    clock.t += 60
    svc.tick()
    svc.wait_idle(5)
    svc.sync_journal().result(5)
    svc.wait_idle(5)
    assert svc.online and svc.view().pending_sync == 0
    assert [t.kind for t in ils.log] == ["checkin"] * 3
    assert all(t.no_block and t.transaction_date is not None for t in ils.log)
    assert {r.state for r in journal.rows()} == {"synced"}


def test_policy_none_puts_the_kiosk_out_of_service(env):
    svc, ils, *_ = env(policy="none")
    ils.down = True
    svc.start("return")
    svc.item_seen("B1")
    svc.wait_idle(5)
    line = items(svc)["B1"]
    assert line.state == v.REFUSED and line.reason_key == "offline_not_allowed"
    svc.cancel()
    svc.tick(svc.clock() + 100)
    svc.wait_idle(5)
    assert svc.view().state == v.OUT_OF_SERVICE


def test_policy_returns_refuses_offline_borrowing(env):
    svc, ils, *_ = env(policy="returns")
    ils.down = True
    svc.card_presented(CARD)
    svc.wait_idle(5)
    assert svc.view().state == v.IDENTIFYING and svc.view().message_key == "offline_returns_only"


def test_offline_checkout_needs_a_recently_seen_card_and_has_a_limit(env):
    clock = Clock()
    svc, ils, journal, *_ = env(clock=clock, offline__max_items_per_patron=2, offline__default_loan_days=7)
    svc.card_presented(CARD)                       # seen online: cached (hashed)
    svc.wait_idle(5)
    svc.cancel()
    clock.t += 10
    svc.tick()
    ils.down = True
    svc.card_presented(OTHER)                      # never seen: cannot be validated offline
    svc.wait_idle(5)
    assert svc.view().message_key == "offline_card_unknown"
    svc.cancel()
    clock.t += 10
    svc.tick()
    svc.card_presented(CARD)
    svc.wait_idle(5)
    assert svc.view().state == v.IDENTIFIED and svc.view().patron.offline
    for i in range(3):
        svc.item_seen(f"B{i}")
    svc.wait_idle(5)
    states = sorted((line.state, line.reason_key or "") for line in svc.view().items)
    assert states == [(v.DONE, ""), (v.DONE, ""), (v.REFUSED, "offline_limit")]
    done = [line for line in svc.view().items if line.state == v.DONE]
    assert all(line.journaled and line.due_date is not None for line in done)
    assert (done[0].due_date.date() - __import__("datetime").date.fromtimestamp(clock.t)).days == 7
    ils.down = False
    svc.sync_journal().result(5)
    assert sorted(t.item_id for t in ils.log if t.kind == "checkout") == sorted(line.item_id for line in done)
    assert all(t.no_block for t in ils.log)


def test_security_bit_is_set_verified_and_retried(env):
    sec = Security(fail_writes={"u1": 1, "bad": 99})
    svc, ils, *_ = env(security=sec)
    svc.card_presented(CARD)
    svc.item_seen("B1", uid="u1")
    svc.item_seen("B2", uid="bad")
    svc.item_seen("B3")                            # a barcode: no tag to touch
    svc.wait_idle(5)
    lines = items(svc)
    assert lines["B1"].state == v.DONE and lines["B1"].security_ok is True and sec.bits["u1"] is False
    assert sec.writes.count(("u1", False)) == 2     # retried once after a failed read-back
    assert lines["B2"].state == v.NEEDS_STAFF and lines["B2"].reason_key == "security_failed"
    assert lines["B2"].security_ok is False and ils.happened("checkout", "B2") == 1
    assert lines["B3"].security_ok is None


def test_multi_part_set_is_resensitized_on_every_part(env):
    ils = make_ils()
    ils.items["B9"].borrower = CARD
    sec = Security()
    sec.bits.update({"p1": False, "p2": False})
    svc, ils, *_ = env(ils=ils, security=sec)
    svc.start("return")
    svc.item_seen("B9", parts_in_item=2, part_number=1, uid="p1")
    svc.wait_idle(5)
    assert items(svc)["B9"].reason_key == "missing_parts" and ils.calls == []
    svc.item_seen("B9", parts_in_item=2, part_number=2, uid="p2")
    svc.wait_idle(5)
    assert items(svc)["B9"].state == v.DONE and sec.bits == {"p1": True, "p2": True}


def test_timeout_is_driven_by_tick_with_an_injected_clock(env):
    clock = Clock()
    svc, ils, *_ = env(clock=clock, kiosk__session_timeout_s=30, kiosk__timeout_warning_s=10)
    svc.card_presented(CARD)
    svc.wait_idle(5)
    clock.t += 25
    svc.tick()
    svc.wait_idle(5)
    assert svc.view().warning_s == 5
    clock.t += 6
    svc.tick()
    svc.wait_idle(5)
    assert svc.view().state == v.ENDED and svc.view().patron is None
    assert ("patron_information", CARD) in ils.calls


def test_every_finished_item_is_counted_for_staff_statistics(env, tmp_path):
    from datetime import date

    from kiosk.staff import stats

    store = stats.Stats(tmp_path / "stats.sqlite3")
    stats.install(store)
    try:
        svc, *_ = env()
        svc.card_presented(CARD)
        for item in ("B1", "B2", "HELD"):
            svc.item_seen(item)
        assert svc.wait_idle(5)
    finally:
        stats.install(None)
    today = store.per_day(date.today(), date.today())[0]
    assert (today.counts.checkouts, today.counts.refusals) == (2, 1)


def test_a_checkout_done_offline_shows_the_librarys_due_date_once_replayed(env):
    """QA "offline due date not updated after sync": a checkout acknowledged offline shows the
    date the kiosk promised; when the journal is replayed while the session is still on screen, the
    date the library system set (FOLIO always sets its own) replaces it, on the screen and so on
    the receipt built from the view, and the line no longer says it waits to be sent."""
    svc, ils, journal, *_ = env(offline__default_loan_days=3)
    ils.own_due_dates = True
    svc.card_presented(CARD)
    svc.wait_idle(5)
    ils.down = True
    svc.item_seen("B1")
    svc.wait_idle(5)
    line = items(svc)["B1"]
    assert line.state == v.DONE and line.journaled and line.due_date is not None
    promised = line.due_date
    ils.down = False
    assert svc.sync_journal().result(5).synced == 1
    svc.wait_idle(5)
    line = items(svc)["B1"]
    real = ils.items["B1"].due
    assert real != promised
    assert line.due_date == real and line.due == real.date().isoformat()
    assert line.state == v.DONE and not line.journaled
    assert svc.view().state == v.WORKING and svc.view().patron is not None   # the session goes on
