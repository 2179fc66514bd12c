"""Fee and hold messages: fee paid (37/38), hold (15/16).

Account actions beyond circulation: paying a fee and placing or cancelling a hold.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.sip2.record import Message, fixed, message, var

__all__ = ["FeePaidRequest", "FeePaidResponse", "HoldRequest", "HoldResponse"]

T = tuple[str, ...]   # a repeatable field's values


@message("37", "request")
class FeePaidRequest(Message):
    transaction_date: datetime | None = fixed(18, "date")
    fee_type: str = fixed(2, default="01")
    payment_type: str = fixed(2, default="00")        # 00 cash, 01 VISA, 02 credit card
    currency_type: str = fixed(3, default="USD")
    fee_amount: str = var("BV", "req")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    terminal_password: str | None = var("AC")
    patron_password: str | None = var("AD")
    fee_identifier: str | None = var("CG")
    transaction_id: str | None = var("BK")


@message("38", "response")
class FeePaidResponse(Message):
    payment_accepted: bool | None = fixed(1, "yn", default=False)
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    transaction_id: str | None = var("BK")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")


@message("15", "request")
class HoldRequest(Message):
    hold_mode: str = fixed(1, default="+")            # + add, - delete, * change
    transaction_date: datetime | None = fixed(18, "date")
    expiration_date: str | None = var("BW")
    pickup_location: str | None = var("BS")
    hold_type: str | None = var("BY")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    patron_password: str | None = var("AD")
    item_id: str | None = var("AB")
    title: str | None = var("AJ")
    terminal_password: str | None = var("AC")
    fee_acknowledged: bool | None = var("BO", "yn")


@message("16", "response")
class HoldResponse(Message):
    ok: bool = fixed(1, "01", default=False)
    available: bool | None = fixed(1, "yn", default=False)
    transaction_date: datetime | None = fixed(18, "date")
    expiration_date: str | None = var("BW")
    queue_position: str | None = var("BR")
    pickup_location: str | None = var("BS")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    item_id: str | None = var("AB")
    title: str | None = var("AJ")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")
