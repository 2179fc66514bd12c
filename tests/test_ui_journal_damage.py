"""The real app on a damaged journal (issue 13 item 3): out of service, the file kept aside,
the staff diagnostics saying why -- and a patron's return is never acknowledged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui
SHOTS = os.environ.get("KIOSK_STAFF_SHOTS")


def test_a_journal_damaged_on_the_card_puts_the_kiosk_out_of_service(gui_kiosk):
    from tests.test_journal_damage import damage_pages, fill

    data: dict[str, Path] = {}

    def setup(settings, server):  # noqa: ANN001 - before the app opens its journal
        path = Path(settings.data_dir) / "journal.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        fill(path)
        damage_pages(path)
        data["dir"] = path.parent

    with gui_kiosk(setup=setup) as k:
        d, app = k.driver, k.app
        d.until_screen("out_of_service", 20)
        kept = [p for p in data["dir"].glob("journal.sqlite3.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
        assert kept and app.service.storage_problem
        app.intent("start", "return")            # a patron taps "return": still out of service
        d.pump(0.5)
        assert d.screen == "out_of_service" and not app.service.view().items
        if SHOTS:
            d.screenshot(Path(SHOTS) / "out-of-service-damaged-journal.png")
