"""Catalogs: every patron-visible string is translated into German, Spanish and French."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from babel.messages.pofile import read_po

from kiosk.ui.i18n import (
    LOCALE_DIR,
    extract_msgids,
    format_amount,
    format_date,
    load_catalog,
    source_files,
    tr,
)

LANGS = ("de", "es", "fr")
FIELD = re.compile(r"\{(\w+)\}")


def test_extraction_finds_the_screens_strings():
    ids = extract_msgids(source_files())
    # a sample from every kind of source: kv screen, widget kv, texts table, app, present
    for msgid in ("Borrow", "Delete", "This item is reserved for another reader.",
                  "The library system is offline. Please use the desk.", "Due back {date}"):
        assert msgid in ids
    assert len(ids) > 100


@pytest.mark.parametrize("lang", LANGS)
def test_every_msgid_is_translated(lang):
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "kiosk.po"
    with open(path, "rb") as fh:
        catalog = read_po(fh, locale=lang)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(set(extract_msgids(source_files())) - set(translated))
    assert not missing, f"{lang}: {len(missing)} untranslated: {missing[:10]}"


@pytest.mark.parametrize("lang", LANGS)
def test_translations_keep_their_fields(lang):
    """A translation that drops or renames {n} / {date} would show raw braces or crash."""
    table = load_catalog(lang)
    for msgid in extract_msgids(source_files()):
        assert sorted(FIELD.findall(table[msgid])) == sorted(FIELD.findall(msgid)), (lang, msgid)


def test_pot_template_is_up_to_date():
    with open(LOCALE_DIR / "kiosk.pot", "rb") as fh:
        template = {m.id for m in read_po(fh) if m.id}
    assert template == set(extract_msgids(source_files()))


def test_tr_switches_language_and_falls_back():
    assert tr("Borrow", "de") == "Ausleihen"
    assert tr("Borrow", "es") == "Prestar"
    assert tr("Borrow", "fr") == "Emprunter"
    assert tr("Borrow", "en") == "Borrow"
    assert tr("Not a catalog entry", "de") == "Not a catalog entry"
    assert tr("Hello, {name}", "fr", name="Zoë") == "Bonjour, Zoë"


def test_dates_and_amounts_follow_the_language():
    due = datetime(2026, 3, 14, 23, 59)
    assert format_date(due, "en") == "March 14, 2026"
    assert format_date(due, "de") == "14. März 2026"
    assert format_date(due, "es") == "14 de marzo de 2026"
    assert format_date(due, "fr") == "14 mars 2026"
    assert format_amount("2.50", "EUR", "en") == "€2.50"
    assert format_amount("2.50", "EUR", "de") == "2,50\xa0€"
    assert format_amount("1234.5", "EUR", "fr") == "1\u202f234,50\xa0€"
    assert format_amount("garbage", "EUR", "de") == "garbage"
    assert format_amount("", "EUR", "de") == ""
