"""Patron-facing languages: gettext catalogs read with Babel, dates and amounts per language.

Catalogs live in ``kiosk/locale/<lang>/LC_MESSAGES/kiosk.po``.  They are compiled at runtime by
Babel (pure Python), so the kiosk needs neither system gettext nor a build step; English is the
msgid itself.  Every patron-visible string goes through :func:`tr`, which takes the language as
an argument so kv rules written ``text: tr("Borrow", app.lang)`` re-evaluate the moment the
patron switches language.  ``tools``: :func:`extract_msgids` finds every ``tr("...")`` in the
screens, used by the completeness test and to refresh the ``.pot``.
"""

from __future__ import annotations

import ast
import logging
import re
import threading
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
SOURCE_LANGUAGE = "en"

# Each language names itself (a patron who cannot read the current language finds their own).
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "es": "Español", "fr": "Français"}

_catalogs: dict[str, dict[str, str]] = {}
_lock = threading.Lock()


def load_catalog(lang: str) -> dict[str, str]:
    """msgid -> msgstr for ``lang`` (fuzzy and empty entries left out, so they fall back)."""
    with _lock:
        if lang in _catalogs:
            return _catalogs[lang]
        table: dict[str, str] = {}
        path = LOCALE_DIR / lang / "LC_MESSAGES" / "kiosk.po"
        if lang != SOURCE_LANGUAGE:
            try:
                with open(path, "rb") as fh:
                    catalog = read_po(fh, locale=lang)
                for msg in catalog:
                    if msg.id and msg.string and not msg.fuzzy and isinstance(msg.id, str):
                        table[msg.id] = msg.string
            except OSError:
                log.warning("no catalog for language %s at %s: showing English", lang, path)
        _catalogs[lang] = table
        return table


def tr(msgid: str, lang: str = SOURCE_LANGUAGE, **fields: object) -> str:
    """Translate ``msgid`` into ``lang``; ``{name}`` fields are filled after translation."""
    text = load_catalog(lang).get(msgid, msgid) if lang != SOURCE_LANGUAGE else msgid
    if fields:
        try:
            return text.format(**fields)
        except (KeyError, IndexError, ValueError):
            log.warning("translation of %r in %s has bad fields; using English", msgid, lang)
            return msgid.format(**fields)
    return text


def format_date(value: date | datetime | None, lang: str) -> str:
    """A due date the way the patron's language writes it: "14 March 2026", "14. März 2026"."""
    if value is None:
        return ""
    return _babel_format_date(value, format="long", locale=Locale.parse(lang))


def format_amount(amount: str | float | Decimal | None, currency: str, lang: str) -> str:
    """A fine as the patron's language writes money ("€2.50", "2,50 €").  ILS amounts are text."""
    if amount in (None, ""):
        return ""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        return str(amount)
    if currency:
        return format_currency(value, currency, locale=Locale.parse(lang))
    return format_decimal(value, format="#,##0.00", locale=Locale.parse(lang))


_TR_CALL = re.compile(r"""\b(?:tr|N_)\(\s*(?P<q>["'])(?P<id>(?:\\.|(?!(?P=q)).)*)(?P=q)""")


def extract_msgids(paths: list[Path]) -> dict[str, list[str]]:
    """Every literal ``tr("...")`` msgid in the given .py/.kv files -> where it is used."""
    found: dict[str, list[str]] = {}
    for path in paths:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in _TR_CALL.finditer(line):
                raw = m.group("id")
                msgid = ast.literal_eval(m.group("q") + raw + m.group("q")) if "\\" in raw else raw
                found.setdefault(msgid, []).append(f"{path.name}:{lineno}")
    return found


# Staff pages (staff mode tools, the morning report) speak to librarians in the kiosk's default
# language and are not part of the patron catalog that must be complete in every language.
STAFF_ONLY_PREFIXES = ("staff_", "morning_report")


def source_files() -> list[Path]:
    """The files whose ``tr()`` calls make up the patron catalog (every patron-facing screen)."""
    root = Path(__file__).resolve().parent.parent
    files = sorted((root / "screens").glob("*.py")) + sorted((root / "screens").glob("*.kv"))
    files = [f for f in files if not f.name.startswith(STAFF_ONLY_PREFIXES)]
    files += sorted((root / "ui").glob("*.py")) + sorted((root / "ui").glob("*.kv"))
    files.append(root / "app.py")
    return [f for f in files if f.name != "i18n.py"]


def N_(msgid: str) -> str:
    """Mark a msgid for the catalog without translating it yet (translated later with tr())."""
    return msgid
