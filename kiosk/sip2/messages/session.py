"""Session messages: login (93/94), SC and ACS status (99/98), the resend requests (97/96).

What a connection says before and around any patron's business: the kiosk logs in, reports its
status and learns the library system's (timeout, retries, which messages it supports), and either
side asks for a damaged frame again.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.sip2.messages.codes import SUPPORTED_MESSAGES
from kiosk.sip2.record import Message, fixed, message, var

__all__ = ["LoginRequest", "LoginResponse", "ScStatusRequest", "AcsStatusResponse", "RequestAcsResend", "RequestScResend"]

T = tuple[str, ...]   # a repeatable field's values


@message("93", "request")
class LoginRequest(Message):
    uid_algorithm: str = fixed(1, default="0")   # Koha rejects anything but '0' (plain)
    pwd_algorithm: str = fixed(1, default="0")
    login_user_id: str = var("CN", "req")
    login_password: str = var("CO", "req")
    location_code: str | None = var("CP")


@message("94", "response")
class LoginResponse(Message):
    ok: bool = fixed(1, "01", default=False)


@message("99", "request")
class ScStatusRequest(Message):
    status_code: str = fixed(1, default="0")       # 0 ok, 1 printer out of paper, 2 shutting down
    max_print_width: str = fixed(3, default="040")
    protocol_version: str = fixed(4, default="2.00")


@message("98", "response")
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


@message("97", "request")
class RequestAcsResend(Message):
    """97: ask the ACS to resend its last reply (checksum failed on our side)."""


@message("96", "response")
class RequestScResend(Message):
    """96: the ACS asks us to resend our last request (it got a bad checksum)."""
