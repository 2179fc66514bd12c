"""The demo FOLIO face's reads: the ``GET`` collections a kiosk asks for (folio.md §2, §6).

``/users``, ``/inventory/items``, ``/circulation/loans``, ``/circulation/requests``,
``/accounts``, ``/manualblocks``, ``/service-points`` with the CQL subset of
:func:`kiosk.demo_ils.folio_model.parse_cql` and RMB's paging (``limit``, default 10;
``totalRecords``), and ``/automated-patron-blocks/<user id>``.  Every record comes from
:class:`~kiosk.demo_ils.folio_model.FolioView` over one database snapshot.

Apart from :mod:`kiosk.demo_ils.folio_http` (the gateway: tenant, tokens, permissions, faults)
because these only look: nothing here changes the library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.demo_ils import rules
from kiosk.demo_ils.folio_model import SERVICE_POINTS, literal, matches, parse_cql, sp_id

if TYPE_CHECKING:
    from kiosk.demo_ils.folio_http import FolioDemoServer


def read(app: FolioDemoServer, route: str, path: str, q: dict) -> tuple:
    """(status, json body, text body, headers) for ``GET path?q``; ``route`` is the path's route."""
    v, db = app.view, app.db
    clauses = parse_cql(q.get("query", "")) if q.get("query") else []
    limit = int(q.get("limit", "10"))           # RMB's default page size is 10
    with db.snapshot():
        if route == "/automated-patron-blocks":
            card = v.card_of(path.rsplit("/", 1)[1])
            return 200, {"automatedPatronBlocks": v.automated_blocks_of(card) if card else []}, None, None
        card, barcode = literal(clauses, "barcode"), literal(clauses, "barcode")
        by_id = literal(clauses, "id")
        if route == "/users" and by_id:
            card = v.card_of(by_id) or ""
        if route == "/inventory/items" and by_id:
            barcode = v.barcode_of(by_id) or ""
        key, rows = {
            "/users": ("users", lambda: [v.user(card)] if card is not None else
                       [v.user(r["card"]) for r in db.query("SELECT card FROM patrons")]),
            "/inventory/items": ("items", lambda: [v.item(barcode)] if barcode is not None else
                                 [v.item(r["barcode"]) for r in db.query("SELECT barcode FROM items")]),
            "/circulation/loans": ("loans", lambda: _loans(app, clauses)),
            "/circulation/requests": ("requests", lambda: [r for row in db.query("SELECT card FROM patrons")
                                                           for r in v.requests_of(row["card"])]),
            "/accounts": ("accounts", lambda: [a for row in db.query("SELECT card FROM patrons")
                                               for a in v.accounts_of(row["card"])]),
            "/manualblocks": ("manualblocks", lambda: [b for row in db.query("SELECT card FROM patrons")
                                                       for b in v.manual_blocks_of(row["card"])]),
            "/service-points": ("servicepoints", lambda: [
                {"id": sp_id(b), "code": code, "name": rules.BRANCH_NAMES[b], "discoveryDisplayName":
                 rules.BRANCH_NAMES[b], "pickupLocation": True} for b, code in SERVICE_POINTS.items()]),
        }[route]
        found = [r for r in rows() if r is not None and matches(r, clauses)]
    return 200, {key: found[:limit], "totalRecords": len(found)}, None, None


def _loans(app: FolioDemoServer, clauses: list) -> list[dict]:
    """Loan storage knows itemId/userId, not barcodes (folio.md §6): narrow by them first."""
    v = app.view
    fields = {f: p for f, op, p in clauses if op == "=="}
    card = v.card_of(fields["userId"].replace("\\", "")) if "userId" in fields else None
    barcode = v.barcode_of(fields["itemId"].replace("\\", "")) if "itemId" in fields else None
    if ("userId" in fields and card is None) or ("itemId" in fields and barcode is None):
        return []
    if fields.get("status.name") == "Open" or card or barcode:
        loans = v.open_loans(card=card, barcode=barcode)
        if fields.get("status.name") != "Open":
            ids = app.db.query("SELECT id FROM loans WHERE returned_at IS NOT NULL"
                               + (" AND card = ?" if card else "") + (" AND barcode = ?" if barcode else ""),
                               tuple(x for x in (card, barcode) if x))
            loans += [v.loan(r["id"]) for r in ids]
        return loans
    return [v.loan(r["id"]) for r in app.db.query("SELECT id FROM loans")]
