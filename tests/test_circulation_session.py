"""The pure patron-session machine: states, stacks, parts, timeouts, privacy (no threads, no I/O)."""

from __future__ import annotations

import pytest

from kiosk.circulation import view as v
from kiosk.circulation.effects import EndPatron, Identify, Transact
from kiosk.circulation.session import Session, SessionConfig
from kiosk.ils.base import Loan, Patron

ALICE = Patron(patron_id="23529000445172", name="Alice", valid=True, can_checkout=True, can_renew=True,
               loans=(Loan(item_id="L1", title="Old book"),))
BLOCKED = Patron(patron_id="23529000000009", name="Bob", valid=True, can_checkout=False,
                 blocks=("charge privileges denied", "excessive outstanding fines"),
                 screen_message="Patron has fines")


def identified(session: Session, patron: Patron = ALICE, now: float = 0.0) -> list:
    effects = session.card_presented(patron.patron_id, None, now)
    assert effects == [Identify(session.session_id, patron.patron_id, None)]
    return session.patron_identified(session.session_id, patron, now)


def lines(session: Session) -> dict[str, v.ItemLine]:
    return {i.item_id: i for i in session.view().items}


def test_card_identifies_then_items_are_checked_out_in_parallel():
    s = Session()
    assert s.view().state == v.IDLE
    s.card_presented(ALICE.patron_id, None, 0)
    assert s.view().state == v.IDENTIFYING and s.view().busy
    s.patron_identified(s.session_id, ALICE, 1)
    view = s.view()
    assert view.state == v.IDENTIFIED and view.patron.name == "Alice"
    assert ALICE.patron_id not in repr(view.patron)          # never the card number on screen
    e1 = s.item_seen("B1", 2)
    e2 = s.item_seen("B2", 2)
    assert [e.item_id for e in e1 + e2] == ["B1", "B2"]
    assert all(isinstance(e, Transact) and e.action == v.CHECKOUT and e.patron_id == ALICE.patron_id
               for e in e1 + e2)
    assert s.view().state == v.WORKING
    assert {i.state for i in s.view().items} == {v.IN_PROGRESS}
    s.item_result(s.session_id, "B2", 3, state=v.DONE, title="Second")   # results arrive in any order
    assert lines(s)["B2"].state == v.DONE and lines(s)["B1"].state == v.IN_PROGRESS


def test_items_placed_before_identification_are_picked_up_afterwards():
    s = Session()
    assert s.item_seen("EARLY", 0) == []           # idle: remembered, not sent
    assert lines(s)["EARLY"].state == v.SEEN
    s.card_presented(ALICE.patron_id, None, 1)
    assert s.item_seen("DURING", 1) == []          # still identifying
    effects = s.patron_identified(s.session_id, ALICE, 2)
    assert sorted(e.item_id for e in effects) == ["DURING", "EARLY"]


def test_return_session_needs_no_patron():
    s = Session()
    s.start(v.RETURN, 0)
    assert s.view().state == v.WORKING and s.view().patron is None
    (e,) = s.item_seen("R1", 1)
    assert e.action == v.CHECKIN and e.patron_id is None


def test_multi_part_set_goes_out_only_when_all_parts_are_present():
    s = Session()
    identified(s)
    assert s.item_seen("SET", 1, parts_in_item=3, part_number=1, uid="u1") == []
    assert lines(s)["SET"].reason_key == "missing_parts" and lines(s)["SET"].parts_present == 1
    assert s.item_seen("SET", 1, parts_in_item=3, part_number=3, uid="u3") == []
    s.item_removed("u3", 2)
    assert lines(s)["SET"].parts_present == 1
    assert s.item_seen("SET", 3, parts_in_item=3, part_number=2, uid="u2") == []
    (e,) = s.item_seen("SET", 4, parts_in_item=3, part_number=3, uid="u3")
    assert e.uids == ("u1", "u2", "u3")
    assert lines(s)["SET"].state == v.IN_PROGRESS and lines(s)["SET"].reason_key is None


def test_blocked_patron_items_are_refused_with_a_reason_without_asking_the_library():
    s = Session()
    identified(s, BLOCKED)
    assert s.view().message_key == "fines"
    assert s.item_seen("B1", 1) == []
    line = lines(s)["B1"]
    assert line.state == v.REFUSED and line.reason_key == "fines"


def test_pin_required_and_a_blank_pin_check_does_not_authenticate():
    s = Session(SessionConfig(require_pin=True))
    assert s.card_presented(ALICE.patron_id, None, 0) == []
    assert s.view().needs_pin and s.view().message_key == "pin_required"
    (e,) = s.pin_entered("1234", 1)
    assert e.pin == "1234"
    s.patron_identified(s.session_id, ALICE, 2)          # pin_ok None: the server did not check it
    assert s.view().state == v.IDENTIFYING and s.view().message_key == "wrong_pin"
    s.pin_entered("1234", 3)
    s.patron_identified(s.session_id, Patron(**{**ALICE.__dict__, "pin_ok": True}), 4)
    assert s.view().state == v.IDENTIFIED


def test_unknown_card_stays_identifying_with_a_message():
    s = Session()
    s.card_presented("999", None, 0)
    s.patron_identified(s.session_id, Patron(patron_id="999", valid=False), 1)
    assert s.view().state == v.IDENTIFYING and s.view().message_key == "unknown_card"


def test_a_second_card_never_mixes_two_patrons():
    s = Session()
    identified(s)
    assert s.card_presented("OTHER", None, 1) == []
    assert s.view().message_key == "finish_first" and s.view().patron.name == "Alice"


def test_late_results_of_an_ended_session_are_ignored():
    s = Session()
    identified(s)
    s.item_seen("B1", 1)
    old = s.session_id
    s.cancel(2)
    s.tick(100)                                            # goodbye screen over -> idle
    identified(s, BLOCKED, 101)
    assert s.item_result(old, "B1", 102, state=v.DONE) == []
    assert "B1" not in lines(s)


def test_items_left_on_the_pad_are_not_worked_for_the_next_patron():
    s = Session(SessionConfig(ended_display_s=1))
    identified(s)
    s.item_seen("LEFT", 1, uid="uL")
    s.item_result(s.session_id, "LEFT", 2, state=v.DONE)
    s.finish("none", 3)
    assert s.view().state == v.ENDED and s.view().patron is None     # privacy: patron gone at once
    s.tick(5)
    assert s.view().state == v.IDLE and s.view().items == ()
    identified(s, Patron(patron_id="P2", valid=True, can_checkout=True), 6)
    assert s.item_seen("LEFT", 7, uid="uL") == []                     # still lying there: ignored
    assert "LEFT" not in lines(s)
    s.item_removed("uL", 8)
    assert [e.item_id for e in s.item_seen("LEFT", 9, uid="uL")] == ["LEFT"]   # placed again: worked


def test_items_taken_away_during_a_session_are_not_stale_later():
    s = Session(SessionConfig(ended_display_s=0))
    identified(s)
    s.item_seen("TAKEN", 1, uid="uT")
    s.item_result(s.session_id, "TAKEN", 2, state=v.DONE)
    s.item_removed("uT", 3)
    s.finish("none", 4)
    s.tick(5)
    s.start(v.RETURN, 6)
    assert [e.item_id for e in s.item_seen("TAKEN", 7, uid="uT")] == ["TAKEN"]


def test_idle_timeout_warns_first_then_ends_and_more_time_resets():
    s = Session(SessionConfig(timeout_s=60, warning_s=20))
    identified(s)
    s.tick(39)
    assert s.view().warning_s is None
    s.tick(41)
    assert s.view().warning_s == 19
    s.more_time(45)
    assert s.view().warning_s is None
    s.tick(100)
    assert s.view().warning_s == 5
    effects = s.tick(105)
    assert s.view().state == v.ENDED and s.view().message_key == "timed_out"
    assert effects == [EndPatron(ALICE.patron_id)]


def test_no_timeout_while_the_library_system_is_still_answering():
    s = Session(SessionConfig(timeout_s=60, warning_s=20))
    identified(s)
    s.item_seen("SLOW", 1)
    s.tick(500)
    assert s.view().state == v.WORKING
    s.item_result(s.session_id, "SLOW", 501, state=v.DONE)
    s.tick(540)
    assert s.view().warning_s is None                      # idle 39 s since the last result
    s.tick(542)
    assert s.view().warning_s == 19
    s.tick(562)
    assert s.view().state == v.ENDED


def test_finish_waits_for_items_in_progress_then_ends_with_the_receipt_choice():
    s = Session()
    identified(s)
    s.item_seen("B1", 1)
    s.finish("print", 2)
    assert s.view().state == v.RECEIPT and s.view().receipt == "print"
    effects = s.item_result(s.session_id, "B1", 3, state=v.DONE)
    assert s.view().state == v.ENDED and s.view().receipt == "print"
    assert [i.state for i in s.view().items] == [v.DONE]       # the app prints from this view
    assert effects == [EndPatron(ALICE.patron_id)]


def test_finish_without_choice_asks_and_timeout_in_receipt_ends_without_receipt():
    s = Session(SessionConfig(timeout_s=60, warning_s=20))
    identified(s)
    s.item_seen("B1", 1)
    s.item_result(s.session_id, "B1", 1, state=v.DONE)
    s.finish(None, 1)
    assert s.view().state == v.RECEIPT and s.view().receipt is None
    s.tick(200)
    assert s.view().state == v.ENDED and s.view().receipt is None


def test_finish_asks_for_no_receipt_when_nothing_was_borrowed_returned_or_renewed():
    """A commercial kiosk does not offer a receipt for a session with nothing on it: no items,
    or only refused ones.  While an answer is outstanding it cannot know yet, so it waits."""
    s = Session()
    identified(s)
    s.finish(None, 1)                                        # nothing placed at all
    assert s.view().state == v.ENDED and s.view().receipt is None
    s = Session()
    identified(s)
    s.item_seen("B1", 1)
    s.item_seen("B2", 1)
    s.item_result(s.session_id, "B1", 2, state=v.REFUSED, reason_key="on_hold_for_other")
    s.finish(None, 3)                                        # B2 still with the library system
    assert s.view().state == v.RECEIPT
    s.item_result(s.session_id, "B2", 4, state=v.REFUSED, reason_key="on_hold_for_other")
    assert s.view().state == v.ENDED and s.view().receipt is None     # both refused: no question
    s = Session()
    identified(s)
    s.item_seen("B1", 1)
    s.finish(None, 2)
    s.item_result(s.session_id, "B1", 3, state=v.DONE)
    assert s.view().state == v.RECEIPT                      # one borrowed: the patron is asked


def test_renew_and_renew_all_in_account_mode():
    s = Session()
    s.start(v.ACCOUNT, 0)
    s.card_presented(ALICE.patron_id, None, 0)
    s.patron_identified(s.session_id, ALICE, 1)
    assert s.item_seen("X", 2) == []                   # account mode does not check out
    (e,) = s.renew_all(3)
    assert e.action == v.RENEW and e.item_id == "L1"
    assert lines(s)["L1"].title == "Old book" and lines(s)["L1"].state == v.IN_PROGRESS


def test_done_after_a_renewal_on_the_account_page_asks_for_a_receipt_as_the_library_offers():
    """QA: "Done" on the account page ended the session without a receipt after renewals.  The
    session decides: a renewal is something to put on a receipt; nothing renewed, or a library that
    offers no receipt ([receipt] choices = ["none"]), ends at once."""
    def renewed(config: SessionConfig, state: str = v.DONE) -> Session:
        s = Session(config)
        s.start(v.ACCOUNT, 0)
        s.card_presented(ALICE.patron_id, None, 0)
        s.patron_identified(s.session_id, ALICE, 1)
        s.renew("L1", 2)
        s.item_result(s.session_id, "L1", 3, state=state, action=v.RENEW)
        s.finish(None, 4)
        return s

    assert renewed(SessionConfig()).view().state == v.RECEIPT
    assert renewed(SessionConfig(receipt_choices=("email", "none"))).view().state == v.RECEIPT
    assert renewed(SessionConfig(), v.REFUSED).view().state == v.ENDED
    s = renewed(SessionConfig(receipt_choices=("none",)))
    assert s.view().state == v.ENDED and s.view().receipt is None


def test_returns_only_kiosk_refuses_a_borrow_session():
    s = Session(SessionConfig(allow_borrow=False))
    assert s.card_presented(ALICE.patron_id, None, 0) == []
    assert s.view().message_key == "wrong_mode" and s.view().state == v.IDLE
    s.start(v.RETURN, 1)
    assert s.view().state == v.WORKING


def test_out_of_service_while_offline_with_policy_none():
    s = Session()
    s.set_connectivity(False, offline_mode=False, out_of_service=True)
    assert s.view().state == v.OUT_OF_SERVICE
    assert s.card_presented(ALICE.patron_id, None, 0) == [] and s.item_seen("B", 0) == []
    s.set_connectivity(True, offline_mode=False, out_of_service=False)
    assert s.view().state == v.IDLE


def test_every_change_bumps_the_version():
    s = Session()
    versions = [s.view().version]
    s.card_presented(ALICE.patron_id, None, 0)
    versions.append(s.view().version)
    s.patron_identified(s.session_id, ALICE, 1)
    versions.append(s.view().version)
    assert versions == sorted(set(versions))


def test_unknown_mode_and_receipt_choice_are_rejected():
    s = Session()
    with pytest.raises(ValueError):
        s.start("lend", 0)
    identified(s)
    with pytest.raises(ValueError):
        s.finish("fax", 1)


def test_items_placed_during_the_goodbye_screen_belong_to_the_next_session():
    s = Session(SessionConfig(ended_display_s=5))
    identified(s)
    s.finish("none", 1)
    assert s.view().state == v.ENDED
    assert s.item_seen("NEXT", 2, uid="uN") == [] and s.item_seen("GONE", 2, uid="uG") == []
    s.item_removed("uG", 3)
    assert "NEXT" not in lines(s)                      # not shown on the previous patron's goodbye
    s.tick(7)
    assert s.view().state == v.IDLE and list(lines(s)) == ["NEXT"]
    effects = identified(s, Patron(patron_id="P2", valid=True, can_checkout=True), 8)
    assert [e.item_id for e in effects] == ["NEXT"]


def test_pressing_the_wrong_mode_first_can_be_corrected():
    s = Session()
    s.start(v.BORROW, 0)
    s.item_seen("B1", 1)
    (e,) = s.start(v.RETURN, 2)                 # meant to return: nothing happened yet, switch
    assert s.view().mode == v.RETURN and e.action == v.CHECKIN and e.item_id == "B1"
    s.start(v.BORROW, 3)                        # too late now: B1 is being returned
    assert s.view().mode == v.RETURN


def test_a_card_after_returns_starts_a_borrow_session_without_the_returned_items():
    s = Session()
    s.start(v.RETURN, 0)
    s.item_seen("R1", 1, uid="u1")
    s.item_result(s.session_id, "R1", 2, state=v.DONE)
    (e,) = s.card_presented(ALICE.patron_id, None, 3)
    assert isinstance(e, Identify) and s.view().mode == v.BORROW and s.view().items == ()
    assert s.patron_identified(s.session_id, ALICE, 4) == []      # R1 still on the pad: not borrowed
    assert s.item_seen("R1", 5, uid="u1") == []


def test_an_item_without_an_answer_says_still_waiting_and_the_answer_clears_it():
    """Issue 13: a silent library system takes up to a timeout plus a resolution; the line says why it
    has not moved instead of "Borrowing..." for half a minute, and the real answer replaces it."""
    from kiosk.circulation.timers import STILL_WAITING

    s = Session(SessionConfig(still_waiting_s=5))
    identified(s)
    s.item_seen("SLOW", 1)
    s.item_seen("FAST", 1)
    s.tick(2)                                       # first tick that sees them in flight
    s.item_result(s.session_id, "FAST", 3, state=v.DONE)
    s.tick(6)
    assert lines(s)["SLOW"].reason_key is None      # 4 s: not yet
    version = s.version
    s.tick(7)
    assert lines(s)["SLOW"].state == v.IN_PROGRESS and lines(s)["SLOW"].reason_key == STILL_WAITING
    assert s.version > version                      # the screen is told
    assert lines(s)["FAST"].reason_key is None      # an answered item never says it
    s.item_result(s.session_id, "SLOW", 20, state=v.DONE, journaled=True)
    assert lines(s)["SLOW"].state == v.DONE and lines(s)["SLOW"].reason_key is None
    s.item_result(s.session_id, "FAST", 21, state=v.REFUSED, reason_key="on_hold_other")
    assert lines(s)["FAST"].reason_key == "on_hold_other"   # a real reason is never overwritten
