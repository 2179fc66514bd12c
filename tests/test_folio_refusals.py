"""FOLIO's refusals, CQL escaping and records -- the pure parts of kiosk.folio.

Every refusal text and code below is copied from /work/shared/reference/folio.md (§3 check-out,
§4 check-in, §5 renewal tables; sources: mod-circulation CheckOutValidators, RenewalValidator,
CheckInValidators, ErrorCode.java), not from our demo library."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from kiosk.circulation.reasons import REASONS, checkin_reason, checkout_reason
from kiosk.folio import cql, records, refusals
from kiosk.ils.base import CheckinResult, CheckoutResult


def e(message, code=None, params=(), block=None):
    d = {"message": message, "parameters": [{"key": k, "value": v} for k, v in params]}
    if code:
        d["code"] = code
    if block:
        d["overridableBlock"] = {"name": block, "missingPermissions": ["circulation.override-patron-block.post"]}
    return d


# (message, code, expected key) -- folio.md §3 check-out refusals, in table order
CHECKOUT = [
    ("Check out must be performed at a service point", None, "check_at_desk"),
    ("Could not find user with matching barcode", "USER_BARCODE_NOT_FOUND", "unknown_card"),
    ("Cannot check out to inactive user", None, "card_expired"),
    ("Cannot determine if user is active or not", None, "patron_blocked"),
    ("Patron blocked from borrowing", "USER_IS_BLOCKED_MANUALLY", "patron_blocked"),
    ("Patron has reached maximum allowed number of items charged out", "USER_IS_BLOCKED_AUTOMATICALLY",
     "limit_reached"),
    ("Patron has reached maximum allowed outstanding fee/fine balance for his/her patron group",
     "USER_IS_BLOCKED_AUTOMATICALLY", "fines"),
    ("No item with barcode 3900001 could be found", None, "unknown_item"),
    ("Item is already checked out", None, "on_loan_to_other"),
    ("Cannot check out item that already has an open loan", "ITEM_HAS_OPEN_LOAN", "on_loan_to_other"),
    ("Le Petit Prince (Book) (Barcode: 3900001) has the item status Declared lost and cannot be checked out",
     None, "check_at_desk"),
    ("Le Petit Prince (Barcode: 3900001) cannot be checked out to user Example, Alice because it has been "
     "requested by another patron", None, "on_hold_for_other"),
    ("Patron has reached maximum limit of 3 items for material type", "ITEM_LIMIT_MATERIAL_TYPE", "limit_reached"),
    ("Patron has reached maximum limit of 2 items for combination of patron group, material type and loan type",
     "ITEM_LIMIT_PATRON_GROUP_MATERIAL_TYPE_LOAN_TYPE", "limit_reached"),
    ("Item is not loanable", "ITEM_NOT_LOANABLE", "not_for_loan"),
    ("Cannot check out item via proxy when relationship is invalid", None, "patron_blocked"),
    ("Cannot check out via inactive proxying user", None, "patron_blocked"),
    ("unable to acquire lock", None, "library_refused"),
]
# folio.md §5 renewal refusals
RENEW = [
    ("Renewal request must have an item barcode", "RENEWAL_REQUEST_ITEM_BARCODE_REQUIRED", "check_at_desk"),
    ("Renewal request must have a user barcode", "RENEWAL_REQUEST_USER_BARCODE_REQUIRED", "check_at_desk"),
    ("No item with barcode 3900001 exists", "ITEM_BARCODE_NOT_FOUND", "unknown_item"),
    ("Cannot renew item checked out to different user", "ITEM_CHECKED_OUT_TO_DIFFERENT_USER", "not_checked_out"),
    ("Cannot renew loan when user is inactive or expired", "USER_IS_INACTIVE_OR_EXPIRED", "card_expired"),
    ("Patron blocked from renewing", "USER_IS_BLOCKED_MANUALLY", "patron_blocked"),
    ("Patron has reached maximum allowed number of overdue items", "USER_IS_BLOCKED_AUTOMATICALLY", "overdue_items"),
    ("loan at maximum renewal number", "LOAN_RENEWAL_LIMIT_REACHED", "renewal_limit"),
    ("loan is not renewable", "LOAN_NOT_RENEWABLE", "renewal_limit"),
    ("Items with this loan policy cannot be renewed when there is an active, pending hold request",
     "RENEWAL_BLOCKED_BY_HOLD_REQUEST", "renewal_hold"),
    ("items cannot be renewed when there is an active recall request", "RENEWAL_BLOCKED_BY_RECALL", "renewal_hold"),
    ("renewal would not change the due date", "RENEWAL_WOULD_NOT_CHANGE_DUE_DATE", "renewal_too_soon"),
    ("item is Declared lost", "ITEM_DECLARED_LOST_NOT_RENEWABLE", "check_at_desk"),
    ("item is Claimed returned", None, "check_at_desk"),
    ("item is Aged to lost", None, "check_at_desk"),
    ("item is not loanable", "ITEM_NOT_LOANABLE", "not_for_loan"),
    ("Renewals not allowed for loans with reminders.", "RENEWAL_BLOCKED_BY_REMINDER_FEES", "fines"),
]
# folio.md §4 check-in refusals
CHECKIN = [
    ("Checkin request must have an item barcode", None, "check_at_desk"),
    ("Checkin request must have a service point id", None, "check_at_desk"),
    ("Checkin request must have an check in date", None, "check_at_desk"),
    ("No item with barcode 3900001 exists", "ITEM_BARCODE_NOT_FOUND", "unknown_item"),
    ("Le Petit Prince (Book) (Barcode: 3900001) has the item status Intellectual item and cannot be checked in",
     None, "check_at_desk"),
    ("Item is claimed returned, a resolution is required to check in", None, "check_at_desk"),
    ("No logged-in user present", None, "check_at_desk"),
    ("Unrecognized value provided for property", None, "check_at_desk"),
]


@pytest.mark.parametrize("message,code,key", CHECKOUT + RENEW + CHECKIN)
def test_every_refusal_text_of_the_fact_sheet_has_its_key(message, code, key):
    body = json.dumps({"errors": [e(message, code)]}).encode()
    r = refusals.refusal(body)
    assert r.reason_key == key and key in REASONS
    assert r.text == message
    # the message alone (no code) leads to the same key, except for the automated blocks, whose
    # text the library writes (matched by its words)
    assert refusals.refusal({"errors": [e(message)]}).reason_key == key


def test_code_wins_over_the_message():
    # a message FOLIO may reword; the code stays
    r = refusals.refusal({"errors": [e("Du hast das Maximum erreicht", "LOAN_RENEWAL_LIMIT_REACHED")]})
    assert r.reason_key == "renewal_limit"
    assert refusals.refusal({"errors": [e("Du hast das Maximum erreicht")]}).reason_key == "library_refused"


def test_several_errors_in_one_422_show_all_and_pick_the_first_specific():
    body = {"errors": [e("Patron blocked from borrowing", "USER_IS_BLOCKED_MANUALLY", [("reason", "Lost card")],
                         "patronBlock"),
                       e("Patron has reached maximum limit of 3 items for material type", "ITEM_LIMIT_MATERIAL_TYPE",
                         [("itemBarcode", "1"), ("itemLimit", "3")])]}
    r = refusals.refusal(json.dumps(body))
    assert r.reason_key == "patron_blocked"
    assert "Patron blocked from borrowing" in r.text and "maximum limit of 3 items" in r.text
    assert r.errors[0].block == "patronBlock" and ("reason", "Lost card") in r.errors[0].parameters
    assert r.has("limit_reached")


def test_renew_without_loan_500_is_a_refusal_and_other_500s_are_not():
    assert refusals.is_renew_without_loan(500, b"More than one open loan for item 3900001")
    assert refusals.refusal(b"More than one open loan for item 3900001").reason_key == "not_checked_out"
    assert not refusals.is_renew_without_loan(500, b"java.lang.NullPointerException")
    assert not refusals.is_renew_without_loan(502, b"More than one open loan for item 1")


def test_permission_named_in_gateway_texts():
    assert refusals.missing_permission("Access for user 'kiosk' (8c0c) requires permission: "
                                       "circulation.check-out-by-barcode.post") == "circulation.check-out-by-barcode.post"
    assert refusals.missing_permission("Token missing, access requires permission: users.collection.get") == \
        "users.collection.get"
    assert refusals.missing_permission("Invalid token") == ""


def test_adapter_reason_keys_reach_the_engine():
    r = CheckoutResult(ok=False, item_id="1", patron_id="2", screen_message="Cannot check out to inactive user",
                       reason_key="card_expired")
    assert checkout_reason(r) == "card_expired"
    assert checkin_reason(CheckinResult(ok=False, item_id="1", screen_message="No item with barcode 1 exists",
                                        reason_key="unknown_item")) == ("refused", "unknown_item")
    assert checkin_reason(CheckinResult(ok=False, item_id="1", reason_key="check_at_desk"))[0] == "needs_staff"


# ---- CQL (folio.md §0 "CQL quoting and escaping"; RMB StringUtil.cqlEncode) ------------------
@pytest.mark.parametrize("value,quoted", [
    ("A*1", '"A\\*1"'), ('a"b\\c', '"a\\"b\\\\c"'), ("x?y^z", '"x\\?y\\^z"'), ("", '""'), (None, '""'),
    ("3900000001", '"3900000001"'),
])
def test_cql_quote(value, quoted):
    assert cql.quote(value) == quoted


def test_cql_queries_the_kiosk_sends():
    assert cql.user_by_barcode("A*1") == 'barcode=="A\\*1"'
    assert cql.open_loans_of_item("u-1") == 'itemId=="u-1" and status.name=="Open"'
    assert cql.open_requests_of_user("u-2") == 'requesterId=="u-2" and status="Open"'


# ---- records (folio.md §2, §4) -------------------------------------------------------------
NOW = datetime(2026, 6, 1, 12, 0)


def user(**kw):
    u = {"id": "u1", "barcode": "P1", "active": True, "personal": {"firstName": "Alice", "lastName": "Example",
                                                                   "email": "a@example.org"}}
    u.update(kw)
    return u


def test_inactive_means_active_false_or_expired_or_unknown():
    assert records.user_is_active(user(), NOW)[0]
    assert not records.user_is_active(user(active=False), NOW)[0]
    past = records.format_time(NOW - timedelta(days=1))
    assert not records.user_is_active(user(expirationDate=past), NOW)[0]   # active still true: timer not run
    no_flag = user()
    del no_flag["active"]
    assert records.user_is_active(no_flag, NOW) == (False, "Cannot determine if user is active or not")


def test_patron_blocks_fines_loans_and_holds():
    manual = [{"borrowing": True, "renewals": False, "patronMessage": "Please see staff",
               "staffInformation": "owes a bike"},
              {"borrowing": True, "expirationDate": records.format_time(NOW - timedelta(days=2)),
               "patronMessage": "expired block"}]
    auto = [{"blockBorrowing": False, "blockRenewals": True,
             "message": "Patron has reached maximum allowed number of overdue items"}]
    loans = [{"dueDate": "2026-05-20T21:59:59.000Z", "item": {"barcode": "I1", "title": "Solaris"}}]
    reqs = [{"status": "Open - Awaiting pickup", "item": {"barcode": "I2", "title": "Dune"},
             "pickupServicePoint": {"name": "Main"}}, {"status": "Open - Not yet filled", "itemId": "x"}]
    accounts = [{"remaining": 2.5}, {"remaining": "1.25"}]
    p = records.patron_record("P1", user(), now=NOW, manual_blocks=manual, automated_blocks=auto, loans=loans,
                              requests=reqs, accounts=accounts)
    assert p.valid and not p.can_checkout and not p.can_renew
    assert "Please see staff" in p.screen_message and "owes a bike" not in p.screen_message
    assert "expired block" not in p.screen_message
    assert p.fine_amount == "3.75" and p.email == "a@example.org" and p.name == "Alice Example"
    assert p.loans[0].overdue and p.overdue_items == ("I1",) and p.loans[0].title == "Solaris"
    assert [h.available for h in p.holds] == [True, False] and p.holds[0].pickup_location == "Main"
    assert "too many items overdue" in p.blocks


def test_dates_in_every_form_folio_writes():
    utc = records.parse_time("2026-03-22T23:59:59.000Z")
    assert records.parse_time("2026-03-22T23:59:59.000+0000") == utc
    assert records.parse_time("2026-03-23T00:59:59+01:00") == utc
    assert records.parse_time("2026-03-22T23:59:59") == utc          # local date-time is UTC
    assert records.parse_time("garbage") is None
    assert records.format_time(utc).endswith("Z") and records.parse_time(records.format_time(utc)) == utc


def test_checkin_without_loan_is_a_return_and_routing_goes_to_staff():
    r = records.checkin_record({"item": {"barcode": "I1", "title": "T", "status": {"name": "Available"}},
                                "inHouseUse": True}, "I1")
    assert r.ok and not r.alert
    hold = records.checkin_record({"loan": {"status": {"name": "Closed"}}, "item": {"status": {"name":
                                   "Awaiting pickup"}}}, "I1")
    assert hold.alert_type == "01" and checkin_reason(hold) == ("done", None)
    transit = records.checkin_record({"item": {"status": {"name": "In transit"},
                                               "inTransitDestinationServicePoint": {"name": "East"}}}, "I1")
    assert transit.alert_type == "04" and transit.destination == "East"
    odd = records.checkin_record({"item": {"status": {"name": "Awaiting delivery"}}}, "I1")
    assert checkin_reason(odd)[0] == "needs_staff"
