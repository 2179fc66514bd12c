"""Privacy: no patron name, full card number or e-mail address in any log record of the test run.

Runs last (file name) and scans every record the shared collector in tests/conftest.py kept while
the whole suite ran — the SIP2 client, the demo library system, the circulation engine, the UI —
at DEBUG level, *before* the production log filter, so code must mask identifiers itself
(``kiosk.appliance.privacy.mask`` / ``scrub_sip_frame``) as the developers' guide requires.  GUI tests run the
app in their own processes; their records come back through a file (tests/conftest.py
``KIOSK_RUN_LOG_SINK``) and are scanned too.  Other subprocesses (``kiosk run`` in test_ui_run,
the tour) are not seen here.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pytest


def _collector():
    for h in logging.getLogger().handlers:
        if type(h).__name__ == "RunLogCollector":
            return h
    pytest.fail("the run log collector of tests/conftest.py is not installed")


def sensitive_values() -> dict[str, str]:
    """Patron names (both orders), card numbers and e-mails of the demo library -> what they are."""
    try:
        from kiosk.demo_ils.db import LibraryDb
    except ImportError:  # the demo library system is not built yet: use its seed table
        from kiosk.demo_ils.seed import patron_seeds
        patrons = [{"name": p.name} for p in patron_seeds()]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            db = LibraryDb(Path(tmp) / "lib.sqlite3")
            db.seed()
            patrons = db.export()["patrons"]
            db.close()
    values: dict[str, str] = {}
    for p in patrons:
        name = str(p.get("name") or "")
        if name:
            values[name] = "patron name"
            parts = name.split()
            if len(parts) >= 2:
                values[f"{parts[-1]}, {' '.join(parts[:-1])}"] = "patron name"
        for key in ("card", "email"):
            if p.get(key) and len(str(p[key])) >= 6:
                values[str(p[key])] = {"card": "full card number", "email": "patron e-mail"}[key]
    return values


def find_leaks(records, values: dict[str, str]) -> list[str]:
    leaks = []
    for test, logger, level, text in records:
        for value, what in values.items():
            if value in text:
                leaks.append(f"{test}: {logger} {level}: {what} in log: {text[:200]!r}")
    return leaks


def test_scanner_catches_a_leak():
    """The check can fail: a logged name and card number are found."""
    values = sensitive_values()
    assert values, "no demo patrons to look for"
    name = next(v for v, w in values.items() if w == "patron name")
    card = next((v for v, w in values.items() if w == "full card number"), "2000000001")
    records = [("t", "kiosk.x", "INFO", f"checkout for {name} card {card}"),
               ("t", "kiosk.x", "INFO", "checkout for card ******0001")]
    leaks = find_leaks(records, {**values, card: "full card number"})
    assert len(leaks) == 2 and "patron name" in " ".join(leaks) and "full card number" in " ".join(leaks)


def test_no_patron_data_in_any_log_of_the_run():
    collector = _collector()
    records = [r for r in collector.records if not r[0].endswith("test_scanner_catches_a_leak")]
    leaks = find_leaks(records, sensitive_values())
    assert not leaks, f"{len(leaks)} log record(s) carry patron data:\n" + "\n".join(leaks[:20])


def test_the_gui_processes_logs_are_part_of_the_scan():
    """The patron screens log card taps and sessions in the GUI tests' own processes: those records
    must have reached the scan above (a leak there is caught, e.g. an unmasked card in kiosk.app)."""
    collector = _collector()
    if not collector.child_tests:
        pytest.skip("no GUI test ran in this session (the whole suite runs them)")
    app_records = [r for r in collector.records if r[0] in collector.child_tests and r[1] == "kiosk.app"]
    assert any("presented" in r[3] for r in app_records), "no card-tap record came back from a GUI test"
