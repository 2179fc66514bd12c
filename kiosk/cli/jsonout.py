"""One JSON style for every ``kiosk`` command.

One object per invocation (``--jsonl`` streams are the only exception: one compact object per
line, the last one the summary), pretty-printed with two spaces, UTF-8 text as is, times in ISO 8601
(``2026-12-06T14:05:00`` local wall-clock, or with an offset when the value carries one), and the
field names of the journal export (``item_id``, ``patron_id``, ``state``, ``reason_key``...).
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date, datetime, time
from typing import Any

# Journal/statistics fields that hold seconds since the epoch: printed as ISO 8601 like the rest.
EPOCH_FIELDS = ("created", "updated", "started", "at")


def iso_from_epoch(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(float(seconds)).isoformat(timespec="seconds")


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date | time):
        return o.isoformat()
    if isinstance(o, set | frozenset | tuple):
        return list(o)
    return str(o)


# Fields that may hold a SIP2 date as the library system sent it ("YYYYMMDDZZZZHHMMSS").
SIP_DATE_FIELDS = ("due", "due_date", "recall_date", "hold_pickup_date")
_SIP_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})(.{4})(\d{2})(\d{2})(\d{2})$")


def iso_from_sip(text: str | None) -> str | None:
    """``20270103    235900`` -> ``2027-01-03T23:59:00`` (``Z`` when the zone says UTC); other
    text (a library's free-form due date) is returned unchanged."""
    if not text:
        return text
    m = _SIP_DATE.match(text)
    if not m:
        return text
    y, mo, d, zone, h, mi, s = m.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}" + ("Z" if zone.strip() == "Z" else "")


_SPACED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?$")


def iso_everywhere(obj: Any) -> Any:
    """``2026-12-06 14:05:00`` (SQLite's readable form) -> ``2026-12-06T14:05:00``, in nested data."""
    if isinstance(obj, str):
        return obj.replace(" ", "T", 1) if _SPACED.match(obj) else obj
    if isinstance(obj, dict):
        return {k: iso_everywhere(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [iso_everywhere(v) for v in obj]
    return obj


def with_iso_times(row: dict) -> dict:
    """A copy of ``row`` whose epoch-second fields (``EPOCH_FIELDS``) and SIP2 dates
    (``SIP_DATE_FIELDS``) are ISO 8601 text."""
    out = dict(row)
    for key in EPOCH_FIELDS:
        if isinstance(out.get(key), int | float) and not isinstance(out.get(key), bool):
            out[key] = iso_from_epoch(out[key])
    for key in SIP_DATE_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = iso_from_sip(out[key])
    return out


def dumps(obj: Any, *, compact: bool = False) -> str:
    if compact:
        return json.dumps(obj, default=_default, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(obj, default=_default, ensure_ascii=False, indent=2)


def stdout_to_devnull() -> None:
    """The reader of our stdout left (``| head``): further writes, and the interpreter's final
    flush, go nowhere instead of raising BrokenPipeError again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def emit(obj: Any, *, compact: bool = False) -> None:
    """Print one JSON document (the invocation's one object) and flush.

    BrokenPipeError propagates (``kiosk.cli.main`` ends quietly on it) after stdout has been
    pointed at /dev/null, so nothing is printed about it at exit."""
    try:
        sys.stdout.write(dumps(obj, compact=compact) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        stdout_to_devnull()
        raise
