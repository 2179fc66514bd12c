"""The library system's words -> stable reason keys the screens translate (pure)."""

from __future__ import annotations

import pytest

from kiosk.circulation.reasons import (
    REASONS,
    checkin_alert,
    checkin_reason,
    checkout_reason,
    checkout_refusal_key,
    key_from_text,
    patron_block_keys,
)
from kiosk.ils.base import CheckinResult, CheckoutResult, Patron


@pytest.mark.parametrize("text,key", [
    ("Item is on hold for another patron.", "on_hold_for_other"),
    ("Item is reserved for another patron upon return.", "on_hold_for_other"),
    ("Item checked out to another patron", "on_loan_to_other"),
    ("Invalid Item", "unknown_item"),
    ("Patron debarred", "patron_blocked"),
    ("Patron expired on 2020-01-01", "card_expired"),
    ("Outstanding Fines block issue", "fines"),
    ("Item has reached maximum renewals", "renewal_limit"),
    ("Item unavailable due to outstanding holds", "renewal_hold"),
    ("too_soon", "renewal_too_soon"),
    ("Item type cannot be checked out at this checkout location", "not_for_loan"),
    ("Something nobody foresaw", "library_refused"),
    # an item marked lost is not the patron's card (found in the real window: "Os Lusíadas -- This
    # card was reported lost." for a valid card)
    ("Item is marked lost: please ask staff", "check_at_desk"),
    ("Item has been reported as lost", "check_at_desk"),
    ("Patron blocked: card reported lost", "card_lost"),
    ("Library card has been reported lost", "card_lost"),
    ("Lost card", "card_lost"),
    ("Patron has too many items lost", "patron_blocked"),
])
def test_koha_texts_map_to_keys(text, key):
    assert key_from_text(text) == key
    assert key in REASONS       # every key has a fallback text and a "what to do"


def test_patron_flags_most_specific_first():
    p = Patron(patron_id="1", valid=True, blocks=("charge privileges denied", "excessive outstanding fines"))
    assert patron_block_keys(p) == ("fines", "patron_blocked")
    assert checkout_refusal_key(p) == "fines"
    assert checkout_refusal_key(Patron(patron_id="1", valid=True, blocks=("charge privileges denied",))) == \
        "patron_blocked"
    lost = Patron(patron_id="1", valid=True, blocks=("card reported lost",))
    assert checkout_refusal_key(lost) == "card_lost"


def test_checkin_routing_and_not_on_loan_is_fine():
    assert checkin_reason(CheckinResult(ok=True, item_id="x")) == ("done", None)
    assert checkin_reason(CheckinResult(ok=False, item_id="x", screen_message="Item not checked out")) == ("done", None)
    assert checkin_reason(CheckinResult(ok=False, item_id="x", screen_message="Invalid Item",
                                        alert=True, alert_type="99")) == ("refused", "unknown_item")
    assert checkin_reason(CheckinResult(ok=True, item_id="x", alert=True, alert_type="99")) == \
        ("needs_staff", "check_at_desk")
    assert checkin_alert(CheckinResult(ok=True, item_id="x", alert=True, alert_type="01")) == "hold_here"
    assert checkin_alert(CheckinResult(ok=True, item_id="x", alert=True, alert_type="02")) == "hold_elsewhere"
    assert checkin_alert(CheckinResult(ok=True, item_id="x", alert=True, alert_type="04")) == "transfer"
    assert checkin_alert(CheckinResult(ok=True, item_id="x")) is None


def test_rental_fee_refusal():
    r = CheckoutResult(ok=False, item_id="x", patron_id="p", fee_amount="2.00",
                       screen_message="Rental fee must be acknowledged")
    assert checkout_reason(r) == "fee_required"
