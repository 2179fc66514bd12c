"""``kiosk sip2``: a staff tool that speaks SIP2 to the library system with exactly the kiosk's client.

    kiosk sip2 [--config FILE] [--set k=v]... [--server HOST:PORT] [--tls] [--user U] [--password P]
               [--institution ID] [--location L] [--charset C] [--raw]
               status | login | patron PATRON [--pin PIN] | checkout PATRON ITEM | checkin ITEM |
               renew PATRON ITEM | renew-all PATRON | item ITEM | end PATRON

Prints the decoded reply as JSON (``--raw`` adds the frames sent and received; the login password
is masked).  Without ``--config`` it uses the demo configuration and its demo library system
(started on demand).  Exit 0 when the exchange completed -- also when the library system said no
--, 2 on a protocol error, 3 when the library system is unreachable or did not answer in time.  A checkout or
renewal without a reply is *not* resent: the message says how to check what happened.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from kiosk.cli.secrets import add_secret_argument, mask_sip2_frame, resolve_secret
from kiosk.errors import ConfigError, IlsUnavailable, OutcomeUnknown, ProtocolError

if TYPE_CHECKING:   # the codec and client are imported by the handler: `kiosk --help` and
    # `kiosk run` build this parser and should not pay for the SIP2 message tables.
    from kiosk.sip2.client import Sip2Client
    from kiosk.sip2.codec import Message

from kiosk.cli.jsonout import emit, with_iso_times
from kiosk.exitcodes import EXIT_OK, EXIT_PROTOCOL, EXIT_UNREACHABLE, EXIT_USAGE

CHARSETS = ("utf-8", "cp850", "latin-1")

COMMANDS = (   # name, help (request -> reply), positional arguments
    ("status", "SC status (99) -> ACS status (98)", ()),
    ("login", "login (93) -> 94", ()),
    ("patron", "patron information (63) -> 64", ("patron",)),
    ("checkout", "checkout (11) -> 12; never resent", ("patron", "item")),
    ("checkin", "check-in (09) -> 10", ("item",)),
    ("renew", "renew (29) -> 30; never resent", ("patron", "item")),
    ("renew-all", "renew all (65) -> 66; never resent", ("patron",)),
    ("item", "item information (17) -> 18", ("item",)),
    ("end", "end patron session (35) -> 36", ("patron",)),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    from kiosk.cli import add_commands, add_config_args

    p = subparsers.add_parser("sip2", help="talk SIP2 to the library system (staff diagnostics)",
                              description=__doc__.split("\n\n")[0])
    add_config_args(p)
    p.add_argument("--server", metavar="HOST:PORT", help="SIP2 server (default: [ils] host/port)")
    p.add_argument("--tls", action="store_true", default=None, help="use TLS (default: [ils] tls)")
    p.add_argument("--user", help="SIP2 login user (CN)")
    add_secret_argument(p, "password", "SIP2 login password (CO)")
    p.add_argument("--institution", help="institution id (AO)")
    p.add_argument("--location", help="location code (CP/AP)")
    p.add_argument("--charset", choices=CHARSETS, help="character set of the link")
    p.add_argument("--raw", action="store_true", help="also print the frames sent and received")
    sub = p.add_subparsers(dest="sip2_command", metavar="COMMAND", required=True)
    parsers = add_commands(sub, COMMANDS)
    add_secret_argument(parsers["patron"], "pin", "patron PIN (AD)")
    p.set_defaults(func=handle)


def _client_from_args(args: argparse.Namespace) -> Sip2Client:
    from kiosk.cli import settings_from_args
    from kiosk.sip2.client import Sip2Client

    settings = settings_from_args(args, ils=not args.server)
    ils = settings.ils
    host, port = ils.host, ils.port
    if args.server:
        host, sep, port_text = args.server.rpartition(":")
        if not sep or not host or not (port_text.isascii() and port_text.isdigit()):
            raise ConfigError(f"--server {args.server}: expected HOST:PORT, for example 127.0.0.1:6001")
        port = int(port_text)
    password = resolve_secret(args, "password") or settings.ils_password()
    return Sip2Client(
        host.strip("[]"), port, user=args.user if args.user is not None else ils.user, password=password,
        institution=args.institution if args.institution is not None else ils.institution,
        location=args.location if args.location is not None else ils.location,
        charset=args.charset or ils.charset, timeout_s=ils.timeout_s, retries=ils.retries,
        error_detection=ils.error_detection, tls=ils.tls if args.tls is None else True,
        tls_ca_file=ils.tls_ca_file, tls_cert_file=ils.tls_cert_file, tls_key_file=ils.tls_key_file,
        tls_verify_hostname=ils.tls_verify_hostname, trace=True,
        status_on_connect=args.sip2_command != "status")


def _request_for(args: argparse.Namespace, c: Sip2Client) -> Message:
    from kiosk.sip2.codec import (
        CheckinRequest,
        CheckoutRequest,
        EndPatronSessionRequest,
        ItemInformationRequest,
        LoginRequest,
        PatronInformationRequest,
        RenewAllRequest,
        RenewRequest,
        ScStatusRequest,
    )

    now = datetime.now().replace(microsecond=0)
    ao, cmd = c.institution, args.sip2_command
    if cmd == "status":
        return ScStatusRequest()
    if cmd == "login":
        return LoginRequest(login_user_id=c.user, login_password=c._password, location_code=c.location or None)
    if cmd == "patron":
        return PatronInformationRequest(transaction_date=now, summary="  Y       ", institution_id=ao,
                                        patron_id=args.patron, terminal_password="", patron_password=resolve_secret(args, "pin"))
    if cmd == "checkout":
        return CheckoutRequest(transaction_date=now, nb_due_date=now, institution_id=ao, patron_id=args.patron,
                               item_id=args.item)
    if cmd == "checkin":
        return CheckinRequest(transaction_date=now, return_date=now, current_location=c.location,
                              institution_id=ao, item_id=args.item)
    if cmd == "renew":
        return RenewRequest(transaction_date=now, nb_due_date=now, institution_id=ao, patron_id=args.patron,
                            item_id=args.item)
    if cmd == "renew-all":
        return RenewAllRequest(transaction_date=now, institution_id=ao, patron_id=args.patron)
    if cmd == "item":
        return ItemInformationRequest(transaction_date=now, institution_id=ao, item_id=args.item)
    return EndPatronSessionRequest(transaction_date=now, institution_id=ao, patron_id=args.patron)


def _print(reply: Message | None, c: Sip2Client, raw: bool) -> None:
    out: dict = with_iso_times(reply.to_dict()) if reply is not None else {}
    if raw:
        out = {"reply": out if reply is not None else None,
               "frames": [{"direction": d, "frame": mask_sip2_frame(f.decode(c.charset, "replace").rstrip("\r\n"))}
                          for d, f in (c.trace or [])]}
    emit(out)


def handle(args: argparse.Namespace) -> int:
    if args.server:
        host, sep, port_text = args.server.rpartition(":")
        if not sep or not host or not port_text.isdigit():
            print(f"kiosk sip2: --server {args.server}: expected HOST:PORT, for example 127.0.0.1:6001",
                  file=sys.stderr)
            return EXIT_USAGE
    client = _client_from_args(args)
    where = f"{client.host}:{client.port}"
    reply: Message | None = None
    try:
        record = _request_for(args, client)
        if args.sip2_command == "login":
            # Log in by hand so the 94 reply (also a refusal) is what gets printed.
            client.user, client.status_on_connect = "", False
            client.connect()
        reply = client.request(record)
    except OutcomeUnknown as exc:
        if args.raw:
            _print(None, client, True)
        hint = ""
        if args.sip2_command in ("checkout", "renew", "renew-all"):
            hint = (" -- it may or may not have happened; it was not resent. Check with: "
                    f"kiosk sip2 item {getattr(args, 'item', 'ITEM')}")
        code = EXIT_PROTOCOL if isinstance(exc, ProtocolError) else EXIT_UNREACHABLE
        print(f"kiosk sip2: {where}: {exc}{hint}", file=sys.stderr)
        return code
    except IlsUnavailable as exc:
        print(f"kiosk sip2: {exc}", file=sys.stderr)
        # NotSip2 is both: nothing was sent, and what answered is not a SIP2 server (exit 2).
        return EXIT_PROTOCOL if isinstance(exc, ProtocolError) else EXIT_UNREACHABLE
    except ProtocolError as exc:
        if args.raw:
            _print(None, client, True)
        print(f"kiosk sip2: {where}: protocol error: {exc}", file=sys.stderr)
        return EXIT_PROTOCOL
    finally:
        client.close()
    _print(reply, client, args.raw)
    if not client.user and _says_login_required(reply):
        print(f"kiosk sip2: {where} wants a login first: no SIP2 login configured; pass --config FILE "
              "(with [ils] user and password) or --user/--password", file=sys.stderr)
    return EXIT_OK


def _says_login_required(reply: Message | None) -> bool:
    if reply is None:
        return False
    words = " ".join(str(v) for v in reply.to_dict().values()).lower()
    return "login required" in words or "not logged in" in words

