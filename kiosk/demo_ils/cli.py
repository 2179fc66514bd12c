"""``kiosk demo-ils``: run the demo library system, or print what is in it.

    kiosk demo-ils [--host 127.0.0.1] [--port 6001] [--db PATH] [--reset] [--latency-ms N]
                   [--tls-cert F --tls-key F] [--user U --password P] [--institution ID]
    kiosk demo-ils --db PATH --export-json      # patrons (card, PIN, status) and items to scan
    kiosk demo-ils --http-port 9130 [--tenant diku] [--token-ttl-s 600]
                                                # the same library over FOLIO's HTTP API too
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

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
    p.add_argument("--password", default="kiosk", help="SIP2 login password (CO), default kiosk")
    p.add_argument("--institution", default="DEMO", help="institution id (AO), default DEMO")
    p.add_argument("--charset", default="utf-8", help="character set of the link (utf-8, cp850, latin-1)")
    p.add_argument("--terminator", choices=("CR", "CRLF"), default="CRLF",
                   help="end replies with CR LF (Koha's default) or CR")
    p.add_argument("--checked-in-ok", action="store_true",
                   help="answer ok=1 to a return of an item that is not on loan (Koha account flag)")
    p.add_argument("--http-port", type=int, default=None, metavar="N",
                   help="also serve the library over FOLIO's HTTP API (the subset a kiosk uses) on this "
                        "loopback port; 0 = any free port (docs/folio.md)")
    p.add_argument("--tenant", default="diku", help="FOLIO tenant id of --http-port (default diku)")
    p.add_argument("--token-ttl-s", type=float, default=600.0, metavar="S",
                   help="lifetime of FOLIO access tokens on --http-port (default 600, as FOLIO's)")
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
                           user=args.user, password=args.password, institution=args.institution,
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
    folio = None
    if args.http_port is not None:
        from kiosk.demo_ils.folio_http import FolioDemoServer

        try:
            folio = FolioDemoServer(server.db, host=args.host, port=args.http_port, tenant=args.tenant,
                                    user=args.user, password=args.password, access_ttl_s=args.token_ttl_s,
                                    latency_ms=args.latency_ms).start()
        except OSError as exc:
            server.stop()
            raise ConfigError(f"cannot listen on {args.host}:{args.http_port}: {exc}") from exc
    print(f"demo library system listening on {args.host}:{server.port} "
          f"({'TLS' if args.tls_cert else 'TCP'}; login {args.user}; institution {args.institution}; "
          f"database {args.db}).  Ctrl-C stops it.", flush=True)
    if folio is not None:
        print(f"FOLIO HTTP API on {folio.url} (tenant {args.tenant}; login {args.user}; service points "
              f"main, east)", flush=True)
    try:
        server.serve_forever()
    finally:
        if folio is not None:
            folio.stop()
    return 0
