"""Refresh the patron catalog after changing a ``tr("...")`` text: the template and every language.

    .venv/bin/python scripts/update_catalogs.py

Writes ``kiosk/locale/kiosk.pot`` from the msgids in the patron screens (``kiosk.ui.i18n.source_files``)
and merges it into ``kiosk/locale/<lang>/LC_MESSAGES/kiosk.po``: translations are kept, new texts
arrive with an empty ``msgstr`` for the translator, texts no longer used are dropped.  The tests
(``tests/test_ui_i18n.py``) then fail until every new text is translated in every language.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.ui.i18n import LOCALE_DIR, extract_msgids, source_files  # noqa: E402


def _locations(where: list[str]) -> list[tuple[str, int]]:
    return [(name, int(line)) for name, line in (w.rsplit(":", 1) for w in where)]


def main() -> int:
    template = Catalog(project="libkiosk", version="0.1", copyright_holder="libkiosk contributors",
                       charset="utf-8", fuzzy=False)
    for msgid, where in sorted(extract_msgids(source_files()).items()):
        template.add(msgid, locations=_locations(where))
    with open(LOCALE_DIR / "kiosk.pot", "wb") as fh:
        write_po(fh, template, width=100)
    for po_path in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/kiosk.po")):
        with open(po_path, "rb") as fh:
            catalog = read_po(fh, locale=po_path.parent.parent.name)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with open(po_path, "wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False)
        missing = [m.id for m in catalog if m.id and not m.string]
        print(f"{po_path.relative_to(ROOT)}: {len(missing)} to translate" + (f": {missing}" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
