"""``kiosk ils``: a staff tool that talks to the configured library system -- SIP2 or FOLIO, chosen
by ``[ils] protocol`` -- through exactly the adapter the kiosk uses, and prints the records the
kiosk sees as JSON.

    kiosk ils --config FILE [--set section.key=value]...
              status | patron PATRON [--pin PIN] | item ITEM | checkout PATRON ITEM | checkin ITEM |
              renew PATRON ITEM

The same positional forms and exit codes as ``kiosk sip2``: 0 when the exchange completed (also
when the library system said no: ``ok`` is false and ``reason_key`` says why), 1 configuration,
2 protocol error, 3 unreachable or no reply.  A check-out, check-in or renewal whose reply is lost
is settled as the kiosk settles it (FOLIO: the item's open loan; SIP2: Item Information) and never
resent blindly; when it cannot be settled, exit 3 says so and names the command to check with.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import datetime

from kiosk.cli.secrets import add_secret_argument, resolve_secret
from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.exitcodes import EXIT_OK, EXIT_PROTOCOL, EXIT_UNREACHABLE

COMMANDS = (   # name, help, positional arguments
    ("status", "is the library system there (FOLIO: login and service point)", ()),
    ("patron", "the patron as the kiosk sees them (loans, holds, fines, blocks)", ("patron",)),
    ("item", "an item, its status and its borrower", ("item",)),
    ("checkout", "check an item out to a patron; never resent blindly", ("patron", "item")),
    ("checkin", "check an item in (return)", ("item",)),
    ("renew", "renew a patron's loan; never resent blindly", ("patron", "item")),
)

# What each failure exits with.  A lost reply is "no reply" (3) even when what came back was
# garbled (OutcomeUnknown before ProtocolError), and so is an answer that is not SIP2 at all.
FAILURES = (
    (OutcomeUnknown, "", EXIT_UNREACHABLE),
    (IlsUnavailable, "", EXIT_UNREACHABLE),
    (ProtocolError, "protocol error: ", EXIT_PROTOCOL),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    from kiosk.cli import add_commands, add_config_args

    p = subparsers.add_parser("ils", help="talk to the library system (SIP2 or FOLIO) as the kiosk does",
                              description=__doc__.split("\n\n")[0])
    add_config_args(p)
    sub = p.add_subparsers(dest="ils_command", metavar="COMMAND", required=True)
    parsers = add_commands(sub, COMMANDS)
    add_secret_argument(parsers["patron"], "pin", "check this PIN too")
    p.set_defaults(func=handle)


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):   # a patron's Loan, Hold, Fine
        return record_json(value)
    return value


def record_json(record: object) -> dict:
    """A result record as JSON-able data (``raw`` left out: it is the server's own, unmasked)."""
    out = {}
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        if f.name == "raw":
            continue
        out[f.name] = _plain(getattr(record, f.name))
    return out


def _reason(record: object) -> str | None:
    from kiosk.circulation.reasons import checkin_reason, checkout_reason
    from kiosk.ils.base import CheckinResult, CheckoutResult

    if isinstance(record, CheckoutResult) and not record.ok:
        return checkout_reason(record)
    if isinstance(record, CheckinResult):
        return checkin_reason(record)[1]
    return None


def handle(args: argparse.Namespace) -> int:
    from kiosk.cli import report_failure, settings_from_args
    from kiosk.ils.factory import ils_from_settings

    settings = settings_from_args(args, ils=True)    # without --config: the demo library (daemon.py)
    protocol = settings.ils.protocol
    where = settings.ils.url if protocol == "folio" else f"{settings.ils.host}:{settings.ils.port}"
    ils = ils_from_settings(settings)
    cmd = args.ils_command
    try:
        if cmd == "status":
            result = ils.status()
        elif cmd == "patron":
            result = ils.patron_information(args.patron, resolve_secret(args, "pin"))
        elif cmd == "item":
            result = ils.item_information(args.item)
        elif cmd == "checkout":
            result = ils.checkout(args.patron, args.item)
        elif cmd == "checkin":
            result = ils.checkin(args.item)
        else:
            result = ils.renew(args.patron, args.item)
    except (OutcomeUnknown, IlsUnavailable, ProtocolError) as exc:
        hint = ""
        if isinstance(exc, OutcomeUnknown) and cmd in ("checkout", "checkin", "renew"):
            hint = (f" -- it may or may not have happened and was not resent; check with: "
                    f"kiosk ils item {args.item}")
        code = report_failure(exc, FAILURES, prefix=f"kiosk ils: {protocol} {where}: ", suffix=hint)
        assert code is not None   # every kind caught here has a row
        return code
    finally:
        ils.close()
    out = {"protocol": protocol, "command": cmd, **record_json(result)}
    key = _reason(result)
    if key:
        out["reason_key"] = key
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK
