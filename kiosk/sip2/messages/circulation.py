"""Circulation messages: checkout (11/12), checkin (09/10), renew (29/30), renew all (65/66).

The transactions a kiosk exists for; each changes the library's records, which is why the client
never resends them blindly (kiosk/sip2/client.py).
"""

from __future__ import annotations

from datetime import datetime

from kiosk.sip2.record import Message, fixed, message, var

__all__ = ["CheckoutRequest", "CheckoutResponse", "CheckinRequest", "CheckinResponse", "RenewRequest", "RenewResponse", "RenewAllRequest", "RenewAllResponse"]

T = tuple[str, ...]   # a repeatable field's values


@message("11", "request")
class CheckoutRequest(Message):
    sc_renewal_policy: bool | None = fixed(1, "yn", default=False)
    no_block: bool | None = fixed(1, "yn", default=False)
    transaction_date: datetime | None = fixed(18, "date")
    nb_due_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    item_id: str = var("AB", "req")
    terminal_password: str = var("AC", "req")
    item_properties: str | None = var("CH")
    patron_password: str | None = var("AD")
    fee_acknowledged: bool | None = var("BO", "yn")
    cancel: bool | None = var("BI", "yn")


@message("12", "response")
class CheckoutResponse(Message):
    ok: bool = fixed(1, "01", default=False)
    renewal_ok: bool | None = fixed(1, "yn", default=False)
    magnetic_media: bool | None = fixed(1, "yn")     # None = 'U' unknown
    desensitize: bool | None = fixed(1, "yn")
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    item_id: str = var("AB", "req")
    title: str = var("AJ", "req")
    due_date: str = var("AH", "req")                  # free text (sip2.md 1.3): see parse_due_date
    fee_type: str | None = var("BT")
    security_inhibit: bool | None = var("CI", "yn")
    currency_type: str | None = var("BH")
    fee_amount: str | None = var("BV")
    media_type: str | None = var("CK")
    item_properties: str | None = var("CH")
    transaction_id: str | None = var("BK")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")


@message("09", "request")
class CheckinRequest(Message):
    no_block: bool | None = fixed(1, "yn", default=False)
    transaction_date: datetime | None = fixed(18, "date")
    return_date: datetime | None = fixed(18, "date")
    current_location: str = var("AP", "req")
    institution_id: str = var("AO", "req")
    item_id: str = var("AB", "req")
    terminal_password: str = var("AC", "req")
    item_properties: str | None = var("CH")
    cancel: bool | None = var("BI", "yn")


@message("10", "response")
class CheckinResponse(Message):
    ok: bool = fixed(1, "01", default=False)
    resensitize: bool | None = fixed(1, "yn")
    magnetic_media: bool | None = fixed(1, "yn")
    alert: bool | None = fixed(1, "yn", default=False)
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    item_id: str = var("AB", "req")
    permanent_location: str | None = var("AQ")         # spec: required; Koha omits it for bad items
    title: str | None = var("AJ")
    sort_bin: str | None = var("CL")
    patron_id: str | None = var("AA")
    media_type: str | None = var("CK")
    item_properties: str | None = var("CH")
    # 3M extensions (sip2.md 1.5): CV alert type (01 hold here, 02 hold elsewhere, 04 transfer,
    # 99 other, Koha's 98 data corrupted), CT destination, CY/DA hold patron.
    collection_code: str | None = var("CR")
    call_number: str | None = var("CS")
    destination_location: str | None = var("CT")
    alert_type: str | None = var("CV")
    hold_patron_id: str | None = var("CY")
    hold_patron_name: str | None = var("DA")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")


@message("29", "request")
class RenewRequest(Message):
    third_party_allowed: bool | None = fixed(1, "yn", default=False)
    no_block: bool | None = fixed(1, "yn", default=False)
    transaction_date: datetime | None = fixed(18, "date")
    nb_due_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    patron_password: str | None = var("AD")
    item_id: str | None = var("AB")
    title: str | None = var("AJ")
    terminal_password: str | None = var("AC")
    item_properties: str | None = var("CH")
    fee_acknowledged: bool | None = var("BO", "yn")


@message("30", "response")
class RenewResponse(CheckoutResponse):
    """30: same layout as the checkout response (12)."""


@message("65", "request")
class RenewAllRequest(Message):
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    patron_password: str | None = var("AD")
    terminal_password: str | None = var("AC")
    fee_acknowledged: bool | None = var("BO", "yn")


@message("66", "response")
class RenewAllResponse(Message):
    ok: bool = fixed(1, "01", default=False)
    renewed_count: int | None = fixed(4, "count", default=0)
    unrenewed_count: int | None = fixed(4, "count", default=0)
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    renewed_items: T = var("BM", "list")
    unrenewed_items: T = var("BN", "list")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")
