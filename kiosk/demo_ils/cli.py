"""``kiosk demo-ils``: run the demo library system, or print what is in it.

    kiosk demo-ils [--host 127.0.0.1] [--port 6001] [--db PATH] [--reset] [--latency-ms N]
                   [--tls-cert F --tls-key F] [--user U --password P] [--institution ID]
    kiosk demo-ils --db PATH --export-json      # patrons (card, PIN, status) and items to scan
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from kiosk.secret_args import add_secret_argument, resolve_secret

DEFAULT_DB = "var/demo-ils/library.sqlite"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo-ils", help="run the demo library system (SIP2 server backed by SQLite)",
        description="A small library system that behaves like Koha's SIP2 server: for `make demo`, "
                    "staff training and the tests.  See docs/demo-library.md.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=6001, help="TCP port (default 6001; 0 = any free port)")
    p.add_argument("--db", default=DEFAULT_DB, metavar="PATH",
                   help=f"SQLite file; seeded with the demo library when new (default {DEFAULT_DB})")
    p.add_argument("--reset", action="store_true", help="wipe the database and seed it again")
    p.add_argument("--latency-ms", type=int, default=0, metavar="N", help="delay every reply by N ms")
    p.add_argument("--tls-cert", metavar="FILE", help="serve TLS with this certificate (PEM)")
    p.add_argument("--tls-key", metavar="FILE", help="private key of --tls-cert (PEM)")
    p.add_argument("--user", default="kiosk", help="SIP2 login user (CN), default kiosk")
    add_secret_argument(p, "password", "SIP2 login password (CO), default kiosk")
    p.add_argument("--institution", default="DEMO", help="institution id (AO), default DEMO")
    p.add_argument("--charset", default="utf-8", help="character set of the link (utf-8, cp850, latin-1)")
    p.add_argument("--terminator", choices=("CR", "CRLF"), default="CRLF",
                   help="end replies with CR LF (Koha's default) or CR")
    p.add_argument("--checked-in-ok", action="store_true",
                   help="answer ok=1 to a return of an item that is not on loan (Koha account flag)")
    p.add_argument("--export-json", action="store_true",
                   help="print the seeded patrons and items as JSON and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.errors import ConfigError

    if bool(args.tls_cert) != bool(args.tls_key):
        raise ConfigError("--tls-cert and --tls-key must be given together")
    for f in (args.tls_cert, args.tls_key):
        if f and not Path(f).is_file():
            raise ConfigError(f"TLS file not found: {f}")
    if args.export_json:
        from kiosk.demo_ils.db import LibraryDb

        db = LibraryDb(args.db)
        db.seed(reset=args.reset)
        json.dump(db.export(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        db.close()
        return 0
    from kiosk.demo_ils.server import DemoIlsServer

    server = DemoIlsServer(args.db, host=args.host, port=args.port, latency_ms=args.latency_ms,
                           user=args.user, password=resolve_secret(args, "password", "kiosk"),
                           institution=args.institution,
                           tls_cert=args.tls_cert, tls_key=args.tls_key, charset=args.charset,
                           terminator=args.terminator, checked_in_ok=args.checked_in_ok, reset=args.reset)
    # Ctrl-C and SIGTERM (systemd, docker) only ask the server to stop: a KeyboardInterrupt landing
    # between two statements could otherwise skip the clean shutdown.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: server.request_stop())
    try:
        server.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    print(f"demo library system listening on {args.host}:{server.port} "
          f"({'TLS' if args.tls_cert else 'TCP'}; login {args.user}; institution {args.institution}; "
          f"database {args.db}).  Ctrl-C stops it.", flush=True)
    server.serve_forever()
    return 0
