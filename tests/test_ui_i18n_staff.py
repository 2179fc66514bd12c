"""Staff catalogs: every staff-page string is translated into German, Spanish and French.

The staff pages (staff mode, the morning report) have their own catalog per language,
``kiosk/locale/<lang>/LC_MESSAGES/staff.po``, apart from the patron catalog ``kiosk.po``.  These
tests fail when someone adds a staff string without translating it, drops or renames a
``{field}`` in a translation, or leaves an entry behind whose msgid no staff page uses any more.
The GUI test renders every staff page in each language at 800x480 (normal and large text) and
finds button texts and labels that do not fit; set KIOSK_STAFF_SHOTS=DIR to keep screenshots.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk.ui import i18n
from kiosk.ui.i18n import LOCALE_DIR, extract_msgids, load_catalog, source_files, staff_source_files, tr

LANGS = ("de", "es", "fr")
FIELD = re.compile(r"\{(\w+)\}")
SHOTS = os.environ.get("KIOSK_STAFF_SHOTS")


def _staff_po(lang: str):  # noqa: ANN202 - a babel Catalog
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "staff.po", "rb") as fh:
        return read_po(fh, locale=lang)


def _patron_po(lang: str) -> dict[str, str]:
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "kiosk.po", "rb") as fh:
        return {m.id: m.string for m in read_po(fh, locale=lang) if m.id and m.string and not m.fuzzy}


def test_staff_files_are_the_staff_pages_only():
    staff = {f.name for f in staff_source_files()}
    assert {"staff_home.kv", "staff_settings.py", "staff_journal.py", "staff_diagnostics.py", "staff_stats.py",
            "morning_report.kv", "morning_report.py", "staff_base.kv"} <= staff
    assert not staff & {f.name for f in source_files()}, "a file in both the patron and the staff catalog"
    ids = extract_msgids(staff_source_files())
    # kv rules, N_() tables, and a tr() whose literal spans two lines (implicit concatenation)
    for msgid in ("Staff home", "Receipt printer", "Loan not confirmed: check the patron's account",
                  "Since {since}:", ("{n} return", "{n} returns"), ("{n} needs staff", "{n} need staff"),
                  "Last 7 days:", ("{n} renewal", "{n} renewals")):
        assert msgid in ids, msgid
    assert not [m for m in ids if isinstance(m, str) and m.endswith(", ")], "a msgid cut at the end of a line"
    # the staff console's answers (sync, connection test, printer state) are translated too
    assert "console.py" in staff and "{server}: online" in ids and "paper out" in ids


@pytest.mark.parametrize("lang", LANGS)
def test_every_staff_msgid_is_translated(lang):
    catalog = _staff_po(lang)
    assert str(catalog.locale) == lang and not catalog.fuzzy
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(set(extract_msgids(staff_source_files())) - translated)
    assert not missing, f"{lang} staff.po: {len(missing)} untranslated: {missing[:10]}"


@pytest.mark.parametrize("lang", LANGS)
def test_staff_translations_keep_their_fields(lang):
    """A translation that drops or renames {n} / {error} would show raw braces or fall back."""
    for m in _staff_po(lang):
        if m.id and m.string:
            ids = (m.id,) if isinstance(m.id, str) else m.id           # plural: ("{n} return", "{n} returns")
            for text in ((m.string,) if isinstance(m.string, str) else m.string):
                assert sorted(FIELD.findall(text)) == sorted(FIELD.findall(ids[-1])), (lang, m.id, m.string)


@pytest.mark.parametrize("lang, n, words", [
    ("en", 1, "1 return"), ("en", 2, "2 returns"), ("de", 1, "1 Rückgabe"), ("de", 2, "2 Rückgaben"),
    ("fr", 0, "0 retour"), ("fr", 1, "1 retour"), ("fr", 2, "2 retours"), ("es", 1, "1 devolución"),
    ("es", 5, "5 devoluciones"), ("es", 1000000, "1000000 de devoluciones"),
])
def test_counts_use_each_languages_plural_forms(lang, n, words):
    """gettext ngettext: the morning report and statistics say "1 return" / "2 returns" (and French
    "0 retour"), from the staff catalog's plural forms, not "{n} returns" for every n."""
    from kiosk.ui.i18n import ntr

    assert ntr("{n} return", "{n} returns", n, lang) == words


@pytest.mark.parametrize("lang", LANGS)
def test_no_obsolete_staff_entries(lang):
    catalog = _staff_po(lang)
    used = set(extract_msgids(staff_source_files()))
    unused = sorted(m.id for m in catalog if m.id and m.id not in used)
    assert not unused, f"{lang} staff.po: msgids no staff page uses: {unused[:10]}"
    assert not catalog.obsolete, f"{lang} staff.po keeps #~ entries: {list(catalog.obsolete)[:5]}"


@pytest.mark.parametrize("lang", LANGS)
def test_the_app_sees_staff_and_patron_texts_patron_first(lang):
    table = load_catalog(lang)
    patron = _patron_po(lang)
    staff = {m.id: m.string for m in _staff_po(lang) if m.id and m.string}
    for msgid, text in staff.items():
        assert table[msgid] == patron.get(msgid, text), msgid
    for msgid, text in patron.items():
        assert table[msgid] == text, msgid


def test_merge_prefers_the_patron_catalog(tmp_path, monkeypatch):
    po = 'msgid ""\nmsgstr ""\n"Language: de\\n"\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    d = tmp_path / "de" / "LC_MESSAGES"
    d.mkdir(parents=True)
    (d / "kiosk.po").write_text(po + 'msgid "Return"\nmsgstr "Zurückgeben"\n', encoding="utf-8")
    (d / "staff.po").write_text(po + 'msgid "Return"\nmsgstr "Rückgabe"\n\nmsgid "Journal"\nmsgstr "Protokoll"\n'
                                '\n#, fuzzy\nmsgid "Save"\nmsgstr "Sichern"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "_catalogs", {})
    assert i18n.tr("Return", "de") == "Zurückgeben"
    assert i18n.tr("Journal", "de") == "Protokoll"
    assert i18n.tr("Save", "de") == "Save"                  # fuzzy: falls back to English
    (d / "staff.po").unlink()
    monkeypatch.setattr(i18n, "_catalogs", {})
    assert i18n.tr("Return", "de") == "Zurückgeben"         # no staff catalog: patron texts still work
    assert i18n.tr("Journal", "de") == "Journal"


def test_staff_words_a_librarian_uses():
    assert tr("Loan", "de") == "Ausleihe" and tr("Check-in", "de") == "Rückgabe"
    assert tr("Renewal", "es") == "Renovación" and tr("Loan", "es") == "Préstamo"
    assert tr("Renewal", "fr") == "Prolongation" and tr("Check-in", "fr") == "Retour"
    assert tr("{n} of {total} checks found a problem.", "de", n=2, total=8) == "2 von 8 Prüfungen melden ein Problem."


def test_console_answers_in_the_kiosk_language():
    from kiosk.staff.results import ActionResult

    synced = ActionResult(True, "synced 3, to staff 1, waiting 0",
                          "{synced} sent, {staff} to staff, {waiting} waiting", {"synced": 3, "staff": 1, "waiting": 0})
    assert synced.words("de") == "3 gesendet, 1 an das Personal, 0 wartend"
    assert synced.words("en") == "3 sent, 1 to staff, 0 waiting"
    assert ActionResult(False, "connection refused").words("fr") == "connection refused"   # free text as is


# ---------------------------------------------------------------------------------- rendering
def _visible(w) -> bool:  # noqa: ANN001
    """On screen: in the window, not hidden (opacity 0) or parked off screen by any ancestor."""
    from kivy.core.window import Window

    node = w
    while node is not None and node is not Window:
        if node.opacity == 0:
            return False
        node = node.parent
    return w.get_root_window() is not None and w.right > 0 and w.x < Window.width and w.width > 1


def _misfits(root) -> list[str]:  # noqa: ANN001
    """Texts that do not fit: a word wider than its box, a button label taller than its button,
    or a label pushed out of its fixed-height row.  (Table cells cut with "..." by design.)"""
    from kivy.uix.label import Label
    from kivy.uix.scrollview import ScrollView

    from kiosk.screens.staff_base import Cell
    from kiosk.ui.widgets import Pressable

    bad = []
    for w in root.walk(restrict=True):
        if not isinstance(w, Label) or not w.text.strip() or isinstance(w, Cell) or not _visible(w):
            continue
        tw, th = w.texture_size
        if tw > w.width + 2:
            bad.append(f"too wide ({tw:.0f} > {w.width:.0f}): {w.text!r}")
        room = (w.text_size[0] or w.width) - 2 * (w.padding_x if hasattr(w, "padding_x") else 0)
        widest = max((w._label.get_extents(word)[0] for word in w.text.split()), default=0)
        if widest > room:               # Kivy breaks such a word in the middle ("Abbrech|en")
            bad.append(f"a word wider than its box ({widest:.0f} > {room:.0f}): {w.text!r}")
        if w.text_size[1] is not None and not w.shorten and _needed_height(w) > w.height + 2:
            bad.append(f"cut off ({_needed_height(w):.0f} > {w.height:.0f}): {w.text!r}")   # a fixed box
        parent = w.parent
        if isinstance(parent, Pressable) and th > parent.height + 2:
            bad.append(f"taller than its button ({th:.0f} > {parent.height:.0f}): {w.text!r}")
        inside_scroll = any(isinstance(a, ScrollView) for a in _ancestors(w))
        if not inside_scroll and parent is not None and not isinstance(parent, Pressable) \
                and (w.y < parent.y - 2 or w.top > parent.top + 2):
            bad.append(f"out of its row: {w.text!r}")
    return bad


def _needed_height(w) -> float:  # noqa: ANN001
    """The height ``w``'s text takes when wrapped at its width (a fixed text box shows less)."""
    from kivy.core.text import Label as CoreLabel

    core = CoreLabel(text=w.text, font_size=w.font_size, font_name=w.font_name, bold=w.bold,
                     text_size=(w.text_size[0], None), halign=w.halign)
    core.refresh()
    return core.texture.size[1]


def _ancestors(w):  # noqa: ANN001,ANN202
    node = w.parent
    while node is not None and node is not node.parent:
        yield node
        node = node.parent


@pytest.mark.gui
@pytest.mark.parametrize("lang", ("en", *LANGS))
def test_staff_pages_fit_at_800x480(gui_kiosk, lang):
    from datetime import datetime

    from kiosk.circulation import journal as J
    from kiosk.staff.auth import hash_secret
    from kiosk.staff.stats import Stats
    from kiosk.ui.palette import TOUCH_MIN
    from kiosk.ui.widgets import too_small

    with gui_kiosk({"staff.pin_hash": hash_secret("2468"), "kiosk.language": lang}) as k:
        d, app = k.driver, k.app
        assert app.lang == lang
        stats = Stats.for_settings(k.settings)
        for ok, kind in ((True, "checkout"), (True, "checkin"), (True, "renew"), (False, "checkout")):
            stats.record_event(kind, ok, datetime.now(), reason_key=None if ok else "on_hold_for_other")
        journal = app.service.journal
        txn = journal.record_intent("checkout", "30000042", patron_id="23529000445172")
        journal.record_outcome(txn, J.STAFF, reason_key="unconfirmed_checkout")
        journal.record_intent("renew", "30000043", patron_id="23529000445172")
        app.enter_staff()
        d.until_screen("staff")
        for digit in "2468":
            d.tap(d.button(digit))
        d.tap(d.button(tr("OK", lang)))
        d.until_screen("staff_home", 10)
        staff = app.staff_mode
        staff.start_bookdrop()
        problems: dict[str, list[str]] = {}

        def look(name: str) -> None:
            d.pump(0.3)
            found = _misfits(app.root_widget) + too_small(app.root_widget, TOUCH_MIN)
            if found:
                problems[name] = found
            if SHOTS:
                d.screenshot(Path(SHOTS) / f"{lang}-{name}.png")

        def open_page(name: str) -> None:
            staff.show(name)
            d.pump(0.15)                # NoTransition: on_enter (refresh) runs on the next frames

        for large in (False, True):
            app.theme.apply(app.theme.name, large_text=large)
            sfx = "-large" if large else ""
            open_page("staff_home")
            d.until(lambda: app.screen("staff_home").staff_queue == 1, 10, "journal counts")
            app.screen("staff_home").power = True
            look(f"home{sfx}")
            open_page("staff_settings")
            page = app.screen("staff_settings")
            for section in ("ils", "kiosk", "look"):
                page.section = section
                page.message = tr("Saved.", lang) + " " + tr(
                    "The library-system and offline settings take effect after a restart.", lang)
                page.restart_needed = section == "look"
                page.connection = tr("No connection: {detail}", lang, detail="127.0.0.1:9")
                look(f"settings-{section}{sfx}")
            page.edit("ils.host")
            look(f"settings-keyboard{sfx}")
            page.on_key("done")
            open_page("staff_diagnostics")
            diag = app.screen("staff_diagnostics")
            d.until(lambda diag=diag: not diag.checking, 20, "the checks")
            diag.action = tr("Watch the lights...", lang)
            look(f"diagnostics{sfx}")
            open_page("staff_journal")
            jpage = app.screen("staff_journal")
            d.until(lambda: "30000042" in "\n".join(d.texts()), 10, "the staff queue")
            jpage.resolving = txn
            jpage.result = tr("Sending...", lang)
            look(f"journal{sfx}")
            jpage.resolving = 0
            open_page("staff_stats")
            d.until(lambda: bool(app.screen("staff_stats").totals), 10, "statistics")
            look(f"stats{sfx}")
            open_page("morning_report")
            report = app.screen("morning_report")
            d.until(lambda report=report: bool(report.summary), 10, "the morning report")
            report.fault = True
            look(f"night{sfx}")
            report.fault = False
        assert not problems, "\n".join(f"{page}: {found}" for page, found in problems.items())
