"""Item messages: item information (17/18) and item status update (19/20).

What the library system knows about one item (status, title, due date, current borrower), and the
station's inventory updates; read-only except 19.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.sip2.record import Message, fixed, message, var

__all__ = ["ItemInformationRequest", "ItemInformationResponse", "ItemStatusUpdateRequest", "ItemStatusUpdateResponse"]

T = tuple[str, ...]   # a repeatable field's values


@message("17", "request")
class ItemInformationRequest(Message):
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    item_id: str = var("AB", "req")
    terminal_password: str | None = var("AC")


@message("18", "response")
class ItemInformationResponse(Message):
    circulation_status: str = fixed(2, default="01")
    security_marker: str = fixed(2, default="02")
    fee_type: str = fixed(2, default="01")
    transaction_date: datetime | None = fixed(18, "date")
    hold_queue_length: str | None = var("CF")
    due_date: str | None = var("AH")
    recall_date: str | None = var("CJ")
    hold_pickup_date: str | None = var("CM")
    item_id: str = var("AB", "req")
    title: str = var("AJ", "req")
    owner: str | None = var("BG")
    currency_type: str | None = var("BH")
    fee_amount: str | None = var("BV")
    media_type: str | None = var("CK")
    permanent_location: str | None = var("AQ")
    current_location: str | None = var("AP")
    item_properties: str | None = var("CH")
    # Not in the spec: the current borrower, sent by some servers (and the demo library system).
    # Lets an unknown checkout outcome be resolved without guessing.
    patron_id: str | None = var("AA")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")


@message("19", "request")
class ItemStatusUpdateRequest(Message):
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    item_id: str = var("AB", "req")
    terminal_password: str | None = var("AC")
    item_properties: str = var("CH", "req")


@message("20", "response")
class ItemStatusUpdateResponse(Message):
    item_properties_ok: str = fixed(1, default="0")
    transaction_date: datetime | None = fixed(18, "date")
    item_id: str = var("AB", "req")
    title: str | None = var("AJ")
    item_properties: str | None = var("CH")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")
