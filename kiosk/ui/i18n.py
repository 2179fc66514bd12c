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
import functools
import logging
import re
import threading
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

# Babel is imported where it is used: the home screen (in English) needs none of it, and importing
# it up front would delay the kiosk's first frame by tens of milliseconds.
log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
SOURCE_LANGUAGE = "en"

# Each language names itself (a patron who cannot read the current language finds their own).
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "es": "Español", "fr": "Français"}

_catalogs: dict[str, dict] = {}
_plurals: dict[str, object] = {}        # lang -> the catalog's plural rule, n -> msgstr index
_lock = threading.Lock()


CATALOG_NAMES = ("kiosk.po", "staff.po")   # patron catalog first: it wins on a duplicate msgid


def load_catalog(lang: str) -> dict:
    """msgid -> msgstr for ``lang`` (fuzzy and empty entries left out, so they fall back).

    The patron catalog ``kiosk.po`` and the staff catalog ``staff.po`` (staff pages, kept apart so
    the two are maintained independently) are merged; on a msgid in both, the patron text wins.
    """
    with _lock:
        if lang in _catalogs:
            return _catalogs[lang]
        table: dict[str, str] = {}
        if lang != SOURCE_LANGUAGE:
            from babel.messages.pofile import read_po

            for name in CATALOG_NAMES:
                path = LOCALE_DIR / lang / "LC_MESSAGES" / name
                try:
                    with open(path, "rb") as fh:
                        catalog = read_po(fh, locale=lang)
                except OSError:
                    log.warning("no catalog %s for language %s at %s: showing English", name, lang, path)
                    continue
                if lang not in _plurals:
                    import gettext

                    _plurals[lang] = gettext.c2py(catalog.plural_expr)
                for msg in catalog:
                    if msg.id and msg.string and not msg.fuzzy and isinstance(msg.id, str):
                        table.setdefault(msg.id, msg.string)
                    elif msg.id and isinstance(msg.id, tuple) and not msg.fuzzy and all(msg.string):
                        table.setdefault(msg.id, tuple(msg.string))    # plural forms, by index
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


def ntr(singular: str, plural: str, n: int, lang: str = SOURCE_LANGUAGE, **fields: object) -> str:
    """gettext's ngettext: "1 return" / "2 returns", with each language's own plural rule (French
    says "0 retour", Spanish has a third form for millions).  ``{n}`` and ``fields`` are filled in."""
    text = singular if n == 1 else plural
    if lang != SOURCE_LANGUAGE:
        forms = load_catalog(lang).get((singular, plural))
        rule = _plurals.get(lang)
        if forms and rule is not None:
            text = forms[min(int(rule(n)), len(forms) - 1)]
    try:
        return text.format(n=n, **fields)
    except (KeyError, IndexError, ValueError):
        log.warning("plural translation of %r in %s has bad fields; using English", singular, lang)
        return (singular if n == 1 else plural).format(n=n, **fields)


def format_time(value: datetime, lang: str) -> str:
    """A clock time the way the language writes it ("2:20 PM", "14:20")."""
    from babel import Locale
    from babel.dates import format_time as _babel_format_time

    return _babel_format_time(value, format="short", locale=Locale.parse(lang))


def format_date(value: date | datetime | None, lang: str) -> str:
    """A due date the way the patron's language writes it: "14 March 2026", "14. März 2026"."""
    if value is None:
        return ""
    return _format_date(value, lang)


@functools.lru_cache(maxsize=512)
def _format_date(value: date | datetime, lang: str) -> str:
    # Cached: the items list re-formats every due date on every view (a stack shares a handful
    # of dates), and Babel costs ~0.5-1 ms a call on the main thread of a small machine.
    from babel import Locale
    from babel.dates import format_date as _babel_format_date

    return _babel_format_date(value, format="long", locale=Locale.parse(lang))


def warm_up(lang: str) -> None:
    """Import Babel and load ``lang``'s locale data now (~50-100 ms, once per process).

    Called from a worker thread after the first frame, so the first due date or charge a patron
    sees does not stall a frame while Babel unpickles its locale data."""
    try:
        format_date(date.today(), lang)
        format_amount("1.00", "EUR", lang)
    except Exception:  # noqa: BLE001 - only a warm-up: the real call will report any problem
        log.debug("locale warm-up for %s failed", lang, exc_info=True)


def format_amount(amount: str | float | Decimal | None, currency: str, lang: str) -> str:
    """A fine as the patron's language writes money ("€2.50", "2,50 €").  ILS amounts are text."""
    if amount in (None, ""):
        return ""
    from babel import Locale
    from babel.numbers import format_currency, format_decimal

    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        return str(amount)
    if currency:
        return format_currency(value, currency, locale=Locale.parse(lang))
    return format_decimal(value, format="#,##0.00", locale=Locale.parse(lang))


_TR_CALL = re.compile(r"""\b(?:tr|N_)\(\s*(?P<q>["'])(?P<id>(?:\\.|(?!(?P=q)).)*)(?P=q)""")


def _python_msgids(path: Path, text: str) -> list[tuple[str, int]] | None:
    """Literal first arguments of ``tr()`` / ``N_()`` calls, implicit concatenation and calls
    spread over several lines included (which a line scan would cut short); None if unparsable."""
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError:
        return None
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        first = node.args[0]
        if name in ("tr", "N_") and isinstance(first, ast.Constant) and isinstance(first.value, str):
            out.append((first.value, node.lineno))
        elif name == "ntr" and len(node.args) >= 2 and all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[:2]):
            out.append(((first.value, node.args[1].value), node.lineno))     # a plural msgid
    return sorted(out, key=lambda pair: pair[1])


def extract_msgids(paths: list[Path]) -> dict:
    """Every literal ``tr("...")`` / ``N_("...")`` msgid in the given .py/.kv files -> where it is used
    (``ntr("one", "many", n)`` gives the plural msgid ``("one", "many")``)."""
    found: dict[str, list[str]] = {}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        calls = _python_msgids(path, text) if path.suffix == ".py" else None
        if calls is None:               # kv rules (one Python expression per line), or broken Python
            calls = []
            for lineno, line in enumerate(text.splitlines(), 1):
                for m in _TR_CALL.finditer(line):
                    raw = m.group("id")
                    msgid = ast.literal_eval(m.group("q") + raw + m.group("q")) if "\\" in raw else raw
                    calls.append((msgid, lineno))
        for msgid, lineno in calls:
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
    files += sorted((root / "speech").glob("*.py"))          # what the kiosk says (kiosk/speech/)
    return [f for f in files if f.name != "i18n.py"]


def staff_source_files() -> list[Path]:
    """The staff-only files (staff pages, the morning report, the staff console) whose ``tr()`` /
    ``N_()`` msgids make up the staff catalog ``staff.po``."""
    root = Path(__file__).resolve().parent.parent
    files = sorted((root / "screens").glob("*.py")) + sorted((root / "screens").glob("*.kv"))
    files = [f for f in files if f.name.startswith(STAFF_ONLY_PREFIXES)]
    console = root / "staff" / "console.py"
    if _TR_CALL.search(console.read_text(encoding="utf-8")):
        files.append(console)
    files.append(root / "hardware" / "doctor.py")   # N_() hints shown on the diagnostics page
    return files


def N_(msgid: str) -> str:
    """Mark a msgid for the catalog without translating it yet (translated later with tr())."""
    return msgid
