"""Network faults between the kiosk and the REAL demo library system (through the real SipIls):
the library system down, replies lost after the library acted, replies too slow, slow but in time.
The invariant is the crash test's: every item shown as done happened exactly once; nothing else is
lost silently (it ends confirmed, abandoned as not having happened, or in the staff queue)."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.circulation import journal as j
from kiosk.circulation import view as v
from kiosk.demo_ils.server import DemoIlsServer
from kiosk.sip2.ils import SipIls
from tests.service_rig import (
    ServiceRig,
    available,
    exactly_once_checkout,
    lines,
    on_loan,
    patron,
    return_each_exactly_once,
    work_while_library_down,
)

pytestmark = [pytest.mark.slow, pytest.mark.sip2_only("faults injected between SIP2 frames; the same scenarios over FOLIO: tests/test_crash_folio.py")]


@pytest.fixture
def kiosk(tmp_path):
    rig = ServiceRig(tmp_path, DemoIlsServer(tmp_path / "library.sqlite3").start(), SipIls.from_settings,
                     lambda port: [f"ils.port={port}"])

    def build(policy="returns+checkouts", **overrides):
        svc, journal, _ = rig.build(policy, [f"{k.replace('__', '.')}={val}" for k, val in overrides.items()])
        return svc, journal
    yield build, rig.server, rig.proxy, rig.export
    rig.close()


def test_library_down_then_back_journaled_work_is_replayed_exactly_once(kiosk):
    build, server, proxy, export = kiosk
    svc, journal = build()
    card, outs, returns, before = work_while_library_down(svc, proxy, export, 3, wait_s=20)
    assert not svc.online and svc.view().pending_sync == 6
    assert server.db.checkouts_of(outs[0]) == []                  # nothing reached the library yet
    proxy.set_down(False)
    report = svc.sync_journal().result(30)
    assert report.synced == 6 and report.remaining == 0 and report.staff == 0
    for item in outs:
        assert exactly_once_checkout(server.db, item, card)
        (t,) = server.db.checkouts_of(item)
        assert t["no_block"] == 1
    for item, _ in returns:
        (t,) = server.db.checkins_of(item)
        assert t["no_block"] == 1 and datetime.fromisoformat(t["transaction_date"]) >= before
        assert server.db.loan_of_item(item) is None


def test_policy_none_refuses_and_nothing_happens(kiosk):
    build, server, proxy, export = kiosk
    svc, journal = build(policy="none")
    proxy.set_down(True)
    (item, _), = on_loan(export, 1)
    svc.start("return")
    svc.item_seen(item, source="barcode")
    svc.wait_idle(20)
    assert lines(svc)[item].state == v.REFUSED and lines(svc)[item].reason_key == "offline_not_allowed"
    proxy.set_down(False)
    assert svc.sync_journal().result(30).synced == 0
    assert server.db.checkins_of(item) == [] and server.db.loan_of_item(item) is not None


def test_replies_lost_after_the_library_acted(kiosk):
    build, server, proxy, export = kiosk
    svc, journal = build(policy="returns")        # no offline checkouts: an unresolved one is not acked
    card = patron(export, 1)
    items = available(export, 4, skip=10)
    proxy.drop_next("12", 2)                      # two checkout replies vanish
    svc.card_presented(card)
    svc.wait_idle(30)
    for item in items:
        svc.item_seen(item, source="barcode")
    svc.wait_idle(60)
    assert proxy.dropped == 2
    for item in items:
        # each checkout happened exactly once, and the lost replies were resolved (Item Information,
        # then the patron's own loans, since SIP2 does not say who has an item): all done
        assert exactly_once_checkout(server.db, item, card), item
        assert lines(svc)[item].state == v.DONE, lines(svc)[item]
    svc.finish("none")
    svc.wait_idle(30)
    svc.sync_journal().result(30)
    assert journal.pending_count() == 0 and journal.staff_queue() == []
    # returns: a lost check-in reply is resent and "not checked out" means it is in
    proxy.drop_next("10", 2)
    return_each_exactly_once(svc, server.db, items)


def test_slow_replies_in_time_change_nothing(kiosk):
    build, server, proxy, export = kiosk
    svc, journal = build()
    proxy.delay_s = 0.2
    card = patron(export, 2)
    items = available(export, 4, skip=20)
    svc.card_presented(card)
    for item in items:
        svc.item_seen(item, source="barcode")
    svc.wait_idle(60)
    assert all(lines(svc)[i].state == v.DONE and not lines(svc)[i].journaled for i in items)
    assert all(exactly_once_checkout(server.db, i, card) for i in items)
    assert {r.state for r in journal.rows()} == {j.DONE}


def test_a_reply_later_than_the_timeout_is_resolved_not_doubled(kiosk):
    build, server, proxy, export = kiosk
    svc, journal = build(policy="returns", ils__timeout_s=1.0)
    card = patron(export, 3)
    items = available(export, 3, skip=30)
    svc.card_presented(card)
    svc.wait_idle(30)
    proxy.hold_codes["12"] = [10.5]               # beyond the 10 s the demo's ACS status asks for
    for item in items:
        svc.item_seen(item, source="barcode")
    svc.wait_idle(90)
    for item in items:
        assert exactly_once_checkout(server.db, item, card), item
        assert lines(svc)[item].state in (v.DONE, v.NEEDS_STAFF)
    assert all(lines(svc)[i].state == v.DONE for i in items)     # the late one resolved as done
    svc.sync_journal().result(30)
    assert journal.pending_count() == 0
    assert not [t for i in items for t in server.db.transactions_for_item(i, "renewal") if t["ok"]]
