"""The demo FOLIO face's writes: the PIN check and mod-circulation's three ``POST`` calls.

``/patron-pin/verify`` (folio.md §2: 200 or 422, empty bodies both ways),
``/circulation/check-out-by-barcode`` (§3), ``/check-in-by-barcode`` (§4) and
``/renew-by-barcode`` (§5, with its renew-without-loan **500**), each checked in FOLIO's order and
refused with FOLIO's 422 shapes and texts (:class:`~kiosk.demo_ils.folio_model.FolioView`), then
carried out by the same :class:`~kiosk.demo_ils.library.Library` the SIP2 face uses, so both faces
agree about one library.

Apart from :mod:`kiosk.demo_ils.folio_http` (the gateway) and :mod:`kiosk.demo_ils.folio_reads`
because these are the calls that change the library, and whose validations are what the kiosk's
refusal handling is tested against.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.demo_ils.folio_model import error, parse_folio_time

if TYPE_CHECKING:
    from kiosk.demo_ils.folio_http import FolioDemoServer

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"


def write(app: FolioDemoServer, route: str, body: dict) -> tuple:
    """(status, json body, text body, headers) for ``POST route`` with the JSON ``body``."""
    return WRITES[route](app, body)


def verify_pin(app: FolioDemoServer, body: dict) -> tuple:
    card = app.view.card_of(str(body.get("id") or ""))
    row = app.db.patron_row(card) if card else None
    ok = row is not None and row["pin"] is not None and body.get("pin") == row["pin"]
    return (200 if ok else 422), None, None, None      # empty bodies both ways


def check_out(app: FolioDemoServer, body: dict) -> tuple:
    v = app.view
    sp = str(body.get("servicePointId") or "")
    errors = []
    if not sp or not re.match(UUID_PATTERN, sp):
        errors.append(error("Check out must be performed at a service point", {"servicePointId": sp}))
    user_bc, item_bc = str(body.get("userBarcode") or ""), str(body.get("itemBarcode") or "")
    errors += v.checkout_errors(user_bc, item_bc)
    if errors:
        return 422, {"errors": errors}, None, None
    loan_date = parse_folio_time(body.get("loanDate"))
    out = (app.library.checkout(user_bc, item_bc, no_block=True, transaction_date=loan_date,
                                terminal="folio")
           if loan_date else app.library.checkout(user_bc, item_bc, fee_acknowledged=True, terminal="folio"))
    if not out.ok:          # a rule of this library FOLIO has no text for
        return 422, {"errors": [error(out.message, {"itemBarcode": item_bc})]}, None, None
    loan = v.open_loans(barcode=item_bc)[0]
    return 201, loan, None, {"Location": f"/circulation/loans/{loan['id']}"}


def check_in(app: FolioDemoServer, body: dict) -> tuple:
    v, db = app.view, app.db
    sp = str(body.get("servicePointId") or "")
    errors = []
    if not body.get("itemBarcode"):
        errors.append(error("Checkin request must have an item barcode", {"itemBarcode": None}))
    if not sp:
        errors.append(error("Checkin request must have a service point id", {"servicePointId": None}))
    when = parse_folio_time(body.get("checkInDate"))
    if when is None:
        errors.append(error("Checkin request must have an check in date", {"checkInDate": None}))
    item_bc = str(body.get("itemBarcode") or "")
    if item_bc and db.item(item_bc) is None:
        errors.append(error(f"No item with barcode {item_bc} exists", {"itemBarcode": item_bc},
                            "ITEM_BARCODE_NOT_FOUND"))
    if errors:
        return 422, {"errors": errors}, None, None
    loan_before = db.loan_of_item(item_bc)
    out = app.library.checkin(item_bc, return_date=when, terminal="folio")
    if not out.ok and loan_before is None and db.item(item_bc).status == "withdrawn":
        item = db.item(item_bc)
        return 422, {"errors": [error(f"{item.title} ({item.policy.label}) (Barcode: {item_bc}) has the item "
                                      f"status Withdrawn and cannot be checked in",
                                      {"itemBarcode": item_bc})]}, None, None
    reply: dict = {"item": v.item(item_bc), "inHouseUse": False, "staffSlipContext": {}}
    if loan_before is not None:
        reply["loan"] = v.loan(loan_before.id)
    if out.hold_card:
        reply["staffSlipContext"] = {"requester": {"barcode": out.hold_card}}
    return 200, reply, None, None


def renew(app: FolioDemoServer, body: dict) -> tuple:
    v = app.view
    errors = []
    user_bc, item_bc = str(body.get("userBarcode") or ""), str(body.get("itemBarcode") or "")
    if not item_bc:
        errors.append(error("Renewal request must have an item barcode", {"itemBarcode": None},
                            "RENEWAL_REQUEST_ITEM_BARCODE_REQUIRED"))
    if not user_bc:
        errors.append(error("Renewal request must have a user barcode", {"userBarcode": None},
                            "RENEWAL_REQUEST_USER_BARCODE_REQUIRED"))
    if errors:
        return 422, {"errors": errors}, None, None
    errors, server_error = v.renewal_errors(user_bc, item_bc)
    if server_error:
        return 500, None, server_error, None
    if errors:
        return 422, {"errors": errors}, None, None
    out = app.library.renew(user_bc, item_bc, terminal="folio")
    if not out.ok:
        return 422, {"errors": [error(out.message, {"itemBarcode": item_bc})]}, None, None
    return 200, v.open_loans(barcode=item_bc)[0], None, None


# route -> handler: every POST route of folio_http.PERMISSIONS
WRITES: dict[str, Callable[[FolioDemoServer, dict], tuple]] = {
    "/patron-pin/verify": verify_pin,
    "/circulation/check-out-by-barcode": check_out,
    "/circulation/check-in-by-barcode": check_in,
    "/circulation/renew-by-barcode": renew,
}
