"""The demo library's circulation rules, without database or sockets."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from kiosk.demo_ils import rules
from kiosk.demo_ils.rules import HoldView, ItemView, LoanView, PatronView

NOW = datetime(2026, 11, 29, 14, 0, 0)


def patron(**kw) -> PatronView:
    base = dict(card="P1", name="Alice", category="adult", expires=date(2028, 1, 1), pin="1234")
    base.update(kw)
    return PatronView(**base)


def item(**kw) -> ItemView:
    base = dict(barcode="I1", title="Le Petit Prince", media="book")
    base.update(kw)
    return ItemView(**base)


def loan(card="P1", days_ago=3, media="book", renewals=0, barcode="I1") -> LoanView:
    issued = NOW - timedelta(days=days_ago)
    return LoanView(id=7, card=card, barcode=barcode, issued_at=issued, due_at=rules.due_date(media, issued),
                    renewals=renewals)


def hold(card="P2", pickup=rules.THIS_BRANCH, status="pending", hid=1) -> HoldView:
    return HoldView(id=hid, card=card, barcode="I1", pickup_branch=pickup, status=status)


# ------------------------------------------------------------------------------- loan periods
@pytest.mark.parametrize("media,days", [("book", 28), ("dvd", 7), ("magazine", 14), ("set", 28),
                                        ("audiobook", 21)])
def test_loan_period_per_media_type_ends_at_end_of_day(media, days):
    due = rules.due_date(media, NOW)
    assert due == datetime.combine(NOW.date() + timedelta(days=days), rules.DUE_TIME)


def test_overdue_fine_counts_whole_days_after_due_day_and_is_capped():
    due = datetime(2026, 11, 1, 23, 59)
    assert rules.overdue_fine("book", due, datetime(2026, 11, 1, 23, 59, 30)) == 0
    assert rules.overdue_fine("book", due, datetime(2026, 11, 2, 9, 0)) == 25
    assert rules.overdue_fine("dvd", due, datetime(2026, 11, 4, 9, 0)) == 300
    assert rules.overdue_fine("book", due, datetime(2027, 6, 1)) == rules.MEDIA["book"].max_fine


def test_money_roundtrip():
    assert rules.money(1250) == "12.50" and rules.money(5) == "0.05"
    assert rules.parse_money("2.50") == 250 and rules.parse_money("x") is None
    assert rules.parse_money("-1") is None


# ------------------------------------------------------------------------------------ checkout
def test_checkout_ok_gives_due_date_of_media_type():
    d = rules.decide_checkout(patron(), item(media="dvd"), None, [], NOW)
    assert d.ok and not d.renewal and d.due_at == rules.due_date("dvd", NOW)


@pytest.mark.parametrize("kw,reason", [
    (dict(status="blocked", block_note="damaged"), "Patron debarred: damaged"),
    (dict(status="lost_card"), "card reported lost"),
    (dict(expires=date(2026, 1, 31)), "Patron expired on 2026-01-31"),
    (dict(fines=1001), "Patron has fines"),
    (dict(overdue=3), "Too many overdue items"),
    (dict(loans=10), "Too many items checked out"),
])
def test_checkout_refused_with_reason_for_patron_blocks(kw, reason):
    d = rules.decide_checkout(patron(**kw), item(), None, [], NOW)
    assert not d.ok and reason in d.message


def test_fine_limit_is_inclusive_of_the_limit_itself():
    assert rules.decide_checkout(patron(fines=1000), item(), None, [], NOW).ok


def test_child_limits_are_lower():
    assert not rules.decide_checkout(patron(category="child", loans=5), item(), None, [], NOW).ok
    assert rules.decide_checkout(patron(category="adult", loans=5), item(), None, [], NOW).ok


def test_unknown_patron_and_item_use_koha_texts():
    assert rules.decide_checkout(None, item(), None, [], NOW).message == "Invalid Patron"
    assert rules.decide_checkout(patron(), None, None, [], NOW).message == "Invalid Item"


@pytest.mark.parametrize("it,reason", [
    (item(media="reference"), "Item not for loan"),
    (item(status="withdrawn"), "Item withdrawn"),
    (item(status="lost"), "marked lost"),
    (item(status="in_transit", transit_to="EAST"), "in transit"),
])
def test_checkout_refused_for_item_state(it, reason):
    d = rules.decide_checkout(patron(), it, None, [], NOW)
    assert not d.ok and reason in d.message


def test_item_on_loan_to_someone_else_is_refused():
    d = rules.decide_checkout(patron(), item(), loan(card="P9"), [], NOW)
    assert not d.ok and d.message == "Item checked out to another patron"


def test_repeated_checkout_by_same_patron_is_a_renewal():
    d = rules.decide_checkout(patron(), item(), loan(days_ago=3), [], NOW)
    assert d.ok and d.renewal and "renewing" in d.message
    assert d.due_at == rules.due_date("book", NOW)


def test_repeated_checkout_at_renewal_limit_is_refused_not_renewed():
    d = rules.decide_checkout(patron(), item(), loan(renewals=3), [], NOW)
    assert not d.ok and not d.renewal and "maximum renewals" in d.message


def test_hold_for_another_patron_blocks_checkout_but_own_hold_is_filled():
    other = rules.decide_checkout(patron(), item(), None, [hold(card="P2", status="waiting")], NOW)
    assert not other.ok and other.message == "Item is on hold for another patron."
    mine = rules.decide_checkout(patron(), item(), None, [hold(card="P1", status="waiting", hid=5)], NOW)
    assert mine.ok and mine.fill_hold_id == 5


def test_rental_fee_needs_acknowledgement():
    d = rules.decide_checkout(patron(), item(media="dvd-new"), None, [], NOW)
    assert not d.ok and d.fee == 200 and d.fee_type == rules.FEE_RENTAL
    d = rules.decide_checkout(patron(), item(media="dvd-new"), None, [], NOW, fee_acknowledged=True)
    assert d.ok and d.fee == 200


def test_no_block_checkout_is_forced_with_original_dates():
    when = NOW - timedelta(days=2)
    promised = datetime(2026, 12, 20, 23, 59)
    d = rules.decide_checkout(patron(status="blocked"), item(), loan(card="P9"), [hold()], NOW, no_block=True,
                              transaction_date=when, nb_due_date=promised)
    assert d.ok and d.forced and d.issued_at == when and d.due_at == promised and d.return_loan_id == 7
    d = rules.decide_checkout(patron(), item(), None, [], NOW, no_block=True, transaction_date=when)
    assert d.due_at == rules.due_date("book", when)


def test_wrong_pin_refuses_checkout_but_no_pin_is_trusted():
    assert rules.decide_checkout(patron(), item(), None, [], NOW, pin_given="9999").message == \
        "Invalid patron password"
    assert rules.decide_checkout(patron(), item(), None, [], NOW, pin_given=None).ok


def test_pin_rules():
    assert rules.pin_ok(patron(pin="1234"), "1234") and not rules.pin_ok(patron(pin="1234"), None)
    assert rules.pin_ok(patron(pin=None), None) and rules.pin_ok(patron(pin=None), "")
    assert not rules.pin_ok(patron(pin=None), "1234")


# ------------------------------------------------------------------------------------ renewal
def test_renewal_ok_and_limits():
    d = rules.decide_renewal(patron(), item(), loan(renewals=2), [], NOW)
    assert d.ok and d.due_at == rules.due_date("book", NOW)
    d = rules.decide_renewal(patron(), item(media="dvd-new"), loan(media="dvd-new"), [], NOW)
    assert not d.ok and d.message == "Item has reached maximum renewals"


def test_renewal_never_shortens_the_loan():
    issued = NOW - timedelta(days=1)
    long_loan = LoanView(id=1, card="P1", barcode="I1", issued_at=issued, due_at=NOW + timedelta(days=60))
    assert rules.decide_renewal(patron(), item(), long_loan, [], NOW).due_at == long_loan.due_at


def test_holds_block_renewal():
    d = rules.decide_renewal(patron(), item(), loan(), [hold(card="P2")], NOW)
    assert not d.ok and d.message == "Item unavailable due to outstanding holds"


@pytest.mark.parametrize("kw", [dict(status="blocked"), dict(expires=date(2020, 1, 1)), dict(fines=5000)])
def test_blocked_patrons_cannot_renew(kw):
    assert not rules.decide_renewal(patron(**kw), item(), loan(), [], NOW).ok


def test_overdue_items_may_be_renewed():
    assert rules.decide_renewal(patron(overdue=1), item(), loan(days_ago=40), [], NOW).ok


def test_renewal_of_item_not_on_loan_to_patron():
    assert rules.decide_renewal(patron(), item(), loan(card="P9"), [], NOW).message == "Item not checked out to you"
    assert not rules.decide_renewal(patron(), item(), None, [], NOW).ok


# ------------------------------------------------------------------------------------ checkin
def test_checkin_of_loan_closes_it_and_sorts_by_media():
    d = rules.decide_checkin(item(media="dvd"), loan(media="dvd"), [], NOW)
    assert d.ok and d.close_loan_id == 7 and not d.alert_type and d.sort_bin == rules.BIN_AV
    assert d.returned_at == NOW


def test_checkin_not_on_loan_is_koha_like_unless_checked_in_ok():
    d = rules.decide_checkin(item(), None, [], NOW)
    assert not d.ok and d.message == "Item not checked out" and d.close_loan_id is None
    assert rules.decide_checkin(item(), None, [], NOW, checked_in_ok=True).ok


def test_checkin_unknown_item_alert_99():
    d = rules.decide_checkin(None, None, [], NOW)
    assert not d.ok and not d.known and d.alert_type == "99" and d.message == "Invalid Item"


def test_checkin_with_hold_here_alert_01_and_hold_waits():
    d = rules.decide_checkin(item(), loan(), [hold(card="P2")], NOW)
    assert d.ok and d.alert_type == "01" and d.hold.card == "P2" and d.hold_status == "waiting"
    assert d.sort_bin == rules.BIN_HOLDS


def test_checkin_with_hold_elsewhere_alert_02_and_transit():
    d = rules.decide_checkin(item(), loan(), [hold(pickup=rules.OTHER_BRANCH)], NOW)
    assert d.alert_type == "02" and d.destination == rules.OTHER_BRANCH and d.item_status == "in_transit"


def test_first_hold_in_queue_wins():
    holds = [hold(card="P2", hid=1), hold(card="P3", pickup=rules.OTHER_BRANCH, hid=2)]
    assert rules.decide_checkin(item(), loan(), holds, NOW).hold.card == "P2"


def test_checkin_of_other_branch_item_alert_04_with_destination():
    d = rules.decide_checkin(item(home_branch=rules.OTHER_BRANCH), loan(), [], NOW)
    assert d.ok and d.alert_type == "04" and d.destination == rules.OTHER_BRANCH


def test_backdated_return_counts_from_its_date_but_not_before_loan():
    ln = loan(days_ago=40)
    back = NOW - timedelta(days=20)
    d = rules.decide_checkin(item(), ln, [], NOW, return_date=back)
    assert d.returned_at == back
    assert rules.decide_checkin(item(), ln, [], NOW, return_date=datetime(2000, 1, 1)).returned_at == ln.issued_at
    assert rules.decide_checkin(item(), ln, [], NOW, return_date=NOW + timedelta(days=3)).returned_at == NOW


def test_withdrawn_and_lost_items_go_to_staff():
    assert rules.decide_checkin(item(status="withdrawn"), None, [], NOW).alert_type == "99"
    d = rules.decide_checkin(item(status="lost"), loan(), [], NOW)
    assert d.ok and d.found_lost and d.sort_bin == rules.BIN_STAFF


# ---------------------------------------------------------------------------- status strings
def test_patron_status_flags():
    assert rules.patron_status_string(None, NOW) == "YYYY" + " " * 10
    assert rules.patron_status_string(patron(), NOW) == " " * 14
    s = rules.patron_status_string(patron(status="lost_card"), NOW)
    assert s[0] == "Y" and s[4] == "Y"
    s = rules.patron_status_string(patron(fines=2000), NOW)
    assert s[0] == "Y" and s[1] == "Y" and s[10] == "Y"
    s = rules.patron_status_string(patron(loans=10), NOW)
    assert s[0] == "Y" and s[5] == "Y" and s[1] == " "


def test_circulation_status_codes():
    assert rules.circulation_status(item(), None, []) == "03"
    assert rules.circulation_status(item(), loan(), []) == "04"
    assert rules.circulation_status(item(), None, [hold(status="waiting")]) == "08"
    assert rules.circulation_status(item(status="in_transit"), None, []) == "10"
    assert rules.circulation_status(item(status="lost"), None, []) == "12"


def test_holds_rules():
    assert rules.decide_hold(patron(), item(), [], None, NOW).available
    d = rules.decide_hold(patron(), item(), [hold()], loan(card="P9"), NOW, pickup=rules.OTHER_BRANCH)
    assert d.ok and d.queue_position == 2 and d.pickup_branch == rules.OTHER_BRANCH and not d.available
    assert not rules.decide_hold(patron(status="blocked"), item(), [], None, NOW).ok
    assert not rules.decide_hold(patron(), item(media="reference"), [], None, NOW).ok
