"""View -> words: every item state has an icon, a word and a sentence; receipts name no one."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from kiosk.circulation.view import ItemLine, LoanLine, PatronSummary, SessionView
from kiosk.ui.present import (
    blocked_text,
    first_name,
    item_instruction,
    item_rows,
    item_status,
    left_over,
    loan_rows,
    lookup_hint,
    receipt_lines,
)
from kiosk.ui.texts import REASONS, reason

DUE = datetime(2026, 12, 24, 23, 59)


@pytest.mark.parametrize("name, first", [("Müller, Anna Maria", "Anna"), ("Bruno Díaz García", "Bruno"),
                                         ("", ""), ("Cher", "Cher")])
def test_greeting_uses_the_first_name_only(name, first):
    assert first_name(name) == first


@pytest.mark.parametrize("line, words", [
    (ItemLine("1", state="seen"), "waiting"),
    (ItemLine("1", state="in_progress"), "Borrowing..."),
    (ItemLine("1", state="in_progress", action="checkin"), "Returning..."),
    (ItemLine("1", state="done", due_date=DUE), "Due back December 24, 2026"),
    (ItemLine("1", state="done", action="checkin", alert="hold_here"), "Someone is waiting"),
    (ItemLine("1", state="done", due_date=DUE, journaled=True), "updated later"),
    (ItemLine("1", state="refused", reason_key="limit_reached"), "borrowing limit"),
    (ItemLine("1", state="needs_staff", reason_key=None), "desk"),
    (ItemLine("1", state="refused", reason_key="no-such-key"), "Leave it at the desk"),
])
def test_every_item_state_reads_in_words(line, words):
    text, _badge = item_status(line, "en")
    instruction, _ = item_instruction(line)
    assert words in f"{text} {instruction}"


@pytest.mark.parametrize("line, instruction, stands_out", [
    (ItemLine("1", state="done", due_date=DUE), "Take it with you.", False),
    (ItemLine("1", state="refused", reason_key="on_hold_for_other"), "Leave it at the desk.", True),
    (ItemLine("1", state="refused", reason_key="fines"), "Leave it at the desk.", True),
    (ItemLine("1", state="done", action="checkin"), "Put it in the return bin.", False),
    (ItemLine("1", state="done", action="checkin", alert="hold_here"), "Leave it at the desk.", True),
    (ItemLine("1", state="done", action="checkin", alert="transfer"), "Put it in the return bin.", True),
    (ItemLine("1", state="needs_staff", action="checkin", reason_key="check_at_desk"), "Take it to the desk.", True),
    (ItemLine("1", state="refused", reason_key="missing_parts"), "Place every part on the pad together.", True),
])
def test_every_settled_line_ends_in_one_physical_instruction(line, instruction, stands_out):
    """Refusals, holds and transfers stand out; the status sentence never adds a second "to do"."""
    got, loud = item_instruction(line)
    assert (got, loud) == (instruction, stands_out)
    status, _badge = item_status(line, "en")
    assert "desk" not in status.lower() or line.reason_key == "check_at_desk", status
    rows = item_rows([line], "en")
    assert rows[0]["instruction"] == instruction and rows[0]["stands_out"] is stands_out
    if line.alert in ("hold_here", "transfer"):
        assert rows[0]["tone"] == "needs_staff" and rows[0]["icon"] == "hold"   # not a plain green tick


def test_duplicate_titles_are_told_apart_by_copy():
    lines = [ItemLine("3900000001", "Le Petit Prince", state="done"), ItemLine("3900000002", "Le Petit Prince"),
             ItemLine("3900000003", "Emma")]
    titles = [r["title"] for r in item_rows(lines, "en")]
    assert titles == ["Le Petit Prince (copy …0001)", "Le Petit Prince (copy …0002)", "Emma"]
    patron = PatronSummary(name="A B", loans=(LoanLine("3900000001", "Dune"), LoanLine("3900000002", "Dune")))
    assert [r["title"] for r in loan_rows(patron, (), "de")] == ["Dune (Exemplar …0001)", "Dune (Exemplar …0002)"]


@pytest.mark.parametrize("key, lang, words", [
    ("fines", "en", "You have charges of €12.50 on your account."),
    ("fines", "de", "12,50\xa0€"),
    ("overdue_items", "en", "Overdue items on your card: 3."),
    ("card_expired", "fr", "Votre carte"),
    ("card_lost", "en", "reported lost"),
    ("limit_reached", "es", "10"),
])
def test_a_blocked_patron_is_told_why_with_the_amount(key, lang, words):
    patron = PatronSummary(name="A B", fine_amount="12.50", currency="EUR", overdue_count=3, loan_count=10,
                           can_checkout=False, block_keys=(key,))
    why, todo = blocked_text(patron, key, lang)
    assert words.replace("\\xa0", "\xa0") in why and todo


def test_goodbye_and_receipt_list_what_was_not_borrowed():
    view = SessionView(state="ended", mode="borrow",
                       items=(ItemLine("1", "Emma", state="done", due_date=DUE),
                              ItemLine("2", "Dune", state="refused", reason_key="on_hold_for_other")))
    assert left_over(view, "en") == ["Dune: Leave it at the desk."]
    text = "\n".join(receipt_lines(view, "en"))
    assert "Not borrowed - please leave these at the desk:\n- Dune" in text
    returned = SessionView(state="ended", mode="return",
                           items=(ItemLine("3", "Solaris", state="done", action="checkin", alert="hold_here"),))
    assert "Leave these at the desk, someone is waiting for them:\n- Solaris" in "\n".join(receipt_lines(returned, "en"))


@pytest.mark.parametrize("key", sorted(REASONS))
def test_every_refusal_says_what_to_do_in_every_language(key):
    for lang in ("en", "de", "es", "fr"):
        happened, todo = reason(key, lang)
        assert happened
        if key not in ("pin_required", "enter_pin"):
            assert todo, (key, lang)


def test_loan_rows_follow_this_sessions_renewals():
    patron = PatronSummary(name="A B", loans=(LoanLine("1", "Emma", due_date=DUE), LoanLine("2", "Dune")))
    items = (ItemLine("1", state="done", action="renew", due_date=datetime(2027, 1, 7)),
             ItemLine("2", state="refused", action="renew", reason_key="renewal_limit"))
    rows = {r["item_id"]: r for r in loan_rows(patron, items, "de")}
    assert rows["1"]["status"] == "Verlängert" and "Januar 2027" in rows["1"]["due"] and not rows["1"]["can_renew"]
    assert rows["2"]["status"] == "Dieses Medium kann nicht noch einmal verlängert werden."
    assert loan_rows(None, items, "en") == []


@pytest.mark.parametrize("lang, words", [("en", "Looking up titles"), ("de", "abgefragt"), ("es", "Consultando"),
                                         ("fr", "Recherche des titres")])
def test_the_account_says_titles_are_on_their_way_until_the_last_one_arrives(lang, words):
    streaming = PatronSummary(name="A B", loans=(LoanLine("3901"), LoanLine("3902")), details_pending=2)
    assert words in lookup_hint(streaming, lang)
    assert lookup_hint(PatronSummary(name="A B", loans=(LoanLine("3901", "Emma"),)), lang) == ""
    assert lookup_hint(None, lang) == ""


def test_receipt_has_titles_and_due_dates_but_no_name():
    view = SessionView(state="receipt", mode="borrow",
                       patron=PatronSummary(name="Alice Example", masked_id="******0001"),
                       items=(ItemLine("1", "Emma", state="done", due_date=DUE),
                              ItemLine("2", "Dune", state="refused", reason_key="on_hold_for_other")))
    text = "\n".join(receipt_lines(view, "en"))
    assert "Emma" in text and "December 24, 2026" in text and "******0001" in text
    assert "Dune" in text and "desk" in text
    assert "Alice" not in text


def test_a_receipt_after_renewals_lists_them_with_their_new_due_dates():
    """QA: the account page's "Done" offered no receipt; the receipt it now offers says what was
    renewed and until when (not "Items borrowed"), and what could not be renewed stays on loan."""
    view = SessionView(state="receipt", mode="account", patron=PatronSummary(name="A B", masked_id="******0001"),
                       items=(ItemLine("1", "Emma", state="done", action="renew", due_date=datetime(2027, 1, 7)),
                              ItemLine("2", "Dune", state="refused", action="renew", reason_key="renewal_limit")))
    text = "\n".join(receipt_lines(view, "en"))
    assert "Items renewed: 1.\n- Emma\n  Due back January 7, 2027" in text
    assert "Not renewed (the due date stays):\n- Dune" in text and "borrowed" not in text and "desk" not in text
    assert "Verlängerte Medien: 1." in "\n".join(receipt_lines(view, "de"))
    # the goodbye screen: a loan not renewed stays with the patron -- not "Take it to the desk"
    assert left_over(dataclasses.replace(view, state="ended", patron=None), "en") == ["Dune"]


def test_still_waiting_is_said_in_every_language():
    from kiosk.circulation.view import ItemLine
    from kiosk.ui.present import item_status

    line = ItemLine(item_id="3900000002", state="in_progress", action="checkout", reason_key="still_waiting")
    texts = {lang: item_status(line, lang)[0] for lang in ("en", "de", "es", "fr")}
    assert texts["en"] == "Still waiting for the library system..."
    assert len(set(texts.values())) == 4                      # translated, not the English fallback
    plain = ItemLine(item_id="3900000002", state="in_progress", action="checkout")
    assert item_status(plain, "en")[0] == "Borrowing..."


def test_a_card_on_the_goodbye_screen_starts_the_next_patron_from_the_defaults():
    """Found in the real window: a card tapped while "Thank you!" showed went straight from
    "ended" to "identifying" with no idle view, and the last patron's high contrast (and language,
    text size, speech) greeted the next patron."""
    from kiosk.ui.present import next_patron_starts

    alice = PatronSummary(name="Alice Example")
    ended = SessionView(state="ended", mode="borrow", patron=alice)
    assert next_patron_starts(ended, SessionView(state="identifying", mode="borrow"))
    assert next_patron_starts(ended, SessionView(state="idle"))
    assert next_patron_starts(None, SessionView(state="idle"))
    # within one patron's session nothing is reset (the switches work mid-session)
    working = SessionView(state="working", mode="borrow", patron=alice)
    assert not next_patron_starts(SessionView(state="identifying", mode="borrow"), working)
    assert not next_patron_starts(working, SessionView(state="receipt", mode="borrow", patron=alice))
    assert not next_patron_starts(ended, ended)
    # choices made on the home screen before the card survive the card
    assert not next_patron_starts(SessionView(state="idle"), SessionView(state="identifying", mode="borrow"))


def test_every_badge_an_item_line_can_show_is_in_its_mode_s_column():
    """The items list keeps one badge column as wide as the widest word of the mode
    (present.BADGE_WORDS): a word item_status can give that is missing there would widen the
    column when it first appears and lay every row out again in that frame."""
    from itertools import product

    from kiosk.ui.present import BADGE_WORDS, item_status

    modes = {"checkout": "borrow", "renew": "borrow", "checkin": "return"}
    states = ("seen", "in_progress", "done", "refused", "needs_staff")
    alerts = (None, "hold_here", "hold_elsewhere", "transfer", "other")
    reasons = (None, "not_checked_out", "on_hold_for_other", "check_at_desk")
    seen: set[tuple[str, str]] = set()
    for action, state, alert, why in product(modes, states, alerts, reasons):
        if why == "not_checked_out" and action != "checkin":      # a return's refusal only
            continue
        _status, badge = item_status(ItemLine("1", state=state, action=action, alert=alert, reason_key=why), "en")
        if badge:
            seen.add((modes[action], badge))
            assert badge in BADGE_WORDS[modes[action]], (action, state, alert, why, badge)
    assert ("borrow", "Not possible") in seen and ("return", "Transfer") in seen
