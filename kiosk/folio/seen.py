"""Shelf check over FOLIO: what the station needs to know about an item found on a shelf, and
marking it seen in the item record.

:meth:`ItemSeen.shelf_item` is ``item_information`` plus what a shelf check must not miss and the
SIP2 mapping loses: FOLIO's own status name where it maps to SIP2 "01 other" (``Withdrawn`` --
SIP2 has no code for it, the station reads the name, as it does Evergreen's screen message), and
the item's open requests not yet filled (``/circulation/requests``, folio.md §6) as the hold
queue: an available item a patron is waiting for is pulled from the shelf.  A set's
``numberOfPieces`` (item.json: "Used when an item is checked out or returned to verify that all
parts are present (e.g. 7 CDs in a set)") is passed on as "N pieces", which the station reads as
the number of parts to tag, as it reads the screen messages of SIP2 servers.

FOLIO's item schema has no "last inventoried" field.  The one date it keeps for "this item was
last scanned here" is ``lastCheckIn`` (``dateTime``, ``servicePointId``, ``staffMemberId``;
folio-org/mod-inventory-storage ``ramls/item.json``: "Information about when an item was last
scanned"), which ui-inventory shows on the item record as *Last check in* and which FOLIO sites
read as the item's last-seen date.  mod-inventory takes it from the body of an item PUT
(folio-org/mod-inventory ``src/main/java/org/folio/inventory/support/ItemUtil.java``,
``jsonToItem``: ``.withLastCheckIn(LastCheckIn.from(...))``), so the station sets it -- without
a check-in, which would close loans, fill holds and start transits the shelf check only reports.
The shelf label has no place there (``lastCheckIn`` allows no other properties); it stays in the
station's local record, which always has it.

The update is read-modify-write of the *whole* record as read (a PUT replaces the record;
leaving fields out would delete them), with the ``_version`` that was read: FOLIO's optimistic
locking answers **409** "Cannot update record <id> because it has been changed (optimistic
locking): Stored _version is N, _version of request is M" when someone saved the item in between
(RMB's ``OptimisticLockingException``).  Then the item is read again and the update sent once
more; a second 409 means the item is busy, and it is reported "not marked" rather than fought
over.  A lost reply is settled by reading the item back: our ``dateTime`` there = done.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from kiosk.appliance.privacy import mask
from kiosk.errors import IlsUnavailable, OutcomeUnknown
from kiosk.folio import cql
from kiosk.folio import records as rec
from kiosk.folio.refusals import missing_permission
from kiosk.ils.base import ItemInfo

log = logging.getLogger(__name__)

ITEM = "/inventory/items/{id}"


def seen_record(item: dict, when: datetime, service_point_id: str) -> dict:
    """The item as read, with ``lastCheckIn`` set to this shelf check (the rest untouched)."""
    body = dict(item)
    body["lastCheckIn"] = {"dateTime": rec.format_time(when), "servicePointId": service_point_id}
    return body


def _last_seen(item: dict | None) -> str:
    last = item.get("lastCheckIn") if isinstance(item, dict) else None
    return str(last.get("dateTime") or "") if isinstance(last, dict) else ""


class ItemSeen:
    """Mixed into :class:`~kiosk.folio.ils.FolioIls` (uses its ``http``, ``_item`` and ``_collection``)."""

    def _item_by_id(self, item_uuid: str) -> dict | None:
        rows = self._collection("/inventory/items", "items", cql.by_id(item_uuid), 1)   # type: ignore[attr-defined]
        return rows[0] if rows else None

    def shelf_item(self, item_id: str) -> ItemInfo:
        """The item for the shelf check (see the module docstring); ``known=False`` when unknown."""
        item = self._item(item_id)                       # type: ignore[attr-defined]
        if item is None or not item.get("id"):
            return rec.item_record(item_id, None, None)
        item_uuid = str(item["id"])
        loans = self._open_loans(item_uuid)              # type: ignore[attr-defined]
        info = rec.item_record(item_id, item, loans[0] if len(loans) == 1 else None)
        status = str((item.get("status") or {}).get("name") or "") if isinstance(item.get("status"), dict) else ""
        queue = 0
        if info.circulation_status == "03":
            requests = self._collection("/circulation/requests", "requests",   # type: ignore[attr-defined]
                                        cql.all_of(cql.exact("itemId", item_uuid), 'status="Open"'), 100)
            queue = sum(1 for r in requests if r.get("status") == "Open - Not yet filled")
        message = status if info.circulation_status == "01" else info.screen_message
        pieces = str(item.get("numberOfPieces") or "").strip()
        if pieces.isdigit() and int(pieces) > 1:     # a set: one tag per part when programming
            message = f"{message} {int(pieces)} pieces".strip()
        return replace(info, hold_queue_length=queue, screen_message=message)

    def mark_item_seen(self, item_id: str, shelf: str, when: datetime) -> bool:
        """Set the item's ``lastCheckIn`` to ``when`` at this kiosk's service point.

        True: FOLIO stored it.  False: FOLIO does not know the barcode, refused the update, or the
        record changed twice under us (409).  Raises IlsUnavailable / OutcomeUnknown when FOLIO
        could not be asked or did not answer (the station records "failed")."""
        item = self._item(item_id)                       # type: ignore[attr-defined]
        if item is None or not item.get("id"):
            return False
        item_uuid = str(item["id"])
        sp = self.service_point_id()                     # type: ignore[attr-defined]
        path = ITEM.format(id=item_uuid)
        for attempt in range(2):
            body = seen_record(item, when, sp)
            try:
                reply = self.http.call("PUT", path, body=body)   # type: ignore[attr-defined]
            except OutcomeUnknown:
                # PUT carries the _version read: a resend after a stored update would only get a
                # 409.  Read it back instead; our dateTime there settles it.
                item = self._item_by_id(item_uuid)
                if _last_seen(item) == body["lastCheckIn"]["dateTime"]:
                    return True
                if item is None or attempt == 1:
                    raise
                continue
            if reply.status in (200, 204):
                return True
            if reply.status == 409:
                log.info("item %s changed while being marked seen (409, attempt %d): %s", mask(item_id),
                         attempt + 1, reply.text[:160])
                if attempt == 1:
                    return False
                item = self._item_by_id(item_uuid)        # once more with the record as it is now
                if item is None:
                    return False
                continue
            if reply.status in (401, 403) or missing_permission(reply.text):
                raise self._denied(reply, f"marking item {mask(item_id)} seen")   # type: ignore[attr-defined]
            if reply.status >= 500:
                raise IlsUnavailable(f"FOLIO PUT {ITEM}: HTTP {reply.status} {reply.text[:160]}")
            log.warning("FOLIO refused marking item %s seen on shelf %s: HTTP %d %s", mask(item_id), shelf,
                        reply.status, reply.text[:160])
            return False
        return False
