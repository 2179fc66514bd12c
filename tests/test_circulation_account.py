"""The account screen's data: loans and ready holds looked up with Item Information, live, in parallel."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest

from kiosk import config
from kiosk.circulation import account
from kiosk.circulation import view as v
from kiosk.circulation.journal import Journal
from kiosk.circulation.memory_ils import MemItem, MemoryIls, MemPatron
from kiosk.circulation.service import KioskService
from kiosk.ils.base import ItemInfo, Loan, Patron

CARD = "23529000445172"
NOW = datetime.now().replace(microsecond=0)


class CountingIls(MemoryIls):
    """Records how many Item Information requests are in flight at once."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.in_flight = 0
        self.max_in_flight = 0
        self._count_lock = threading.Lock()

    def item_information(self, item_id: str) -> ItemInfo:
        with self._count_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return super().item_information(item_id)
        finally:
            with self._count_lock:
                self.in_flight -= 1


def library(latency_s: float = 0.0) -> CountingIls:
    items = [MemItem("LATE", title="Overdue Owl", borrower=CARD, due=NOW - timedelta(days=3)),
             MemItem("SOON", title="Soon Sparrow", borrower=CARD, due=NOW + timedelta(days=2)),
             MemItem("LATER", title="Later Lark", borrower=CARD, due=NOW + timedelta(days=20)),
             MemItem("BROKEN", title="Broken Bittern", borrower=CARD, due=NOW + timedelta(days=9)),
             MemItem("WAITING", title="Waiting Wren", hold_for=CARD)]
    for n in range(8):
        items.append(MemItem(f"X{n}", title=f"Extra {n}", borrower=CARD, due=NOW + timedelta(days=30 + n)))
    ils = CountingIls([MemPatron(CARD, "Alice Example", email="alice@example.org")], items, latency_s=latency_s)
    ils.ids_only = True              # like SIP2 64: item ids only
    ils.item_info_fails = {"BROKEN"}
    return ils


@pytest.fixture
def service(tmp_path):
    made = []

    def build(ils, pool_size=3):
        settings = config.load(None, [f"storage.data_dir={tmp_path}", f"ils.pool_size={pool_size}"])
        journal = Journal(settings.data_dir / "journal.sqlite3")
        views: list[v.SessionView] = []
        svc = KioskService(settings, ils, journal, views.append, clock=time.time)
        made.append((svc, journal))
        return svc, views
    yield build
    for svc, journal in made:
        svc.close()
        journal.close()


def open_account(svc) -> v.PatronSummary:
    svc.start("account")
    svc.card_presented(CARD)
    assert svc.wait_idle(10)
    assert svc.view().state == v.IDENTIFIED
    return svc.view().patron


def test_titles_due_dates_and_overdue_are_looked_up_and_sorted(service):
    ils = library()
    svc, views = service(ils)
    patron = open_account(svc)
    assert patron.details_pending == 0
    by_id = {lo.item_id: lo for lo in patron.loans}
    assert by_id["SOON"].title == "Soon Sparrow" and by_id["SOON"].due_date == NOW + timedelta(days=2)
    assert by_id["LATE"].overdue and not by_id["SOON"].overdue
    assert patron.overdue_count == 1
    # a failed lookup keeps the barcode as the fallback: no title, no due date, still listed
    assert by_id["BROKEN"].title == "" and by_id["BROKEN"].due_date is None
    # overdue first, then soonest due; unknown due date last
    order = [lo.item_id for lo in patron.loans]
    assert order[:3] == ["LATE", "SOON", "LATER"] and order[-1] == "BROKEN"
    assert [h.title for h in patron.holds_ready_items] == ["Waiting Wren"]
    assert patron.holds_ready == ("Waiting Wren",)
    assert patron.email == "alice@example.org"
    looked_up = [c[1] for c in ils.calls if c[0] == "item_information"]
    assert sorted(looked_up) == sorted(list(by_id) + ["WAITING"])    # each exactly once


def test_lookups_stream_in_parallel_but_bounded(service):
    ils = library(latency_s=0.05)
    svc, views = service(ils, pool_size=3)
    open_account(svc)
    assert 1 < ils.max_in_flight <= 3 - 1          # parallel, one connection left for renewals
    filled = [sum(1 for lo in view.patron.loans if lo.title) for view in views
              if view.patron is not None and view.session_id == svc.view().session_id]
    # the screen got partial accounts while the lookups ran (streamed, not all at the end)
    assert filled[0] == 0 and filled[-1] == len(ils.items) - 2
    assert len(set(filled)) > 3


def test_renewal_updates_the_due_date_shown(service):
    ils = library()
    svc, _ = service(ils)
    open_account(svc)
    before = {lo.item_id: lo for lo in svc.view().patron.loans}["LATE"]
    svc.renew("LATE")
    assert svc.wait_idle(10)
    after = {lo.item_id: lo for lo in svc.view().patron.loans}["LATE"]
    assert after.due_date == ils.items["LATE"].due and after.due_date > before.due_date
    assert not after.overdue and svc.view().patron.overdue_count == 0
    # Item Information confirmed it after the renewal (a second lookup of that item)
    assert sum(1 for c in ils.calls if c[:2] == ("item_information", "LATE")) == 2


def test_unreachable_library_stops_lookups_and_keeps_barcodes(service):
    ils = library()
    svc, _ = service(ils, pool_size=2)
    svc.start("account")
    svc.card_presented(CARD)
    ils.item_info_fails = set()

    original = ils.item_information

    def down(item_id):
        ils.down = True
        return original(item_id)
    ils.item_information = down
    assert svc.wait_idle(10)
    patron = svc.view().patron
    assert patron is not None and patron.details_pending == 0
    assert all(lo.title == "" for lo in patron.loans)
    assert sum(1 for c in ils.calls if c[0] == "item_information") == 0   # refused before it was recorded


def test_borrow_sessions_do_not_look_up_loans(service):
    ils = library()
    svc, _ = service(ils)
    svc.card_presented(CARD)
    assert svc.wait_idle(10)
    assert svc.view().state == v.IDENTIFIED
    assert not [c for c in ils.calls if c[0] == "item_information"]


def test_lookups_after_the_patron_left_are_ignored(service):
    ils = library(latency_s=0.05)
    svc, _ = service(ils, pool_size=2)
    svc.start("account")
    svc.card_presented(CARD)
    time.sleep(0.12)
    svc.cancel()
    assert svc.wait_idle(10)
    assert svc.view().patron is None
    # stopped early: not every loan was asked for once the session ended
    assert sum(1 for c in ils.calls if c[0] == "item_information") < len(ils.items)


def test_pure_helpers():
    p = Patron("C", valid=True, loans=(Loan("A"), Loan("B", title="Bee", due_date=NOW)), overdue_items=("A",))
    assert account.needs_details(p) == ("A",)
    info = ItemInfo("A", title="Ant", due_date=NOW + timedelta(days=1), due="tomorrow")
    q = account.with_item_info(p, info, NOW)
    assert q.loans[0].title == "Ant" and q.loans[0].overdue          # the ILS listed it as overdue
    assert account.with_item_info(q, info, NOW) is q                    # nothing new
    assert account.with_item_info(p, ItemInfo("A", known=False), NOW) is p
    r = account.with_renewal(q, "A", due_date=NOW + timedelta(days=21), due="")
    assert not r.loans[0].overdue and r.overdue_items == ()
    assert [lo.item_id for lo in account.loan_order(q.loans, q.overdue_items)] == ["A", "B"]
