"""The demo FOLIO face's item update: ``PUT /inventory/items/{id}`` (mod-inventory), as far as a
staff station's shelf check uses it -- the item's ``lastCheckIn`` (kiosk/folio/seen.py says why
that field).

What it does like FOLIO: 404 for an unknown id; the body's ``id`` must match the path (400);
``lastCheckIn`` allows ``dateTime``, ``servicePointId``, ``staffMemberId`` only (422, item.json
``additionalProperties: false``); optimistic locking on ``_version`` -- a stale or missing
version gets **409** with RMB's text ("Cannot update record <id> because it has been changed
(optimistic locking): Stored _version is N, _version of request is M"); success is **204**, no
body, and the version goes up by one.  What it does not: the other fields of the body are
accepted and not stored (the demo's items live in the SIP2 library's tables); the seen date goes
to the ``item_seen`` table the SIP2 19 handler writes.
"""

from __future__ import annotations

from typing import Any

from kiosk.demo_ils.folio_model import error, parse_folio_time

LAST_CHECK_IN_KEYS = frozenset({"dateTime", "servicePointId", "staffMemberId"})


def put_item(app: Any, item_uuid: str, body: dict, *, conflict: bool = False) -> tuple:
    """(status, json body, text body, headers) for ``PUT /inventory/items/<item_uuid>``.

    ``conflict``: another client saves the item just before this request (a test fault)."""
    view, library = app.view, app.library
    barcode = view.barcode_of(item_uuid)
    if barcode is None:
        return 404, None, "Not found", None
    if str(body.get("id") or item_uuid) != item_uuid:
        return 400, None, "The id in the body does not match the id in the path", None
    with app._lock:
        if conflict:
            view.versions[barcode] = view.versions.get(barcode, 1) + 1
        stored = view.versions.get(barcode, 1)
        sent = body.get("_version")
        if sent != stored:
            return 409, None, (f"Cannot update record {item_uuid} because it has been changed (optimistic "
                               f"locking): Stored _version is {stored}, _version of request is "
                               f"{'null' if sent is None else sent}"), None
        last = body.get("lastCheckIn")
        if last is not None:
            if not isinstance(last, dict) or set(last) - LAST_CHECK_IN_KEYS:
                return 422, {"errors": [error("Unrecognized field in lastCheckIn", {"lastCheckIn": last})]}, None, None
            when = parse_folio_time(last.get("dateTime"))
            if when is None:
                return 422, {"errors": [error("lastCheckIn.dateTime must be a date-time",
                                              {"lastCheckIn.dateTime": last.get("dateTime")})]}, None, None
            previous = view.item(barcode).get("lastCheckIn", {}).get("dateTime")
            if last.get("dateTime") != previous:
                library.record_item_seen(barcode, when, terminal="folio",
                                         note=f"lastCheckIn {last.get('dateTime')} servicePoint "
                                              f"{last.get('servicePointId') or ''}".strip())
        view.versions[barcode] = stored + 1
    return 204, None, None, None
