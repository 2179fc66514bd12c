"""Patron messages: status (23/24), information (63/64), end session (35/36), block (01), enable (25/26).

Who the patron is and what their account allows: asked when a card is read, for the account
page, and when the session ends.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.sip2.record import Message, fixed, message, var

__all__ = ["PatronStatusRequest", "PatronStatusResponse", "PatronInformationRequest", "PatronInformationResponse", "EndPatronSessionRequest", "EndPatronSessionResponse", "BlockPatronRequest", "PatronEnableRequest", "PatronEnableResponse"]

T = tuple[str, ...]   # a repeatable field's values


@message("23", "request")
class PatronStatusRequest(Message):
    language: str = fixed(3, default="000")
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    terminal_password: str = var("AC", "req")
    patron_password: str = var("AD", "req")


@message("24", "response")
class PatronStatusResponse(Message):
    patron_status: str = fixed(14)
    language: str = fixed(3, default="000")
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    personal_name: str = var("AE", "req")
    valid_patron: bool | None = var("BL", "yn")
    valid_patron_password: bool | None = var("CQ", "yn")
    currency_type: str | None = var("BH")
    fee_amount: str | None = var("BV")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")


@message("63", "request")
class PatronInformationRequest(Message):
    language: str = fixed(3, default="000")
    transaction_date: datetime | None = fixed(18, "date")
    summary: str = fixed(10)     # one 'Y' at a SUMMARY_POSITIONS index asks for that item list
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    terminal_password: str | None = var("AC")
    patron_password: str | None = var("AD")
    start_item: str | None = var("BP")
    end_item: str | None = var("BQ")


@message("64", "response")
class PatronInformationResponse(Message):
    patron_status: str = fixed(14)
    language: str = fixed(3, default="000")
    transaction_date: datetime | None = fixed(18, "date")
    hold_items_count: int | None = fixed(4, "count")     # blanks = not supported
    overdue_items_count: int | None = fixed(4, "count")
    charged_items_count: int | None = fixed(4, "count")
    fine_items_count: int | None = fixed(4, "count")
    recall_items_count: int | None = fixed(4, "count")
    unavailable_holds_count: int | None = fixed(4, "count")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    personal_name: str = var("AE", "req")
    hold_items_limit: str | None = var("BZ")
    overdue_items_limit: str | None = var("CA")
    charged_items_limit: str | None = var("CB")
    valid_patron: bool | None = var("BL", "yn")
    valid_patron_password: bool | None = var("CQ", "yn")
    currency_type: str | None = var("BH")
    fee_amount: str | None = var("BV")
    fee_limit: str | None = var("CC")
    hold_items: T = var("AS", "list")
    overdue_items: T = var("AT", "list")
    charged_items: T = var("AU", "list")
    fine_items: T = var("AV", "list")
    recall_items: T = var("BU", "list")
    unavailable_hold_items: T = var("CD", "list")
    home_address: str | None = var("BD")
    email_address: str | None = var("BE")
    home_phone_number: str | None = var("BF")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")


@message("35", "request")
class EndPatronSessionRequest(Message):
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    terminal_password: str | None = var("AC")
    patron_password: str | None = var("AD")


@message("36", "response")
class EndPatronSessionResponse(Message):
    end_session: bool | None = fixed(1, "yn", default=True)
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")


@message("01", "request")
class BlockPatronRequest(Message):
    card_retained: bool | None = fixed(1, "yn", default=False)
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    blocked_card_msg: str = var("AL", "req")
    patron_id: str = var("AA", "req")
    terminal_password: str = var("AC", "req")


@message("25", "request")
class PatronEnableRequest(Message):
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    terminal_password: str | None = var("AC")
    patron_password: str | None = var("AD")


@message("26", "response")
class PatronEnableResponse(Message):
    patron_status: str = fixed(14)
    language: str = fixed(3, default="000")
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    personal_name: str = var("AE", "req")
    valid_patron: bool | None = var("BL", "yn")
    valid_patron_password: bool | None = var("CQ", "yn")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")
