"""FOLIO's refusals -> the kiosk's reason keys (:mod:`kiosk.circulation.reasons`).  Pure.

mod-circulation says no with HTTP 422 and ``{"errors": [{"message", "parameters", "code"?}]}``;
check-out and renewal gather *every* failed check into one reply (folio.md §0, §3, §5).  An error
is matched on its ``code`` first (stable), and on its message only when there is no code or the
code is unknown (messages change and some carry titles, names and barcodes).  Of several errors,
the first with a specific key wins (FOLIO lists them in its check order: patron first, then item),
and the patron sees every message.

Texts and codes are FOLIO's, copied from the fact sheet's tables (sources named there:
mod-circulation ``CheckOutValidators``, ``RenewalValidator``, ``CheckInValidators``,
``ErrorCode.java``); tests/test_folio_refusals.py holds every one of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

GENERIC = "library_refused"

# code -> key (mod-circulation support/ErrorCode.java names, folio.md §3 and §5)
CODES: dict[str, str] = {
    "USER_BARCODE_NOT_FOUND": "unknown_card",
    "USER_IS_INACTIVE_OR_EXPIRED": "card_expired",
    "USER_IS_BLOCKED_MANUALLY": "patron_blocked",
    # USER_IS_BLOCKED_AUTOMATICALLY: the library writes the message, see _AUTOMATED below
    "ITEM_BARCODE_NOT_FOUND": "unknown_item",
    "ITEM_HAS_OPEN_LOAN": "on_loan_to_other",
    "ITEM_CHECKED_OUT_TO_DIFFERENT_USER": "not_checked_out",
    "ITEM_NOT_LOANABLE": "not_for_loan",
    "LOAN_RENEWAL_LIMIT_REACHED": "renewal_limit",
    "LOAN_NOT_RENEWABLE": "renewal_limit",
    "RENEWAL_BLOCKED_BY_HOLD_REQUEST": "renewal_hold",
    "RENEWAL_BLOCKED_BY_RECALL": "renewal_hold",
    "RENEWAL_WOULD_NOT_CHANGE_DUE_DATE": "renewal_too_soon",
    "RENEWAL_BLOCKED_BY_REMINDER_FEES": "fines",
    "RENEWAL_REQUEST_ITEM_BARCODE_REQUIRED": "check_at_desk",
    "RENEWAL_REQUEST_USER_BARCODE_REQUIRED": "check_at_desk",
    "ITEM_DECLARED_LOST_NOT_RENEWABLE": "check_at_desk",
    "ITEM_CLAIMED_RETURNED_NOT_RENEWABLE": "check_at_desk",
    "ITEM_AGED_TO_LOST_NOT_RENEWABLE": "check_at_desk",
}
# every item-limit code (ITEM_LIMIT_MATERIAL_TYPE, ITEM_LIMIT_LOAN_TYPE, ..._AND_...)
_CODE_PREFIXES: tuple[tuple[str, str], ...] = (("ITEM_LIMIT_", "limit_reached"),)

# message (regex, case-insensitive) -> key, for errors without a (known) code.  Order matters.
_MESSAGES: tuple[tuple[str, str], ...] = (
    (r"^could not find user with matching barcode", "unknown_card"),
    (r"^cannot check out to inactive user", "card_expired"),
    (r"^cannot renew loan when user is inactive or expired", "card_expired"),
    (r"^cannot determine if user is active or not", "patron_blocked"),
    (r"^patron blocked from (borrowing|renewing)", "patron_blocked"),
    (r"^cannot check out (item )?via (inactive )?proxy", "patron_blocked"),
    (r"^no item with barcode .* (could be found|exists)", "unknown_item"),
    (r"^item is already checked out", "on_loan_to_other"),
    (r"^cannot check out item that already has an open loan", "on_loan_to_other"),
    (r"has been requested by another patron", "on_hold_for_other"),
    (r"has the item status .* and cannot be checked (out|in)", "check_at_desk"),
    (r"^patron has reached maximum limit of \d+ items", "limit_reached"),
    (r"^item is not loanable", "not_for_loan"),
    (r"^cannot renew item checked out to different user", "not_checked_out"),
    (r"^loan at maximum renewal number", "renewal_limit"),
    (r"^loan is not renewable", "renewal_limit"),
    (r"cannot be renewed when there is an active, pending hold request", "renewal_hold"),
    (r"cannot be renewed when there is an active recall request", "renewal_hold"),
    (r"^renewal would not change the due date", "renewal_too_soon"),
    (r"^item is (declared lost|claimed returned|aged to lost)$", "check_at_desk"),
    (r"^renewals not allowed for loans with reminders", "fines"),
    (r"^item is claimed returned, a resolution is required", "check_at_desk"),
    (r"^(checkin|renewal) request must have a", "check_at_desk"),
    (r"^check out must be performed at a service point", "check_at_desk"),
    (r"^no logged-in user present", "check_at_desk"),
    (r"^unrecognized value provided for property", "check_at_desk"),
    (r"^unable to acquire lock", GENERIC),
    # the renew-without-loan 500 (folio.md §5 "Surprise")
    (r"^more than one open loan for item", "not_checked_out"),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE), k) for p, k in _MESSAGES)

# Automated blocks carry the library's own text (mod-patron-blocks sample texts, folio.md §2).
_AUTOMATED: tuple[tuple[str, str], ...] = (
    ("items charged out", "limit_reached"),
    ("overdue", "overdue_items"),
    ("recall", "overdue_items"),
    ("fee/fine", "fines"),
    ("fine", "fines"),
    ("balance", "fines"),
    ("lost", "patron_blocked"),
)


@dataclass(frozen=True)
class FolioError:
    """One entry of an ``errors`` list."""

    message: str
    code: str = ""
    parameters: tuple[tuple[str, str], ...] = ()
    block: str = ""                  # overridableBlock.name, e.g. patronBlock


@dataclass(frozen=True)
class Refusal:
    """A refusal as the kiosk shows it: the key, every message, the errors themselves."""

    reason_key: str
    text: str
    errors: tuple[FolioError, ...] = ()

    def has(self, key: str) -> bool:
        return any(error_key(e) == key for e in self.errors)


def parse_errors(body: bytes | str | dict | None) -> tuple[FolioError, ...]:
    """The ``errors`` of a 422 (JSON) -- or one error holding a text/plain body (a 500)."""
    data = body
    if isinstance(body, bytes | str):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            return (FolioError(message=text.strip()),) if text.strip() else ()
    if not isinstance(data, dict):
        return ()
    out = []
    for e in data.get("errors") or ():
        if not isinstance(e, dict):
            continue
        params = tuple((str(p.get("key", "")), str(p.get("value", "")))
                       for p in e.get("parameters") or () if isinstance(p, dict))
        block = e.get("overridableBlock") or {}
        out.append(FolioError(message=str(e.get("message") or ""), code=str(e.get("code") or ""),
                              parameters=params, block=str(block.get("name", "")) if isinstance(block, dict) else ""))
    return tuple(out)


def error_key(e: FolioError) -> str:
    """The reason key of one error: by code first, then by message."""
    if e.code == "USER_IS_BLOCKED_AUTOMATICALLY":
        return automated_block_key(e.message)
    if e.code in CODES:
        return CODES[e.code]
    for prefix, key in _CODE_PREFIXES:
        if e.code.startswith(prefix):
            return key
    for rx, key in _COMPILED:
        if rx.search(e.message):
            return key
    if e.block == "patronBlock" or e.message.lower().startswith("patron has reached maximum allowed"):
        # an automated block without its code (mod-patron-blocks' sample texts, folio.md §2)
        return automated_block_key(e.message)
    return GENERIC


def automated_block_key(message: str) -> str:
    low = message.lower()
    for needle, key in _AUTOMATED:
        if needle in low:
            return key
    return "patron_blocked"


def refusal(body: bytes | str | dict | None, default_text: str = "") -> Refusal:
    """The refusal in a 422 (or a refusing 500) body."""
    errors = parse_errors(body)
    if not errors:
        return Refusal(GENERIC, default_text, ())
    keys = [error_key(e) for e in errors]
    key = next((k for k in keys if k != GENERIC), GENERIC)
    text = "; ".join(dict.fromkeys(e.message for e in errors if e.message))
    return Refusal(key, text or default_text, errors)


def is_renew_without_loan(status: int, body: bytes | str) -> bool:
    """folio.md §5: renewing an item with no (or several) open loans is a 500 whose text says so --
    a definite refusal, not an outage."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return status == 500 and text.strip().lower().startswith("more than one open loan for item")


def missing_permission(text: str) -> str:
    """The permission named by mod-authtoken's 400/403 text (folio.md §0), or ''."""
    m = re.search(r"requires permission:\s*([\w.\-]+)", text or "")
    return m.group(1) if m else ""
