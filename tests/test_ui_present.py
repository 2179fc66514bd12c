"""View -> words: every item state has an icon, a word and a sentence; receipts name no one."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.circulation.view import ItemLine, LoanLine, PatronSummary, SessionView
from kiosk.ui.present import first_name, item_status, loan_rows, lookup_hint, receipt_lines
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
    (ItemLine("1", state="done", action="checkin", alert="hold_here"), "holds shelf"),
    (ItemLine("1", state="done", due_date=DUE, journaled=True), "updated later"),
    (ItemLine("1", state="refused", reason_key="limit_reached"), "borrowing limit"),
    (ItemLine("1", state="needs_staff", reason_key=None), "desk"),
    (ItemLine("1", state="refused", reason_key="no-such-key"), "ask at the desk"),
])
def test_every_item_state_reads_in_words(line, words):
    text, _badge = item_status(line, "en")
    assert words in text


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
