"""Every SIP2 message as a small frozen dataclass: the codec's single table.

Field order in each class is the spec order (encode writes it; decode accepts any order).  Layouts
from the 3M SIP2 2.00 specification (message layouts, cross-checked against Koha
MsgType.pm, pysip2 and FOLIO edge-sip2).  ``fixed(width, kind)`` is positional, ``var(id, kind)``
is an identified field: "req" always written, "opt"/"yn" left out when None, "list" repeatable.

Names follow the spec's words (patron, item, institution, screen message, print line) so a
librarian reading a log or the ``kiosk sip2`` JSON recognises them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.sip2.codec import Message, _message, fixed, var

__all__ = [
    "LoginRequest", "LoginResponse", "ScStatusRequest", "AcsStatusResponse",
    "PatronStatusRequest", "PatronStatusResponse", "PatronInformationRequest",
    "PatronInformationResponse", "CheckoutRequest", "CheckoutResponse", "CheckinRequest",
    "CheckinResponse", "RenewRequest", "RenewResponse", "RenewAllRequest", "RenewAllResponse",
    "ItemInformationRequest", "ItemInformationResponse", "EndPatronSessionRequest",
    "EndPatronSessionResponse", "FeePaidRequest", "FeePaidResponse", "HoldRequest", "HoldResponse",
    "RequestAcsResend", "RequestScResend", "BlockPatronRequest", "PatronEnableRequest",
    "PatronEnableResponse", "ItemStatusUpdateRequest", "ItemStatusUpdateResponse",
    "PATRON_STATUS_FLAGS", "SUPPORTED_MESSAGES", "CIRCULATION_STATUS", "SUMMARY_POSITIONS",
]

# Patron status (14 chars, 'Y' = set) -- sip2.md 1.5 "Code tables".
PATRON_STATUS_FLAGS = (
    "charge privileges denied", "renewal privileges denied", "recall privileges denied",
    "hold privileges denied", "card reported lost", "too many items charged",
    "too many items overdue", "too many renewals", "too many claims of items returned",
    "too many items lost", "excessive outstanding fines", "excessive outstanding fees",
    "recall overdue", "too many items billed",
)
# BX supported messages (16 positions) -- sip2.md 1.5.
SUPPORTED_MESSAGES = (
    "patron status", "checkout", "checkin", "block patron", "acs status", "request resend",
    "login", "patron information", "end patron session", "fee paid", "item information",
    "item status update", "patron enable", "hold", "renew", "renew all",
)
# Item circulation status (18) -- sip2.md 1.5.
CIRCULATION_STATUS = {
    "01": "other", "02": "on order", "03": "available", "04": "charged",
    "05": "charged; not to be recalled until earliest recall date", "06": "in process",
    "07": "recalled", "08": "waiting on hold shelf", "09": "waiting to be re-shelved",
    "10": "in transit between library locations", "11": "claimed returned", "12": "lost",
    "13": "missing",
}
# Summary (63): position -> which item list the ACS returns.
SUMMARY_POSITIONS = {"hold": 0, "overdue": 1, "charged": 2, "fine": 3, "recall": 4, "unavailable_holds": 5}

T = tuple[str, ...]


# ---------------------------------------------------------------- login and status (93/94, 99/98)
@_message("93", "request")
@dataclass(frozen=True, kw_only=True)
class LoginRequest(Message):
    uid_algorithm: str = fixed(1, default="0")   # Koha rejects anything but '0' (plain)
    pwd_algorithm: str = fixed(1, default="0")
    login_user_id: str = var("CN", "req")
    login_password: str = var("CO", "req")
    location_code: str | None = var("CP")


@_message("94", "response")
@dataclass(frozen=True, kw_only=True)
class LoginResponse(Message):
    ok: bool = fixed(1, "01", default=False)


@_message("99", "request")
@dataclass(frozen=True, kw_only=True)
class ScStatusRequest(Message):
    status_code: str = fixed(1, default="0")       # 0 ok, 1 printer out of paper, 2 shutting down
    max_print_width: str = fixed(3, default="040")
    protocol_version: str = fixed(4, default="2.00")


@_message("98", "response")
@dataclass(frozen=True, kw_only=True)
class AcsStatusResponse(Message):
    online_status: bool | None = fixed(1, "yn", default=False)
    checkin_ok: bool | None = fixed(1, "yn", default=False)
    checkout_ok: bool | None = fixed(1, "yn", default=False)
    acs_renewal_policy: bool | None = fixed(1, "yn", default=False)
    status_update_ok: bool | None = fixed(1, "yn", default=False)
    offline_ok: bool | None = fixed(1, "yn", default=False)
    timeout_period: str = fixed(3, default="999")   # tenths of a second; 000 offline, 999 unknown
    retries_allowed: str = fixed(3, default="999")  # 999 unknown
    date_time_sync: datetime | None = fixed(18, "date")
    protocol_version: str = fixed(4, default="2.00")
    institution_id: str = var("AO", "req")
    library_name: str | None = var("AM")
    supported_messages: str = var("BX", "req")
    terminal_location: str | None = var("AN")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")

    @property
    def timeout_s(self) -> float | None:
        """The ACS timeout in seconds (None: unknown or offline; sip2.md 1.4 'tenths of a second')."""
        t = self.timeout_period.strip()
        # isascii(): str.isdigit() also accepts '¹²³' (int() then raises) and Arabic-Indic digits.
        return int(t) / 10.0 if t.isascii() and t.isdigit() and t not in ("000", "999") else None

    @property
    def retries(self) -> int | None:
        r = self.retries_allowed.strip()
        return int(r) if r.isascii() and r.isdigit() and r != "999" else None

    def supports(self, name: str) -> bool:
        """``supports("renew all")``: the BX flag for a message name from SUPPORTED_MESSAGES."""
        i = SUPPORTED_MESSAGES.index(name)
        return self.supported_messages[i: i + 1].upper() == "Y"


@_message("97", "request")
@dataclass(frozen=True, kw_only=True)
class RequestAcsResend(Message):
    """97: ask the ACS to resend its last reply (checksum failed on our side)."""


@_message("96", "response")
@dataclass(frozen=True, kw_only=True)
class RequestScResend(Message):
    """96: the ACS asks us to resend our last request (it got a bad checksum)."""


# ---------------------------------------------------------------- patrons (23/24, 63/64, 35/36)
@_message("23", "request")
@dataclass(frozen=True, kw_only=True)
class PatronStatusRequest(Message):
    language: str = fixed(3, default="000")
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    terminal_password: str = var("AC", "req")
    patron_password: str = var("AD", "req")


@_message("24", "response")
@dataclass(frozen=True, kw_only=True)
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


@_message("63", "request")
@dataclass(frozen=True, kw_only=True)
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


@_message("64", "response")
@dataclass(frozen=True, kw_only=True)
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


@_message("35", "request")
@dataclass(frozen=True, kw_only=True)
class EndPatronSessionRequest(Message):
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    terminal_password: str | None = var("AC")
    patron_password: str | None = var("AD")


@_message("36", "response")
@dataclass(frozen=True, kw_only=True)
class EndPatronSessionResponse(Message):
    end_session: bool | None = fixed(1, "yn", default=True)
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")


@_message("01", "request")
@dataclass(frozen=True, kw_only=True)
class BlockPatronRequest(Message):
    card_retained: bool | None = fixed(1, "yn", default=False)
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    blocked_card_msg: str = var("AL", "req")
    patron_id: str = var("AA", "req")
    terminal_password: str = var("AC", "req")


@_message("25", "request")
@dataclass(frozen=True, kw_only=True)
class PatronEnableRequest(Message):
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    terminal_password: str | None = var("AC")
    patron_password: str | None = var("AD")


@_message("26", "response")
@dataclass(frozen=True, kw_only=True)
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


# ---------------------------------------------------------------- circulation (11/12, 09/10, 29/30, 65/66)
@_message("11", "request")
@dataclass(frozen=True, kw_only=True)
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


@_message("12", "response")
@dataclass(frozen=True, kw_only=True)
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


@_message("09", "request")
@dataclass(frozen=True, kw_only=True)
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


@_message("10", "response")
@dataclass(frozen=True, kw_only=True)
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


@_message("29", "request")
@dataclass(frozen=True, kw_only=True)
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


@_message("30", "response")
@dataclass(frozen=True, kw_only=True)
class RenewResponse(CheckoutResponse):
    """30: same layout as the checkout response (12)."""


@_message("65", "request")
@dataclass(frozen=True, kw_only=True)
class RenewAllRequest(Message):
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    patron_password: str | None = var("AD")
    terminal_password: str | None = var("AC")
    fee_acknowledged: bool | None = var("BO", "yn")


@_message("66", "response")
@dataclass(frozen=True, kw_only=True)
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


# ---------------------------------------------------------------- items (17/18, 19/20)
@_message("17", "request")
@dataclass(frozen=True, kw_only=True)
class ItemInformationRequest(Message):
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    item_id: str = var("AB", "req")
    terminal_password: str | None = var("AC")


@_message("18", "response")
@dataclass(frozen=True, kw_only=True)
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


@_message("19", "request")
@dataclass(frozen=True, kw_only=True)
class ItemStatusUpdateRequest(Message):
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    item_id: str = var("AB", "req")
    terminal_password: str | None = var("AC")
    item_properties: str = var("CH", "req")


@_message("20", "response")
@dataclass(frozen=True, kw_only=True)
class ItemStatusUpdateResponse(Message):
    item_properties_ok: str = fixed(1, default="0")
    transaction_date: datetime | None = fixed(18, "date")
    item_id: str = var("AB", "req")
    title: str | None = var("AJ")
    item_properties: str | None = var("CH")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")


# ---------------------------------------------------------------- fees and holds (37/38, 15/16)
@_message("37", "request")
@dataclass(frozen=True, kw_only=True)
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


@_message("38", "response")
@dataclass(frozen=True, kw_only=True)
class FeePaidResponse(Message):
    payment_accepted: bool | None = fixed(1, "yn", default=False)
    transaction_date: datetime | None = fixed(18, "date")
    institution_id: str = var("AO", "req")
    patron_id: str = var("AA", "req")
    transaction_id: str | None = var("BK")
    screen_messages: T = var("AF", "list")
    print_lines: T = var("AG", "list")


@_message("15", "request")
@dataclass(frozen=True, kw_only=True)
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


@_message("16", "response")
@dataclass(frozen=True, kw_only=True)
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
