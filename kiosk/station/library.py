"""What the station asks the library system: look an item up, and report it seen on a shelf.

Over SIP2 (``SipIls``) the station sends its own Item Information (17) so it can read the fields
the circulation engine does not keep: BG owner (the item's home branch in Koha and Evergreen,
``ILS/Item.pm`` ``owner``), AQ permanent location, CK media type, CF hold queue length, and the
screen messages, where some servers -- and the demo library -- say how many parts a set has.
Seen items are reported with Item Status Update (19/20), but only when the server's ACS status
(98, BX position 12) says it supports that message: Koha's sample configuration does not (sip2.md
1.5, ``YYYYYYYYYYYNYYYY``), and sending a 19 it ignores would claim a "seen" that was not recorded.

Any other :class:`~kiosk.ils.base.Ils` (FOLIO, the test doubles) is asked through the interface
(``item_information``, and ``item_status_update``/``mark_item_seen`` when it has one).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.station.program import ItemRecord, parts_from_text

log = logging.getLogger(__name__)

SEEN_YES, SEEN_NO, SEEN_UNSUPPORTED, SEEN_FAILED = "yes", "no", "unsupported", "failed"
SEEN_PENDING = "pending"     # recorded locally, the library system not asked yet (or a crash in between)


class StationLibrary:
    """The station's view of the library system; thread-safe (the ILS pool is)."""

    def __init__(self, ils: Any) -> None:
        self.ils = ils
        self._supports_19: bool | None = None
        self._lock = threading.Lock()

    @property
    def _sip(self) -> bool:
        return hasattr(self.ils, "pool") and hasattr(self.ils, "institution")

    def lookup(self, item_id: str) -> ItemRecord:
        """The item as the library system describes it; ``known=False`` when it does not know it."""
        if not self._sip:
            # FOLIO's adapter has a fuller look-up for the shelf check (status name, open requests)
            info = getattr(self.ils, "shelf_item", self.ils.item_information)(item_id)
            return ItemRecord(item_id=item_id, known=info.known, title=info.title, media_type=info.media_type,
                              parts=parts_from_text(info.screen_message) or 1,
                              home_branch=getattr(info, "owner", "") or "",
                              permanent_location=info.permanent_location,
                              circulation_status=info.circulation_status,
                              hold_queue_length=info.hold_queue_length, borrower=info.patron_id,
                              screen_message=info.screen_message)
        from kiosk.sip2.codec import ItemInformationRequest, ItemInformationResponse

        ils = self.ils
        r = ils.pool.request(ItemInformationRequest(transaction_date=datetime.now().replace(microsecond=0),
                                                    institution_id=ils.institution, item_id=item_id,
                                                    terminal_password=getattr(ils, "terminal_password", "")))
        if not isinstance(r, ItemInformationResponse):
            raise ProtocolError(f"expected ItemInformationResponse, got {type(r).__name__}")
        status = r.circulation_status.strip()
        known = not (status in ("", "00", "01") and not r.title)
        messages = " ".join(r.screen_messages)
        try:
            queue = int((r.hold_queue_length or "0").strip() or 0)
        except ValueError:
            queue = 0
        return ItemRecord(item_id=r.item_id or item_id, known=known, title=r.title or "",
                          media_type=(r.media_type or "").strip(),
                          parts=parts_from_text(messages, r.item_properties or "") or 1,
                          home_branch=(r.owner or "").strip(), permanent_location=(r.permanent_location or "").strip(),
                          circulation_status=status, hold_queue_length=queue, borrower=r.patron_id or "",
                          screen_message=messages)

    def supports_seen(self) -> bool:
        """Whether the library system records items as seen (SIP2: BX 'item status update')."""
        if not self._sip:
            return callable(getattr(self.ils, "mark_item_seen", None))
        with self._lock:
            if self._supports_19 is None:
                from kiosk.sip2.messages import SUPPORTED_MESSAGES

                flags = self.ils.status().supported or ""
                i = SUPPORTED_MESSAGES.index("item status update")
                self._supports_19 = flags[i:i + 1].upper() == "Y"
            return self._supports_19

    def mark_seen(self, item_id: str, shelf: str, when: datetime | None = None) -> str:
        """Report the item seen on ``shelf``; returns yes / no (refused) / unsupported / failed."""
        when = (when or datetime.now()).replace(microsecond=0)
        try:
            if not self.supports_seen():
                return SEEN_UNSUPPORTED
            if not self._sip:
                return SEEN_YES if self.ils.mark_item_seen(item_id, shelf, when) else SEEN_NO
            from kiosk.sip2.codec import ItemStatusUpdateRequest, ItemStatusUpdateResponse

            ils = self.ils
            # CH is free text the server stores as the item's properties (Koha/Evergreen keep it,
            # the demo library also records the seen date); say what happened and where.
            props = f"inventory seen {when:%Y-%m-%d %H:%M} shelf {shelf}"
            r = ils.pool.request(ItemStatusUpdateRequest(
                transaction_date=when, institution_id=ils.institution, item_id=item_id,
                terminal_password=getattr(ils, "terminal_password", ""), item_properties=props))
            if not isinstance(r, ItemStatusUpdateResponse):
                raise ProtocolError(f"expected ItemStatusUpdateResponse, got {type(r).__name__}")
            return SEEN_YES if r.item_properties_ok.strip() == "1" else SEEN_NO
        except (IlsUnavailable, OutcomeUnknown, ProtocolError) as exc:
            log.warning("item %s could not be reported seen: %s", item_id, exc)
            return SEEN_FAILED

    def check_in(self, item_id: str) -> tuple[bool, str]:
        """Staff check in an item found on the shelf (the shelf check's offer): (done, the library
        system's words -- hold shelf, transit destination, or why not)."""
        try:
            r = self.ils.checkin(item_id, return_date=datetime.now().replace(microsecond=0))
        except (IlsUnavailable, OutcomeUnknown, ProtocolError) as exc:
            log.warning("station check-in of item %s failed: %s", item_id, exc)
            return False, str(exc)
        where = r.destination or ""
        text = " ".join(x for x in (r.screen_message, where) if x)
        log.info("station check-in of item %s: %s %s", item_id, "ok" if r.ok else "refused", text)
        return r.ok, text
