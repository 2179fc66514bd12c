"""``kiosk checkout``, ``kiosk return`` and ``kiosk journal``: the kiosk's engine from a terminal.

The same :class:`~kiosk.circulation.service.KioskService` as the screens (journal, offline
policy, ambiguity resolution), so staff can do at a terminal exactly what the kiosk would do, and
scripts can drive it.  Output is one JSON object on stdout (``kiosk.cli.jsonout``; ``--jsonl`` streams
one line per settled item, then the summary).  Without ``--config`` they use the demo
configuration and its demo library system (started on demand), like ``kiosk demo``.  Exit codes
(``kiosk.exitcodes``): 0 completed (also when the library system or the kiosk said no), 2 protocol
error, 3 library system unreachable and the offline policy refused to work without it, 4 the
journal cannot be written, 64 usage error.
"""

from __future__ import annotations

import sys
import threading

from kiosk.circulation import view as v
from kiosk.circulation.reasons import REASONS
from kiosk.circulation.view import ItemLine, SessionView
from kiosk.cli.jsonout import dumps, emit, stdout_to_devnull, with_iso_times
from kiosk.cli.secrets import add_secret_argument, resolve_secret
from kiosk.exitcodes import EXIT_OK, EXIT_PROTOCOL, EXIT_UNREACHABLE, EXIT_USAGE

_OFFLINE_KEYS = {"offline_not_allowed", "offline_returns_only", "out_of_service", "offline_card_unknown"}


def register(subparsers) -> None:
    from kiosk.cli import add_config_args

    co = subparsers.add_parser("checkout", help="check items out to a patron (journaled, like the kiosk)")
    add_config_args(co)
    co.add_argument("--patron", required=True, metavar="ID", help="patron card number")
    add_secret_argument(co, "pin", "the patron's PIN, when the kiosk requires one")
    co.add_argument("--jsonl", action="store_true",
                    help="print one JSON line per item as soon as it is settled, then the summary")
    co.add_argument("items", nargs="+", metavar="ITEM", help="item barcodes")
    co.set_defaults(func=_checkout)

    rt = subparsers.add_parser("return", help="return (check in) items (journaled, like the kiosk)")
    add_config_args(rt)
    rt.add_argument("--jsonl", action="store_true",
                    help="print one JSON line per item as soon as it is settled, then the summary")
    rt.add_argument("items", nargs="+", metavar="ITEM", help="item barcodes")
    rt.set_defaults(func=_return)

    jn = subparsers.add_parser("journal", help="the offline journal: list, sync (replay), export, resolve")
    add_config_args(jn)
    jn.add_argument("action", choices=("list", "sync", "export", "resolve", "prune", "acknowledge-loss"),
                    help="list: pending and staff queue; sync: send pending transactions now; "
                         "export: every row; resolve: close a staff-queue row (--id, --note); "
                         "prune: delete settled rows older than --days; acknowledge-loss: staff checked "
                         "what a lost or damaged earlier journal held (--note)")
    jn.add_argument("--days", type=float, default=90.0, help="prune: age in days (default 90)")
    jn.add_argument("--id", type=int, help="journal id (resolve)")
    jn.add_argument("--note", default="", help="what staff did (resolve)")
    jn.add_argument("--reveal", action="store_true", help="show full card numbers of unsettled rows (staff)")
    jn.set_defaults(func=_journal)


def reason_words(key: str | None, text: str | None = "") -> str:
    """The library system's own words, else the kiosk's patron text for ``key`` (never empty for a
    refusal by the kiosk itself, such as ``wrong_mode`` or ``offline_card_unknown``)."""
    if text:
        return text
    if key and key in REASONS:
        return " ".join(part for part in REASONS[key] if part)
    return ""


def line_dict(line: ItemLine) -> dict:
    return with_iso_times({"item_id": line.item_id, "title": line.title, "action": line.action, "state": line.state,
            "acknowledged": line.state == v.DONE, "journaled": line.journaled, "due": line.due,
            "due_date": line.due_date, "reason_key": line.reason_key,
            "reason_text": reason_words(line.reason_key, line.reason_text) if line.reason_key else line.reason_text,
            "alert": line.alert, "sort_bin": line.sort_bin, "destination": line.destination,
            "journal_id": line.journal_id})


def _emit_line(obj) -> None:
    """One --jsonl line; called from the engine's worker threads, so a reader that left (``| head``)
    only stops the output: the transactions themselves go on and are journaled."""
    try:
        sys.stdout.write(dumps(obj, compact=True) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        stdout_to_devnull()


def _row(r, reveal: bool = False) -> dict:
    """A journal row for the JSON listing.  ``due_date`` is the library's once replayed; an offline
    checkout also says the date promised to the patron (``promised_due_date``), as the staff page does."""
    from kiosk.circulation.replay import promised_due

    return with_iso_times({**r.as_dict(reveal=reveal), "promised_due_date": promised_due(r)})


def _open(args):
    from kiosk.appliance.clock import TrustedClock
    from kiosk.circulation.journal import Journal  # here, not at the top: `kiosk run` builds this parser
    from kiosk.cli import settings_from_args
    from kiosk.ils.factory import ils_from_settings

    settings = settings_from_args(args, ils=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(settings.data_dir / "journal.sqlite3", clock=TrustedClock.from_settings(settings))
    try:
        ils = ils_from_settings(settings)
    except BaseException:
        journal.close()
        raise
    return settings, ils, journal


def _session(args, mode: str) -> int:
    from kiosk.circulation.service import KioskService

    settings, ils, journal = _open(args)
    printed: set[str] = set()
    lock = threading.Lock()

    def listener(view: SessionView) -> None:
        if not args.jsonl:
            return
        with lock:
            for line in view.items:
                # A line is printed once it is settled; "done" is only reached after the library
                # confirmed it or the journal commit returned: what is printed as acknowledged is durable.
                if line.settled and line.item_id not in printed:
                    printed.add(line.item_id)
                    _emit_line(line_dict(line))

    # What the CLI does on this kiosk's data directory counts in `kiosk staff stats`, as the
    # touchscreen's sessions do (the same <data_dir>/stats.sqlite3).
    from kiosk.staff import stats

    stats.install(stats.Stats.for_settings(settings))
    svc = KioskService(settings, ils, journal, listener)
    try:
        if mode == v.BORROW:
            svc.card_presented(args.patron, resolve_secret(args, "pin"))
            svc.wait_idle()
        else:
            svc.start(v.RETURN)
        view = svc.view()
        identified = view.state in (v.IDENTIFIED, v.WORKING)
        if identified:
            for item in args.items:
                svc.item_seen(item, source="cli")
            svc.wait_idle()
        view = svc.view()
        svc.finish("none")
        svc.wait_idle()
        result = {"command": "checkout" if mode == v.BORROW else "return", "online": view.online,
                  "offline_mode": view.offline_mode, "message_key": view.message_key,
                  "message_text": reason_words(view.message_key, view.message_text),
                  "patron": None if view.patron is None else {
                      "masked_id": view.patron.masked_id, "name": view.patron.name,
                      "offline": view.patron.offline},
                  "items": [line_dict(line) for line in view.items],
                  "pending_sync": journal.pending_count()}
        if args.jsonl:
            _emit_line({"summary": result})
        else:
            emit(result)
        if svc.protocol_errors:
            return EXIT_PROTOCOL
        keys = {line.reason_key for line in view.items} | {view.message_key}
        if not view.online and (keys & _OFFLINE_KEYS or not identified):
            return EXIT_UNREACHABLE
        return EXIT_OK
    finally:
        svc.close()
        ils.close()
        journal.close()
        stats.install(None)


def _checkout(args) -> int:
    return _session(args, v.BORROW)


def _return(args) -> int:
    return _session(args, v.RETURN)


def _journal(args) -> int:
    from kiosk.circulation.journal import Journal
    from kiosk.cli import settings_from_args

    if args.action in ("list", "export", "resolve", "prune", "acknowledge-loss"):
        if args.action == "resolve" and (args.id is None or not args.note):
            print("kiosk journal resolve: --id and --note are required", file=sys.stderr)
            return EXIT_USAGE
        if args.action == "acknowledge-loss" and not args.note:
            print("kiosk journal acknowledge-loss: --note is required (what staff checked)", file=sys.stderr)
            return EXIT_USAGE
        settings = settings_from_args(args)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with Journal(settings.data_dir / "journal.sqlite3") as journal:
            if args.action == "list":
                emit({"counts": journal.counts(),
                      "pending": [_row(r, args.reveal) for r in journal.pending()],
                      "staff_queue": [_row(r, args.reveal) for r in journal.staff_queue()],
                      "clock_untrusted": [r.id for r in journal.untrusted_clock()],
                      "loss": journal.loss()})
            elif args.action == "export":
                emit({"rows": [_row(r, args.reveal) for r in journal.rows()]})
            elif args.action == "acknowledge-loss":
                if journal.loss() is None:      # nothing lost: not a storage error (exit 4)
                    print("kiosk journal acknowledge-loss: no loss of an earlier journal is recorded, nothing "
                          "to acknowledge (`kiosk doctor` shows the journal row)", file=sys.stderr)
                    return EXIT_USAGE
                emit({"acknowledged": journal.acknowledge_loss(args.note)})
            elif args.action == "prune":
                emit({"deleted": journal.prune(args.days * 86400.0), "counts": journal.counts()})
            else:
                # A mistyped id is the user's slip, not a damaged journal (exit 4 would send
                # staff looking for a failing SD card): say which rows can be resolved.
                row = journal.get(args.id)
                if row is None or not journal.awaits_staff(row):
                    what = f"is {row.state}" if row else "does not exist"
                    print(f"kiosk journal resolve: transaction {args.id} {what}, not waiting for staff "
                          "(`kiosk journal list` shows the staff queue)", file=sys.stderr)
                    return EXIT_USAGE
                journal.resolve(args.id, args.note)
                emit(_row(journal.get(args.id)))
        return EXIT_OK
    from kiosk.circulation.replay import Replayer

    settings, ils, journal = _open(args)
    try:
        report = Replayer(ils, journal).sync()
        out = report.as_dict()
        out["staff_queue"] = [_row(r) for r in journal.staff_queue()]
        emit(out)
        if report.stopped and "unreachable" in report.stopped:
            return EXIT_UNREACHABLE
        if report.stopped and "no valid reply" in report.stopped:
            return EXIT_UNREACHABLE
        return EXIT_OK
    finally:
        ils.close()
        journal.close()


def main(argv: list[str] | None = None) -> int:   # handy for tests: same as `kiosk ...`
    from kiosk.cli import main as kiosk_main

    return kiosk_main(argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
