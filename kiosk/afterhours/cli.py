"""``kiosk report``: the after-hours returns report for the morning shift, and the bin counter.

    kiosk report returns [--config FILE] [--since 2026-11-28T18:00] [--until ISO] [--format table|json]
                         [--sync] [--send]
    kiosk report bin [--config FILE] [--emptied]

A kiosk that never ran the book drop has an empty report (exit 0), not an error.
``--format`` defaults to a readable table on a terminal and JSON when the output is piped (so
scripts get JSON without asking).  ``--sync`` first sends any journaled returns the library system
has not confirmed (exit 3 if it is unreachable; the report is printed anyway).  ``--send`` also
sends the report through the ``[alerts]`` channel.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta

from kiosk.exitcodes import EXIT_OK, EXIT_UNREACHABLE


def _iso(text: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected an ISO date-time like 2026-11-28T18:00; got "{text}"') from None
    if dt.tzinfo is not None:   # the drop log keeps local wall-clock times
        dt = dt.astimezone().replace(tzinfo=None)
    return dt


def register(subparsers: argparse._SubParsersAction) -> None:
    from kiosk.cli import add_config_args

    report = subparsers.add_parser("report", help="after-hours returns report, bin counter")
    sub = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)

    returns = sub.add_parser("returns", help="every book-drop return since a time, with outcome and routing")
    add_config_args(returns)
    returns.add_argument("--since", type=_iso, default=None, metavar="ISO_TIME",
                         help="first drop time to include (default: 24 hours ago)")
    returns.add_argument("--until", type=_iso, default=None, metavar="ISO_TIME",
                         help="end of the period, exclusive (default: now)")
    returns.add_argument("--format", choices=("table", "json"), default=None,
                         help="table (default on a terminal) or json (default when piped)")
    returns.add_argument("--sync", action="store_true",
                         help="first send journaled returns the library system has not confirmed")
    returns.add_argument("--send", action="store_true", help="also send the report to staff via [alerts]")
    returns.set_defaults(func=_returns)

    bin_ = sub.add_parser("bin", help="items in the return bin since it was last emptied")
    add_config_args(bin_)
    bin_.add_argument("--emptied", action="store_true", help="record that staff emptied the bin now")
    bin_.set_defaults(func=_bin)


def _drop_log(settings):  # noqa: ANN001, ANN202
    from kiosk.afterhours.droplog import DropLog

    # Opening creates an empty log on a kiosk that never ran the book drop: nothing dropped is an
    # empty report, not an error.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return DropLog(settings.data_dir / "bookdrop.sqlite3")


def _sync(settings, drop_log) -> int:  # noqa: ANN001
    from kiosk.afterhours.returns import ReturnSender
    from kiosk.circulation.journal import Journal
    from kiosk.ils.factory import ils_from_settings

    online: list[bool] = []
    with Journal(settings.data_dir / "journal.sqlite3") as journal:
        ils = ils_from_settings(settings)   # settings already point at the demo library if it is the demo
        try:
            sender = ReturnSender(ils, journal, drop_log, set_online=online.append, workers=1)
            sender.sync()
            sender.wait_idle(timeout=max(60.0, 4 * settings.ils.timeout_s))
            sender.close()
        finally:
            ils.close()
    if online and not online[-1]:
        print("library system unreachable: returns stay journaled", file=sys.stderr)
        return EXIT_UNREACHABLE
    return EXIT_OK


def _returns(args: argparse.Namespace) -> int:
    from kiosk.afterhours.report import build_report, report_to_json, report_to_table, send_report
    from kiosk.cli import settings_from_args

    settings = settings_from_args(args, ils=args.sync)
    since = args.since or datetime.now() - timedelta(hours=24)
    code = EXIT_OK
    with _drop_log(settings) as drop_log:
        if args.sync:
            code = _sync(settings, drop_log)
        report = build_report(drop_log, since, args.until)
    fmt = args.format or ("table" if sys.stdout.isatty() else "json")
    sys.stdout.write(report_to_table(report) if fmt == "table" else report_to_json(report) + "\n")
    if args.send and not send_report(report, settings):
        print("report not sent: no [alerts] e-mail or webhook configured (or rate-limited)", file=sys.stderr)
    return code


def _bin(args: argparse.Namespace) -> int:
    from kiosk.cli import settings_from_args

    settings = settings_from_args(args)
    with _drop_log(settings) as drop_log:
        if args.emptied:
            before = drop_log.bin_count()
            drop_log.add_event("bin_emptied", f"{before} items (kiosk report bin --emptied)")
            print(f"bin emptied: {before} items recorded; the count starts again at 0")
        else:
            cap = settings.bookdrop.bin_capacity
            print(f"{drop_log.bin_count()} items in the bin" + (f" (capacity {cap})" if cap else ""))
    return EXIT_OK
