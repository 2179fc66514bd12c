"""Is the journal sound?  What the health endpoint, ``kiosk doctor`` and the alerts are told.

Two problems are reported here (issue 13 item 3):

* **damaged**: SQLite found the journal file damaged (an integrity check, or a "malformed" /
  "not a database" answer).  The journal refuses everything; the kiosk is out of service; the
  damaged file is kept aside as ``journal.sqlite3.damaged-<UTC time>``.
* **lost**: the journal was missing or empty at start although the drop log, the statistics or a
  damaged copy show that this kiosk had worked before.  A new journal is started (the kiosk must
  keep taking returns) but the loss is recorded in it and reported until staff acknowledge it
  (``kiosk journal acknowledge-loss --note "..."``), because offline transactions kept only in the
  lost file never reached the library system.

State is process-wide (one kiosk, one journal); gauges ``journal_damaged`` and ``journal_lost``
go to the metrics registry so ``kiosk.appliance.alerts`` tells staff.  :func:`health_check` is what
``/health`` calls; :func:`doctor_check` what ``kiosk doctor`` calls (it opens nothing for writing).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from kiosk.appliance.durable import COMPANION_SUFFIXES

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.sqlite3"
LOSS_META_KEY = "started_after_loss"

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _gauge(name: str, value: float) -> None:
    """Set one of our gauges on the metrics registry (kiosk.appliance.alerts watches them).  Never raises:
    reporting must not stop the journal, whatever registry the monitoring layer uses."""
    docs = {"journal_damaged": "1 when the offline journal file is damaged (the kiosk refuses work)",
            "journal_lost": "1 when the journal was missing or empty after earlier work (not yet "
                            "acknowledged by staff)"}
    try:
        from kiosk.appliance.monitoring import metrics

        with contextlib.suppress(Exception):
            metrics.declare(name, "gauge", docs[name])
        metrics.set(name, value)
    except Exception:  # noqa: BLE001
        log.debug("metric %s not set", name, exc_info=True)


def note_damaged(path: Path, reason: str, kept_at: Path | None) -> None:
    with _lock:
        _state.update(damaged=reason, path=str(path), kept_at=str(kept_at) if kept_at else None)
    _gauge("journal_damaged", 1)


def note_lost(path: Path, loss: dict) -> None:
    with _lock:
        _state.update(lost=loss, path=str(path))
    log.error("journal %s was %s although %s: a new journal was started; offline transactions kept only in "
              "the old one may never have reached the library system (acknowledge with `kiosk journal "
              "acknowledge-loss --note ...` once checked)", path, loss.get("was", "missing"),
              "; ".join(loss.get("evidence", [])))
    _gauge("journal_lost", 1)


def note_sound(path: Path, *, loss_acknowledged: bool = False) -> None:
    with _lock:
        _state.pop("damaged", None)
        _state["path"] = str(path)
        if loss_acknowledged:
            _state.pop("lost", None)
    _gauge("journal_damaged", 0)
    if loss_acknowledged or "lost" not in _state:
        _gauge("journal_lost", 0)


def reset() -> None:
    """Forget everything (tests)."""
    with _lock:
        _state.clear()


def health_check() -> dict:
    """The ``journal_storage`` entry of ``/health``."""
    with _lock:
        st = dict(_state)
    if st.get("damaged"):
        return {"ok": False, "state": "damaged", "detail": st["damaged"], "kept_at": st.get("kept_at")}
    if st.get("lost"):
        return {"ok": False, "state": "lost", "detail": "journal was missing or empty after earlier work: "
                + "; ".join(st["lost"].get("evidence", [])), "since": st["lost"].get("at")}
    return {"ok": True, "state": "ok" if st.get("path") else "unknown"}


# -- evidence of earlier work ----------------------------------------------------------------------

def _count(path: Path, sql: str) -> int:
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error:
        return 0
    try:
        return int(conn.execute(sql).fetchone()[0] or 0)
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def evidence_of_earlier_work(journal_path: Path) -> list[str]:
    """Why we believe this kiosk worked before, from the files next to the journal.

    The drop log (after-hours returns journaled), the staff statistics (transactions counted)
    and damaged journals kept aside.  Empty when this is a new kiosk."""
    data = journal_path.parent
    found = []
    drops = _count(data / "bookdrop.sqlite3", "SELECT COUNT(*) FROM drops WHERE journal_id IS NOT NULL")
    if drops:
        found.append(f"the drop log lists {drops} journaled return(s)")
    events = _count(data / "stats.sqlite3", "SELECT COUNT(*) FROM events")
    if events:
        found.append(f"the statistics count {events} transaction(s)")
    kept = sorted(p.name for p in data.glob(f"{journal_path.name}.damaged-*") if not p.name.endswith(COMPANION_SUFFIXES))
    if kept:
        found.append(f"damaged journal(s) kept aside: {', '.join(kept)}")
    return found


def loss_record(journal_path: Path, was: str, evidence: list[str], at: str) -> str:
    return json.dumps({"was": was, "evidence": evidence, "at": at})


# -- kiosk doctor ------------------------------------------------------------------------------------

def doctor_check(data_dir: Path) -> tuple[bool, str]:
    """(ok, detail) for ``kiosk doctor``: integrity of the journal on disk, a recorded loss, kept files.

    Read-only: never creates, repairs or moves anything (the kiosk may be running)."""
    from kiosk.appliance.durable import integrity_problems

    path = Path(data_dir) / JOURNAL_FILE
    kept = sorted(p.name for p in path.parent.glob(f"{path.name}.damaged-*") if not p.name.endswith(COMPANION_SUFFIXES))
    aside = f"; damaged journal(s) kept aside: {', '.join(kept)}" if kept else ""
    wal = Path(str(path) + "-wal")
    if (not path.is_file() or path.stat().st_size == 0) and not (wal.is_file() and wal.stat().st_size):
        evidence = evidence_of_earlier_work(path)
        was = "missing" if not path.is_file() else "empty (0 bytes)"
        if evidence:
            return False, f"{was} although {'; '.join(evidence)} ({path})"
        return True, f"not created yet: a new kiosk ({path}){aside}"
    problems = integrity_problems(path)
    if problems:
        return False, f"damaged: {'; '.join(problems[:3])} ({path})"
    loss = None
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=2.0)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key=?", (LOSS_META_KEY,)).fetchone()
            loss = json.loads(row[0]) if row else None
        finally:
            conn.close()
    if loss:
        return False, (f"started anew on {loss.get('at')} after the old one was {loss.get('was')} "
                       f"({'; '.join(loss.get('evidence', []))}); acknowledge with `kiosk journal "
                       f"acknowledge-loss --note ...` ({path.name} in the data directory)")
    verdict = "intact" if problems == [] else "not checked in time"   # "sound" read as audio to staff
    # The file name, not the whole path: staff read this on the 800x480 diagnostics page too.
    return True, f"{verdict} ({path.name}){aside}"
