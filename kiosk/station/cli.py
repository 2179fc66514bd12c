"""``kiosk tag program``, ``kiosk inventory scan|report`` and ``kiosk tags export``: the staff station
from a terminal (scripts, and stations without a screen).

Output is JSON (one line per tag or item) on stdout, messages for the person at the pad on stderr.
Exit codes (:mod:`kiosk.exitcodes`): 0 completed -- also when the library system does not know a
barcode (a refusal is an answer; the JSON says ``"result": "refused"``); 3 library system
unreachable; 4 the local record could not be written; 5 a tag could not be programmed (no tag,
two tags, locked, write or verification failed) or the reader failed; 64 usage.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import queue
import stat
import sys
import threading
import time
from typing import Any

from kiosk.exitcodes import EXIT_HARDWARE, EXIT_OK, EXIT_USAGE

PROGRAM_WAIT_S = 30.0
SIM_SCAN_TIMEOUT_S = 60.0


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _emit(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


# ------------------------------------------------------------------------------ kiosk tag program
def add_program_parser(tag_sub: argparse._SubParsersAction) -> None:
    """``kiosk tag program`` (registered from kiosk.hardware.cli's ``kiosk tag``)."""
    from kiosk.cli import add_config_args
    from kiosk.station.program import MODELS

    p = tag_sub.add_parser("program", help="write an item's data to the tag on the pad, verify it, record it")
    add_config_args(p)
    p.add_argument("item_id", metavar="ITEM_ID", help="item barcode as the library system knows it")
    p.add_argument("--parts", type=int, help="number of parts (one tag each; default: as the library system says)")
    p.add_argument("--model", choices=MODELS, help="tag data model (default: [tags] model)")
    p.add_argument("--simulate", action="store_true", help="program blank tags on the simulated pad")
    p.add_argument("--overwrite", action="store_true",
                   help="overwrite a tag that holds another item's data (logged with the old data)")
    p.add_argument("--wait", type=float, default=PROGRAM_WAIT_S, metavar="SECONDS",
                   help=f"how long to wait for each tag on the pad (default {PROGRAM_WAIT_S:g})")
    p.set_defaults(func=_program)


def _wait_for_one_tag(reader: Any, previous: str, seconds: float) -> None:
    """Wait until the pad holds one tag that is not the part just programmed (or time runs out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        uids = reader.inventory()
        if len(uids) == 1 and uids[0] != previous:
            return
        time.sleep(0.2)


def _confirm(text: str) -> bool:
    if not sys.stdin.isatty():
        return False
    _say(text + " Overwrite? [y/N] ")
    return sys.stdin.readline().strip().lower() in ("y", "yes", "j", "ja", "o", "oui", "s", "si", "sí")


def _program(args: argparse.Namespace) -> int:
    from kiosk.cli import settings_from_args
    from kiosk.hardware.sim import SimTagReader
    from kiosk.station.program import PlanError
    from kiosk.station.service import Station, new_session_id, open_tag_reader

    settings = settings_from_args(args, ils=True)
    if args.parts is not None and args.parts < 1:
        _say("error: --parts must be 1 or more")
        return EXIT_USAGE
    reader = SimTagReader(security=settings.tag_reader.security) if args.simulate else open_tag_reader(settings)
    station = Station(settings, reader, staff_session=new_session_id("cli"))
    try:
        item = station.programmer.lookup(args.item_id)
        if not item.known:
            _say(f"{args.item_id}: the library system does not know this barcode")
            _emit({"result": "refused", "code": "unknown_item", "item_id": args.item_id,
                   "message": "The library system does not know this barcode"})
            return EXIT_OK
        try:
            plans = station.programmer.plans(item, parts=args.parts, model=args.model)
        except PlanError as exc:
            _say(f"error: {exc}")
            return EXIT_USAGE
        _say(f"{item.item_id}: {item.title or '(no title)'} -- {len(plans)} tag(s), {plans[0].model}")
        failed = False
        previous = ""
        for plan in plans:
            if args.simulate:
                reader.clear()
                reader.place_blank()
            else:
                if len(plans) > 1:
                    _say(f"place part {plan.part_number} of {plan.parts} alone on the pad")
                _wait_for_one_tag(reader, previous, args.wait)
            result = station.programmer.program(plan, overwrite=args.overwrite)
            if result.needs_confirmation and _confirm(f"The tag holds item {result.existing.item_id}."):
                result = station.programmer.program(plan, overwrite=True)
            _emit(result.to_json())
            _say(f"{plan.label}: {result.text}" + (f" ({result.detail})" if result.detail else ""))
            failed |= not result.ok
            previous = result.uid
            if not result.ok:
                break
        return EXIT_HARDWARE if failed else EXIT_OK
    finally:
        station.close()
        reader.close()


# ------------------------------------------------------------------------------ kiosk inventory
def register(sub: argparse._SubParsersAction) -> None:
    from kiosk.cli import add_config_args

    inv = sub.add_parser("inventory", help="shelf check: read items shelf by shelf, list what needs action")
    inv_sub = inv.add_subparsers(dest="inventory_command", metavar="ACTION", required=True)
    scan = inv_sub.add_parser("scan", help="read tags on the pad (and barcodes from stdin) until interrupted; "
                                          "one JSON line per item")
    add_config_args(scan)
    scan.add_argument("--shelf", required=True, metavar="LABEL", help="label of the shelf being checked")
    scan.add_argument("--simulate", nargs="+", metavar="ITEM_ID",
                      help="put these items' tags on the simulated pad and stop once all were read")
    scan.add_argument("--stdin", action="store_true",
                      help="also read item barcodes from stdin, one a line (a keyboard-wedge scanner on the "
                           "terminal, or a file); 'shelf: LABEL' lines start the next shelf; the scan ends at "
                           "end of input. Implied when stdin is a pipe or a file")
    scan.add_argument("--no-mark-seen", action="store_true",
                      help="do not report the items seen to the library system (local record only)")
    scan.set_defaults(func=_scan)
    rep = inv_sub.add_parser("report", help="items seen and their exceptions, for import into the library system")
    add_config_args(rep)
    rep.add_argument("--since", required=True, metavar="ISO", help="start time, e.g. 2026-12-01 or 2026-12-01T08:00")
    rep.add_argument("--format", required=True, choices=("csv", "json"))
    rep.add_argument("--exceptions-only", action="store_true", help="only items that need action")
    rep.set_defaults(func=_report)

    tags = sub.add_parser("tags", help="the record of programmed tags")
    tags_sub = tags.add_subparsers(dest="tags_command", metavar="ACTION", required=True)
    exp = tags_sub.add_parser("export", help="one row per programmed tag (uid, item, model, part, bytes, result)")
    add_config_args(exp)
    exp.add_argument("--since", required=True, metavar="ISO", help="start time, e.g. 2026-12-01 or 2026-12-01T08:00")
    exp.add_argument("--format", required=True, choices=("csv", "json"))
    exp.set_defaults(func=_export)


def _stdin_is_data() -> bool:
    """stdin is a pipe or a regular file (``< barcodes.txt``, ``scanner | kiosk ...``): read it.
    A terminal, /dev/null (systemd, cron) or a closed stdin: do not."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def _read_lines(stream: Any, out: queue.Queue) -> None:
    """Barcodes from a keyboard-wedge scanner or a file, one a line (CR, LF or both), onto ``out``;
    ``("eof", None)`` at the end.  Runs on its own thread: a terminal's readline blocks."""
    try:
        for line in stream:
            code = line.strip()
            if code and not code.startswith("#"):
                out.put(("line", code))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        _say(f"stdin: {exc}")
    out.put(("eof", None))


def _shelf_line(code: str) -> str | None:
    """``shelf: A-10`` (a shelf-label line in a barcode file) -> ``A-10``."""
    head, sep, label = code.partition(":")
    return label.strip() if sep and head.strip().lower() == "shelf" and label.strip() else None


def _scan(args: argparse.Namespace) -> int:
    from kiosk.cli import settings_from_args
    from kiosk.errors import HardwareError
    from kiosk.hardware.sim import SimTagReader
    from kiosk.station.service import Station, new_session_id, open_tag_reader

    settings = settings_from_args(args, ils=True)
    lines = args.stdin or (not args.simulate and _stdin_is_data())
    reader: Any = None
    if args.simulate:
        reader = SimTagReader(security=settings.tag_reader.security)
        for item_id in args.simulate:
            reader.place(item_id, model=settings.tags.model,
                         isil=settings.tags.owner_isil if settings.tags.model != "3m" else "")
    else:
        try:
            reader = open_tag_reader(settings)
        except HardwareError as exc:
            if not lines:
                raise
            _say(f"no tag reader ({exc}): reading barcodes only")
    if reader is None:
        reader = SimTagReader(security=settings.tag_reader.security)     # an empty pad: barcodes only
    station = Station(settings, reader, staff_session=new_session_id("cli"))
    station.shelf.set_shelf(args.shelf)
    station.shelf.mark_seen = not args.no_mark_seen
    events: queue.Queue = queue.Queue()
    reader.when_tag_present = lambda tag: events.put(("tag", tag))
    if lines:
        threading.Thread(target=_read_lines, args=(sys.stdin, events), name="inventory-stdin", daemon=True).start()
    wanted = set(args.simulate or ())
    reading = lines
    shelves = [args.shelf]
    deadline = time.monotonic() + SIM_SCAN_TIMEOUT_S
    try:
        reader.start()
        while (not args.simulate and not lines) or wanted or reading:
            try:
                kind, value = events.get(timeout=0.5)
            except queue.Empty:
                if args.simulate and wanted and time.monotonic() > deadline:
                    _say(f"not read: {', '.join(sorted(wanted))}")
                    return EXIT_HARDWARE
                continue
            if kind == "eof":
                reading = False
                continue
            if kind == "line":
                label = _shelf_line(value)
                if label is not None:
                    _say(f"next shelf: {label}")
                    station.shelf.set_shelf(label)
                    shelves.append(label)
                    continue
                result = station.shelf.barcode(value)
            else:
                wanted.discard(value.item_id or "")
                result = station.shelf.tag_read(value)
            if result is not None:
                _emit(result.to_json())
    except KeyboardInterrupt:
        pass                                   # the normal end of a shelf check at the pad
    finally:
        reader.close()
        where = f"shelf {shelves[0]}" if len(shelves) == 1 else f"{len(shelves)} shelves"
        count, exceptions = station.shelf.count, station.shelf.exceptions
        _say(f"{where}: {count} {'item' if count == 1 else 'items'}, {exceptions} "
             f"{'needs' if exceptions == 1 else 'need'} action")
        station.close()
    return EXIT_OK


def _since(args: argparse.Namespace) -> str | None:
    from kiosk.station.store import parse_since

    try:
        return parse_since(args.since)
    except ValueError:
        _say(f"error: --since {args.since!r} is not an ISO date or time (e.g. 2026-12-01T08:00)")
        return None


def _store(args: argparse.Namespace) -> Any:
    from kiosk.cli import settings_from_args
    from kiosk.station.store import StationStore

    return StationStore.for_settings(settings_from_args(args))


def _write(rows: list[dict], columns: list[str], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    sys.stdout.write(out.getvalue())


REPORT_COLUMNS = ["time", "shelf", "item_id", "uid", "title", "circulation_status", "marked_seen",
                  "exceptions", "actions"]
EXPORT_COLUMNS = ["uid", "item_id", "model", "part_number", "parts", "bytes_hex", "time", "result",
                  "owner_isil", "staff_session", "old_item_id", "detail"]


def _report(args: argparse.Namespace) -> int:
    since = _since(args)
    if since is None:
        return EXIT_USAGE
    with _store(args) as store:
        records = store.seen_since(since)
    rows = []
    for rec in records:
        if args.exceptions_only and not rec.findings:
            continue
        row = rec.to_json()
        if args.format == "csv":
            row["exceptions"] = ";".join(f["code"] for f in rec.findings)
            row["actions"] = ";".join(f["action"] for f in rec.findings)
        rows.append(row)
    _write(rows, REPORT_COLUMNS, args.format)
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    since = _since(args)
    if since is None:
        return EXIT_USAGE
    with _store(args) as store:
        rows = [rec.to_json() for rec in store.tags_since(since)]
    _write(rows, EXPORT_COLUMNS, args.format)
    return EXIT_OK
