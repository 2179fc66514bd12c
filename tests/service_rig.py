"""The rig of the in-process no-loss tests, over either protocol (tests/test_crash_network.py for
SIP2, tests/test_crash_folio.py for FOLIO): the real KioskService, library-system client and
journal, talking to a demo library server through a :class:`~tests.fault_proxy.FaultProxy`;
the pickers of patrons and items from the library's export; and the one scenario both protocols
start from, work taken while the library system is away.

Apart from tests/test_crash_harness.py, which is the kill -9 harness (a worker process, a plan,
the checks of its acknowledgements); this is the in-process side the two test files share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk import config
from kiosk.circulation import view as v
from kiosk.circulation.journal import Journal
from kiosk.circulation.service import KioskService
from tests.fault_proxy import FaultProxy
from tests.test_crash_harness import ROOT


def available(export: dict, n: int, skip: int = 0) -> list[str]:
    """``n`` plain available items (no holds, one part, no scenario of their own)."""
    items = [i["barcode"] for i in export["items"]
             if i["status"] == "available" and not i["holds"] and i["parts"] == 1 and not i["scenario"]]
    return items[skip:skip + n]


def on_loan(export: dict, n: int) -> list[tuple[str, str]]:
    """``n`` items on loan without holds, with their borrower."""
    return [(i["barcode"], i["borrower"]) for i in export["items"] if i["status"] == "on_loan" and not i["holds"]][:n]


def patron(export: dict, index: int = 0) -> str:
    """A patron in good standing who may borrow and has nothing on loan."""
    return [p["card"] for p in export["patrons"] if p["status"] == "ok" and p["can_checkout"] and not p["loans"]][index]


def lines(svc: Any) -> dict:
    """The session's lines by item id."""
    return {line.item_id: line for line in svc.view().items}


def exactly_once_checkout(db: Any, item: str, card: str) -> bool:
    return len([t for t in db.checkouts_of(item) if t["card"] == card]) == 1 and len(db.checkouts_of(item)) == 1


class ServiceRig:
    """``server`` (a started demo library server, SIP2 or FOLIO) behind a fresh FaultProxy;
    :meth:`build` makes a kiosk service talking to it (``ils_sets(proxy_port)`` are the ``[ils]``
    assignments that point the kiosk there); :meth:`close` closes every one, the proxy and the server."""

    def __init__(self, tmp_path: Path, server: Any, ils_from_settings: Callable[[Any], Any],
                 ils_sets: Callable[[int], list[str]]) -> None:
        self.tmp_path, self.server = tmp_path, server
        self.proxy = FaultProxy(server.port)
        self.export = server.db.export()
        self.ils_from_settings = ils_from_settings
        self.ils_sets = ils_sets(self.proxy.port)
        self.made: list[tuple[Any, Any, Any]] = []

    def build(self, policy: str = "returns+checkouts", sets: Sequence[str] = ()) -> tuple[Any, Any, Any]:
        """(service, journal, ils) with the offline ``policy`` and more ``sets`` assignments."""
        settings = config.load(ROOT / "config" / "demo.toml", [
            *self.ils_sets, f"storage.data_dir={self.tmp_path / 'kiosk'}", f"kiosk.offline_policy={policy}",
            "offline.validate_cards=false", "ils.pool_size=4", *sets])
        ils = self.ils_from_settings(settings)
        journal = Journal(settings.data_dir / "journal.sqlite3")
        svc = KioskService(settings, ils, journal, None)
        self.made.append((svc, ils, journal))
        return svc, journal, ils

    def close(self) -> None:
        for svc, ils, journal in self.made:
            svc.close()
            ils.close()
            journal.close()
        self.proxy.close()
        self.server.stop()


def work_while_library_down(svc: Any, proxy: Any, export: dict, n: int,
                            wait_s: float) -> tuple[str, list[str], list[tuple[str, str]], datetime]:
    """A patron identified online; then the library system goes away mid-session: ``n`` checkouts,
    and a return session of ``n`` loans.  Every item is shown done and journaled (asserted here).
    Returns (card, checked-out items, (returned item, borrower), when the returns began)."""
    card = patron(export)
    svc.card_presented(card)                      # online: identified
    svc.wait_idle(20)
    proxy.set_down(True)                          # the library system goes away mid-session
    outs = available(export, n)
    for item in outs:
        svc.item_seen(item, source="barcode")
    svc.wait_idle(wait_s)
    assert all(lines(svc)[i].state == v.DONE and lines(svc)[i].journaled for i in outs)
    svc.finish("none")
    svc.wait_idle(20)
    svc.tick(svc.clock() + 10)
    returns = on_loan(export, n)
    svc.start("return")
    before = datetime.now().replace(microsecond=0)
    for item, _ in returns:
        svc.item_seen(item, source="barcode")
    svc.wait_idle(wait_s)
    assert all(lines(svc)[i].state == v.DONE and lines(svc)[i].journaled for i, _ in returns)
    return card, outs, returns, before


def return_each_exactly_once(svc: Any, db: Any, items: list[str]) -> None:
    """A return session of ``items``: each is shown done, checked in once, and off loan."""
    svc.tick(svc.clock() + 10)
    svc.start("return")
    for item in items:
        svc.item_seen(item, source="barcode")
    svc.wait_idle(60)
    for item in items:
        assert lines(svc)[item].state == v.DONE
        assert len(db.checkins_of(item)) == 1 and db.loan_of_item(item) is None
