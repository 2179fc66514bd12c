"""Twenty kiosks at once: checkouts and returns in parallel leave a consistent library."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from kiosk.demo_ils.server import DemoIlsServer
from kiosk.sip2 import codec as c
from tests.test_demo_ils_server import SipTestClient, checkin, checkout

pytestmark = pytest.mark.sip2_only("twenty SIP2 connections at once on the demo library's socket server")

CLIENTS = 20
ITEMS_EACH = 3


@pytest.fixture
def server(tmp_path):
    with DemoIlsServer(tmp_path / "busy.sqlite") as srv:
        yield srv


def run_clients(n: int, work) -> list:
    """Run ``work(i, client, sync)`` in n threads at once (released together; ``sync()`` waits for all
    the others to reach the same point); re-raise the first failure."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            cl = SipTestClient(port, timeout=30)
            try:
                assert cl.login()
                barrier.wait(timeout=30)
                results[i] = work(i, cl, lambda: barrier.wait(timeout=30))
            finally:
                cl.close()
        except BaseException as exc:     # collected and re-raised in the test thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return results


port = 0


def test_twenty_kiosks_check_out_and_return_consistently(server):
    global port
    port = server.port
    exp = server.db.export()
    patrons = [p for p in exp["patrons"] if p["status"] == "ok" and len(p["loans"]) <= 4][:CLIENTS]
    assert len(patrons) == CLIENTS
    shelf = [i for i in exp["items"] if i["status"] == "available" and i["media"] in ("book", "magazine", "set")
             and not i["holds"] and i["home_branch"] == "MAIN"]
    assert len(shelf) >= CLIENTS * ITEMS_EACH + 1
    contested = shelf.pop()["barcode"]
    mine = {i: [it["barcode"] for it in shelf[i * ITEMS_EACH:(i + 1) * ITEMS_EACH]] for i in range(CLIENTS)}

    def work(i: int, cl: SipTestClient, sync) -> dict:
        card = patrons[i]["card"]
        seen = {"contested_ok": False, "returned_contested": False}
        r = cl.request(checkout(card, contested))        # everyone grabs the same item at once
        seen["contested_ok"] = r.ok
        assert r.ok or r.screen_message == "Item checked out to another patron", r.screen_message
        sync()                                           # nobody returns it before all have tried
        for barcode in mine[i]:
            r = cl.request(checkout(card, barcode))
            assert r.ok and not r.renewal_ok, r.screen_message
        for barcode in mine[i][:2]:                      # return two, keep one
            r = cl.request(checkin(barcode))
            assert r.ok, r.screen_message
        r = cl.request(checkin(contested))               # every kiosk "returns" the contested item
        seen["returned_contested"] = r.ok
        assert r.ok or r.screen_message == "Item not checked out"
        return seen

    results = run_clients(CLIENTS, work)
    db = server.db
    # the contested item: checked out exactly once, returned exactly once
    assert sum(r["contested_ok"] for r in results) == 1
    assert sum(r["returned_contested"] for r in results) == 1
    assert len(db.checkouts_of(contested)) == 1 and len(db.checkins_of(contested)) == 1
    assert db.loan_of_item(contested) is None
    # every client's items: one checkout each, the first two returned once, the third still out
    for i, p in enumerate(patrons):
        for barcode in mine[i]:
            assert len(db.checkouts_of(barcode)) == 1
        for barcode in mine[i][:2]:
            assert len(db.checkins_of(barcode)) == 1 and db.loan_of_item(barcode) is None
        assert db.loan_of_item(mine[i][2]).card == p["card"]
        loans = {ln.barcode for ln in db.loans_of(p["card"])}
        assert loans == set(p["loans"]) | {mine[i][2]}
    # the database invariant the rules rely on: never two active loans for one item
    rows = db.query("SELECT barcode, COUNT(*) n FROM loans WHERE returned_at IS NULL GROUP BY barcode HAVING n > 1")
    assert rows == []
    kinds = Counter((t["kind"], t["ok"]) for t in db.transactions())
    assert kinds[("checkout", 1)] == CLIENTS * ITEMS_EACH + 1
    assert kinds[("checkin", 1)] == CLIENTS * 2 + 1
    assert not any("System error" in t["message"] for t in db.transactions())


def test_parallel_status_traffic_and_renewals(server):
    """Read-heavy traffic (63, 17, 99) mixed with renewals of the same loans stays correct."""
    global port
    port = server.port
    exp = server.db.export()
    loaned = [i for i in exp["items"] if i["borrower"] and not i["holds"] and i["renewals"] == 0
              and i["renewals_max"] >= 1 and i["status"] == "on_loan"][:5]
    assert len(loaned) == 5

    def work(i: int, cl: SipTestClient, sync) -> int:
        it = loaned[i % len(loaned)]
        renewed = 0
        for _ in range(3):
            cl.request(c.ScStatusRequest())
            info = cl.request(c.ItemInformationRequest(institution_id="DEMO", item_id=it["barcode"]))
            assert info.circulation_status == "04"
            r = cl.request(c.RenewRequest(institution_id="DEMO", patron_id=it["borrower"], item_id=it["barcode"]))
            renewed += r.ok
            pi = cl.request(c.PatronInformationRequest(summary="  Y       ", institution_id="DEMO",
                                                       patron_id=it["borrower"]))
            assert it["barcode"] in pi.charged_items
        return renewed

    renewed = sum(run_clients(CLIENTS, work))
    # each loan renews until its limit, whatever the interleaving
    limits = sum(min(i["renewals_max"], 3 * CLIENTS // len(loaned)) for i in loaned)
    assert renewed == limits
    for it in loaned:
        assert server.db.loan_of_item(it["barcode"]).renewals == it["renewals_max"]
