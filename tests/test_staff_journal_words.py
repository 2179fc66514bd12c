"""The staff journal page's cells in words (kiosk/screens/staff_journal.py), without a window."""

from __future__ import annotations

from kiosk.screens.staff_journal import due_words, when_words
from kiosk.staff.results import JournalEntry


def entry(**kw) -> JournalEntry:  # noqa: ANN003
    return JournalEntry(1, "checkout", "30000042", "**********5172", "staff", "2026-12-05 19:32", **kw)


def test_an_entry_from_an_earlier_day_says_its_day_today_only_the_time():
    assert when_words("2026-12-05 19:32", "en", "2026-12-05") == "19:32"
    assert when_words("2026-12-04 19:32", "en", "2026-12-05") == "12/4 19:32"
    assert when_words("2026-12-04 19:32", "de", "2026-12-05") == "4.12. 19:32"
    assert when_words("2025-12-04 19:32", "fr", "2026-01-02") == "04/12/2025 19:32"    # another year


def test_the_due_date_promised_offline_and_the_librarys():
    assert due_words(entry(promised_due="2030-01-15"), "en") == "1/15/30 (promised)"
    assert due_words(entry(promised_due="2030-01-15"), "de") == "15.01.30 (zugesagt)"
    assert due_words(entry(promised_due="2030-01-15", library_due="2030-01-15"), "en") == "1/15/30"
    assert due_words(entry(promised_due="2030-01-15", library_due="2030-01-20"), "en") == \
        "1/20/30 (promised: 1/15/30)"
    assert due_words(entry(), "en") == ""                       # a return: no due date
