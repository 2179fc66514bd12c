"""FOLIO JSON -> the kiosk's records (:mod:`kiosk.ils.base`).  Pure: no I/O, the clock is passed in.

Field names are FOLIO's (folio.md §2-§6: mod-users ``userdata.json``, mod-circulation ``loan.json``
and ``request.json``, mod-feesfines ``accountdata.json`` and ``manualblockdata.json``,
mod-patron-blocks ``automated-patron-block.json``, the check-in response).  Times: FOLIO writes
UTC (``2026-03-22T23:59:59.000Z``); the kiosk works in local, naive ``datetime`` (as SIP2 does), so
every date is converted here, and every date sent is UTC with an offset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from kiosk.ils.base import CheckinResult, CheckoutResult, Hold, ItemInfo, Loan, Patron

# SIP2 circulation status codes for FOLIO item statuses (ItemInfo keeps the SIP2 code: staff and
# the engine read it; sip2.md 1.5).  An open loan always means "04" whatever the item says.
ITEM_STATUS_CODES = {
    "Available": "03", "Checked out": "04", "Awaiting pickup": "08", "In transit": "10",
    "Declared lost": "12", "Aged to lost": "12", "Missing": "13", "Claimed returned": "11",
    "On order": "02", "In process": "06", "Awaiting delivery": "10", "Paged": "09",
    "Withdrawn": "01", "Lost and paid": "12", "Long missing": "13", "Unavailable": "01",
    "Intellectual item": "01", "Restricted": "01", "In process (non-requestable)": "06",
    "Unknown": "01", "Order closed": "01",
}
# Check-in routing: item status after the return -> SIP2 alert type (CV) the engine understands.
AWAITING_PICKUP, IN_TRANSIT, AVAILABLE = "Awaiting pickup", "In transit", "Available"


def parse_time(text: str | None) -> datetime | None:
    """A FOLIO date-time (any ISO-8601 form it writes or accepts) as local naive time."""
    if not text:
        return None
    t = str(text).strip()
    try:
        if len(t) == 10:                                        # a bare date: start of day, UTC
            dt = datetime.fromisoformat(t).replace(tzinfo=UTC)
        else:
            if t.endswith("Z"):
                t = t[:-1] + "+00:00"
            elif len(t) > 5 and t[-5] in "+-" and t[-4:].isdigit() and t[-3] != ":":
                t = t[:-2] + ":" + t[-2:]                       # +0100 -> +01:00 (Python < 3.11 forms)
            dt = datetime.fromisoformat(t)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)                     # local date-time: taken as UTC
    except ValueError:
        return None
    return dt.astimezone().replace(tzinfo=None)


def format_time(dt: datetime) -> str:
    """``2026-03-01T14:05:00.000Z`` for a local naive (or aware) datetime."""
    aware = dt.astimezone() if dt.tzinfo is None else dt
    u = aware.astimezone(UTC)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"


def _get(d: object, *path: str, default: object = "") -> object:
    for key in path:
        if not isinstance(d, dict):
            return default
        d = d.get(key)
    return default if d is None else d


def person_name(user: dict) -> str:
    first = _get(user, "personal", "preferredFirstName") or _get(user, "personal", "firstName")
    last = _get(user, "personal", "lastName")
    return " ".join(str(p) for p in (first, last) if p) or str(user.get("username") or "")


def user_is_active(user: dict, now: datetime) -> tuple[bool, str]:
    """(active, why not): mod-circulation's rule -- ``active`` false *or* ``expirationDate`` past;
    no ``active`` at all means the status cannot be determined, which refuses too (folio.md §2)."""
    if "active" not in user:
        return False, "Cannot determine if user is active or not"
    expires = parse_time(user.get("expirationDate"))
    if expires is not None and expires < now:
        return False, f"Patron card expired on {expires.date().isoformat()}"
    if user.get("active") is not True:
        return False, "Patron account is not active"
    return True, ""


def block_applies(block: dict, action: str, now: datetime) -> bool:
    """A manual block applies to ``action`` (borrowing/renewals/requests) when its flag is set and
    it has no expiration date or one still ahead (mod-circulation UserManualBlocksValidator)."""
    if block.get(action) is not True:
        return False
    expires = parse_time(block.get("expirationDate"))
    return expires is None or expires > now


def automated_flags(message: str) -> str:
    """A SIP2-style patron-status name for an automated block, so the screens' keys apply."""
    low = message.lower()
    if "items charged out" in low:
        return "too many items charged"
    if "overdue" in low or "recall" in low:
        return "too many items overdue"
    if "fee" in low or "fine" in low or "balance" in low:
        return "excessive outstanding fines"
    if "lost" in low:
        return "too many items lost"
    return ""


def money_text(total: Decimal) -> str:
    return f"{total.quantize(Decimal('0.01'))}"


def owed(accounts: list[dict]) -> Decimal:
    """Owed amount = sum of ``remaining`` of the open accounts (folio.md §2)."""
    total = Decimal(0)
    for a in accounts:
        try:
            total += Decimal(str(a.get("remaining", 0) or 0))
        except InvalidOperation:
            continue
    return total


def loan_record(loan: dict, now: datetime) -> Loan:
    due_date = parse_time(loan.get("dueDate"))
    barcode = str(_get(loan, "item", "barcode") or loan.get("itemId") or "")
    return Loan(item_id=barcode, title=str(_get(loan, "item", "title")), due=str(loan.get("dueDate") or ""),
                due_date=due_date, overdue=bool(due_date and due_date < now))


def hold_record(request: dict) -> Hold:
    status = str(request.get("status") or "")
    title = _get(request, "item", "title") or _get(request, "instance", "title")
    return Hold(item_id=str(_get(request, "item", "barcode") or request.get("itemId") or ""), title=str(title),
                available=status == "Open - Awaiting pickup",
                pickup_location=str(_get(request, "pickupServicePoint", "name")))


def patron_record(patron_id: str, user: dict | None, *, now: datetime, pin_ok: bool | None = None,
                  manual_blocks: list[dict] = (), automated_blocks: list[dict] = (), loans: list[dict] = (),
                  requests: list[dict] = (), accounts: list[dict] = (), duplicate: bool = False) -> Patron:
    """The kiosk's Patron from the users record and the lists read for it."""
    if user is None or duplicate:
        message = "More than one patron has this card number" if duplicate else ""
        return Patron(patron_id=patron_id, valid=False, pin_ok=pin_ok, screen_message=message,
                      blocks=("charge privileges denied", "renewal privileges denied") if duplicate else ())
    active, why = user_is_active(user, now)
    blocks: list[str] = []
    messages: list[str] = []
    if not active:
        blocks += ["charge privileges denied", "renewal privileges denied", "hold privileges denied"]
        messages.append(why)
    borrow = renew = True
    for b in manual_blocks:
        applied = False
        if block_applies(b, "borrowing", now):
            borrow, applied = False, True
        if block_applies(b, "renewals", now):
            renew, applied = False, True
        if applied and b.get("patronMessage"):
            messages.append(str(b["patronMessage"]))      # never staffInformation
    for b in automated_blocks:
        if b.get("blockBorrowing"):
            borrow = False
        if b.get("blockRenewals"):
            renew = False
        if b.get("blockBorrowing") or b.get("blockRenewals"):
            flag = automated_flags(str(b.get("message") or ""))
            if flag and flag not in blocks:
                blocks.append(flag)
            if b.get("message"):
                messages.append(str(b["message"]))
    if not borrow and "charge privileges denied" not in blocks:
        blocks.insert(0, "charge privileges denied")
    if not renew and "renewal privileges denied" not in blocks:
        blocks.append("renewal privileges denied")
    loan_records = tuple(loan_record(lo, now) for lo in loans)
    total = owed(list(accounts))
    ok = active and pin_ok is not False
    return Patron(
        patron_id=str(user.get("barcode") or patron_id), name=person_name(user), valid=True, pin_ok=pin_ok,
        blocks=tuple(blocks), can_checkout=ok and borrow, can_renew=ok and renew,
        fine_amount=money_text(total) if total else "", loans=loan_records,
        overdue_items=tuple(lo.item_id for lo in loan_records if lo.overdue),
        holds=tuple(hold_record(r) for r in requests), screen_message="; ".join(dict.fromkeys(messages)),
        raw={"id": user.get("id"), "patronGroup": user.get("patronGroup")},
        email=str(_get(user, "personal", "email")))


def checkout_record(loan: dict, patron_id: str, item_id: str, *, resolved: bool = False,
                    renewal: bool = False) -> CheckoutResult:
    """A successful check-out (200/201) or renewal: the loan FOLIO wrote; its dueDate is the truth."""
    return CheckoutResult(
        ok=True, item_id=str(_get(loan, "item", "barcode") or item_id), patron_id=patron_id,
        title=str(_get(loan, "item", "title")), due=str(loan.get("dueDate") or ""),
        due_date=parse_time(loan.get("dueDate")), renewal=renewal,
        media_type=str(_get(loan, "item", "materialType", "name")), resolved=resolved)


def checkin_record(reply: dict, item_id: str) -> CheckinResult:
    """The check-in reply (200): ``loan`` is absent when the item was not on loan -- still a
    return.  Anything but ``Available`` goes to staff with the route (folio.md §4)."""
    item = reply.get("item") or {}
    status = str(_get(item, "status", "name"))
    destination = str(_get(item, "inTransitDestinationServicePoint", "name")
                      or item.get("inTransitDestinationServicePointId") or "")
    alert_type = ""
    context = reply.get("staffSlipContext") or {}
    if status == AWAITING_PICKUP:
        alert_type = "01"                                   # hold here: the hold shelf
    elif status == IN_TRANSIT:
        alert_type = "02" if context.get("requester") or context.get("request") else "04"
    elif status not in ("", AVAILABLE):
        alert_type = "99"                                   # Awaiting delivery, Missing...: staff
    hold_card = str(_get(context, "requester", "barcode"))
    return CheckinResult(
        ok=True, item_id=str(item.get("barcode") or item_id), title=str(item.get("title") or ""),
        resensitize=True, alert=bool(alert_type), alert_type=alert_type, destination=destination,
        hold_patron_id=hold_card, permanent_location=str(_get(item, "location", "name")),
        media_type=str(_get(item, "materialType", "name")),
        screen_message="" if reply.get("loan") else ("Item was not on loan" if not reply.get("inHouseUse")
                                                     else "Item was not on loan (counted as in-house use)"))


def item_record(item_id: str, item: dict | None, open_loan: dict | None, borrower_barcode: str = "") -> ItemInfo:
    """ItemInfo from the inventory item and its open loan (if any)."""
    if item is None:
        return ItemInfo(item_id=item_id, known=False, circulation_status="01")
    status = str(_get(item, "status", "name"))
    code = "04" if open_loan else ITEM_STATUS_CODES.get(status, "01")
    if not open_loan and code == "04":
        code = "01"      # says "Checked out" but no open loan: not proof of a loan
    due = str(open_loan.get("dueDate") or "") if open_loan else ""
    # numberOfPieces (a string in FOLIO's item schema): a set of several parts is said the way the
    # station reads it from a SIP2 server's free text ("2 pieces"), so multi-part sets work over FOLIO
    pieces = str(item.get("numberOfPieces") or "").strip()
    message = f"{int(pieces)} pieces" if pieces.isdigit() and int(pieces) > 1 else ""
    return ItemInfo(item_id=str(item.get("barcode") or item_id), title=str(item.get("title") or ""),
                    screen_message=message,
                    circulation_status=code, due=due, due_date=parse_time(due) if due else None,
                    patron_id=borrower_barcode, media_type=str(_get(item, "materialType", "name")),
                    permanent_location=str(_get(item, "effectiveLocation", "name") or _get(item, "location", "name")),
                    known=True)
