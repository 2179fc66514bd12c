"""The circulation engine's no-loss tests against the FOLIO protocol: the real KioskService over
the real FolioIls and journal, talking HTTP to the demo library's FOLIO face (one SQLite library).

* the library system away mid-session (a proxy that resets every connection) -> journaled work
  replayed exactly once, returns keeping their drop time (checkInDate);
* replies lost after FOLIO acted (connection dropped, 502/504) -> settled with the loans query,
  shown as done, never doubled;
* every access token expiring mid-stack -> 401, refresh, one resend, no double;
* kill -9 at random instants of a batch, restarted and synced (fewer kills than the SIP2 run:
  the harness is the same, only the protocol differs).
The invariant is test_crash_network's: every item shown as done happened exactly once."""

from __future__ import annotations

import os
from datetime import datetime

import pytest

from kiosk.circulation import view as v
from kiosk.demo_ils.folio_http import FolioDemoServer
from kiosk.folio.ils import FolioIls
from tests.service_rig import (
    ServiceRig,
    available,
    exactly_once_checkout,
    lines,
    patron,
    return_each_exactly_once,
    work_while_library_down,
)
from tests.test_crash_harness import run_crash_batch

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("KIOSK_CRASH_KILLS_FOLIO", "6"))


@pytest.fixture
def kiosk(tmp_path):
    rig = ServiceRig(tmp_path, FolioDemoServer(tmp_path / "library.sqlite3").start(), FolioIls.from_settings,
                     lambda port: ["ils.protocol=folio", f"ils.url=http://127.0.0.1:{port}"])

    def build(policy="returns+checkouts"):
        return rig.build(policy, ["ils.timeout_s=3"])
    yield build, rig.server, rig.proxy, rig.export
    rig.close()


def test_folio_down_then_back_journaled_work_is_replayed_exactly_once(kiosk):
    build, server, proxy, export = kiosk
    svc, journal, _ = build()
    # through the proxy set down, connections are accepted, then reset: every call ambiguous
    card, outs, returns, before = work_while_library_down(svc, proxy, export, 2, wait_s=30)
    assert server.db.checkouts_of(outs[0]) == []
    proxy.set_down(False)
    report = svc.sync_journal().result(60)
    assert report.remaining == 0 and report.staff == 0, report
    for item in outs:
        assert exactly_once_checkout(server.db, item, card)
    for item, _ in returns:
        (t,) = server.db.checkins_of(item)
        # the return counts from when the patron dropped it, not from the replay (checkInDate)
        assert datetime.fromisoformat(t["transaction_date"]) >= before
        assert (datetime.now() - datetime.fromisoformat(t["transaction_date"])).total_seconds() >= 0
        assert server.db.loan_of_item(item) is None


def test_folio_replies_lost_after_the_library_acted(kiosk):
    build, server, proxy, export = kiosk
    svc, journal, _ = build(policy="returns")
    card = patron(export, 1)
    items = available(export, 4, skip=10)
    server.fail_next("POST", "/circulation/check-out-by-barcode", "drop_after")
    server.fail_next("POST", "/circulation/check-out-by-barcode", "502_after")
    server.fail_next("POST", "/circulation/check-out-by-barcode", "504_after")
    svc.card_presented(card)
    svc.wait_idle(30)
    for item in items:
        svc.item_seen(item, source="barcode")
    svc.wait_idle(60)
    for item in items:
        assert exactly_once_checkout(server.db, item, card), item
        assert lines(svc)[item].state == v.DONE, lines(svc)[item]
    svc.finish("none")
    svc.wait_idle(30)
    assert server.received.count(("POST", "/circulation/check-out-by-barcode")) == 4   # none resent
    server.fail_next("POST", "/circulation/check-in-by-barcode", "drop_after", 2)
    return_each_exactly_once(svc, server.db, items)
    assert server.received.count(("POST", "/circulation/check-in-by-barcode")) == 4
    svc.sync_journal().result(30)
    assert journal.pending_count() == 0 and journal.staff_queue() == []


def test_folio_token_expiry_mid_stack(kiosk):
    build, server, proxy, export = kiosk
    svc, journal, ils = build()
    card = patron(export, 2)
    items = available(export, 6, skip=20)
    svc.card_presented(card)
    svc.wait_idle(30)
    for n, item in enumerate(items):
        if n == 3:
            server.expire_access_tokens()
        svc.item_seen(item, source="barcode")
    svc.wait_idle(60)
    assert all(lines(svc)[i].state == v.DONE and not lines(svc)[i].journaled for i in items)
    assert all(exactly_once_checkout(server.db, i, card) for i in items)
    assert ils.auth.logins == 1 and ils.auth.refreshes >= 1


def test_folio_every_acknowledged_transaction_happened_exactly_once_across_kill_9(tmp_path):
    result = run_crash_batch(tmp_path, kills=KILLS, seed=20261206, log=lambda s: None, protocol="folio",
                             rounds=2, min_ops=60)
    assert result["kills"] >= KILLS
    assert result["problems"] == []
    assert result["pending"] == 0
    assert result["acked_checkouts"] > 5 and result["acked_checkins"] > 5
    assert set(result["staff_reasons"]) <= {"unconfirmed_checkout", "return_unconfirmed", "on_loan_to_other"}
