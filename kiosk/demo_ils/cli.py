"""``kiosk demo-ils``: run the demo library system, or print what is in it.

    kiosk demo-ils [--host 127.0.0.1] [--port 6001] [--db PATH] [--reset] [--latency-ms N]
                   [--tls-cert F --tls-key F] [--user U --password P] [--institution ID]
    kiosk demo-ils --export-json                # the seed: patrons (card, PIN, status) and items
    kiosk demo-ils --export-state               # the same, as the demo library holds them now
    kiosk demo-ils --status | --stop            # the demo library started in the background

The database defaults to the demo's data directory (``var/demo/demo-library.sqlite3``, or
``$KIOSK_DEMO_DATA_DIR``): the one library ``kiosk demo`` and every command run without
``--config`` use (``kiosk.demo_ils.daemon``).  While it listens, ``demo-library.json`` beside the
database says where, so those commands find it instead of starting another one.
    kiosk demo-ils --http-port 9130 [--tenant diku] [--token-ttl-s 600]
                                                # the same library over FOLIO's HTTP API too
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from kiosk.cli.secrets import add_secret_argument, resolve_secret


def _default_db() -> str:
    from kiosk.demo_ils.daemon import db_path, demo_settings

    try:
        return str(db_path(demo_settings().data_dir))
    except Exception:  # noqa: BLE001 - a broken demo.toml must not break --help
        return "var/demo/demo-library.sqlite3"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo-ils", help="run the demo library system (SIP2 server backed by SQLite)",
        description="A small library system that behaves like Koha's SIP2 server: for `make demo`, "
                    "staff training and the tests.  See docs/demo-library.md.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=6001, help="TCP port (default 6001; 0 = any free port)")
    p.add_argument("--db", default=None, metavar="PATH",
                   help="SQLite file; seeded with the demo library when new (default: the demo's data "
                        "directory, var/demo/demo-library.sqlite3, shared with `kiosk demo`)")
    p.add_argument("--reset", action="store_true",
                   help="wipe the database and seed it again (a demo library already serving it is stopped first)")
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
    p.add_argument("--http-port", type=int, default=None, metavar="N",
                   help="also serve the library over FOLIO's HTTP API (the subset a kiosk uses) on this "
                        "loopback port; 0 = any free port (docs/folio.md)")
    p.add_argument("--tenant", default="diku", help="FOLIO tenant id of --http-port (default diku)")
    p.add_argument("--token-ttl-s", type=float, default=600.0, metavar="S",
                   help="lifetime of FOLIO access tokens on --http-port (default 600, as FOLIO's)")
    p.add_argument("--export-json", action="store_true",
                   help="print the seed (patrons with cards and PINs, items with barcodes) as JSON and exit")
    p.add_argument("--export-state", action="store_true",
                   help="print patrons and items as the database holds them now (loans, holds) and exit")
    p.add_argument("--status", action="store_true",
                   help="say whether the demo library runs in the background (and where); exit 3 if not")
    p.add_argument("--stop", action="store_true", help="stop the demo library running in the background")
    p.add_argument("--idle-exit-s", type=float, default=0, metavar="S",
                   help="end after S seconds without a request (the background library uses 1800)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.errors import ConfigError

    if bool(args.tls_cert) != bool(args.tls_key):
        raise ConfigError("--tls-cert and --tls-key must be given together")
    for f in (args.tls_cert, args.tls_key):
        if f and not Path(f).is_file():
            raise ConfigError(f"TLS file not found: {f}")
    from kiosk.cli.jsonout import emit, iso_everywhere
    from kiosk.exitcodes import EXIT_OK

    if args.db is None:
        args.db = _default_db()
    if args.status or args.stop:
        from kiosk.demo_ils import daemon
        from kiosk.exitcodes import EXIT_UNREACHABLE

        data_dir = Path(args.db).parent
        state = daemon.stop(data_dir) if args.stop else daemon.read_state(data_dir)
        emit({"running": bool(state) and not args.stop, "stopped": bool(state) and args.stop,
              "pid": state and state["pid"], "host": state and state["host"], "port": state and state["port"],
              "http_port": state and state.get("http_port"), "db": args.db})
        return EXIT_OK if state or args.stop else EXIT_UNREACHABLE
    if args.export_json or args.export_state:
        import tempfile

        from kiosk.demo_ils.db import LibraryDb

        with tempfile.TemporaryDirectory(prefix="kiosk-demo-seed-") as tmp:
            db = LibraryDb(args.db if args.export_state else Path(tmp) / "seed.sqlite3")
            try:
                db.seed(reset=args.reset)
                emit(iso_everywhere(db.export()))
            finally:
                db.close()
        return EXIT_OK
    from kiosk.demo_ils import daemon
    from kiosk.demo_ils.server import DemoIlsServer

    running = daemon.read_state(Path(args.db).parent)
    if running is not None and Path(running.get("db", "")) == Path(args.db).resolve():
        if not args.reset:
            raise ConfigError(f"the demo library system for {args.db} already runs (pid {running['pid']}, "
                              f"{running['host']}:{running['port']}), and `kiosk demo` and the other commands "
                              "use it: `kiosk demo-ils --stop` stops it, `kiosk demo-ils --reset` serves it "
                              "here with the demo data again")
        # --reset: the demo data again, as asked -- the background library would hold the database
        # open and keep the port.
        daemon.stop(Path(args.db).parent)
        print(f"kiosk demo-ils: stopped the demo library running (pid {running['pid']}) to reset "
              f"{args.db}; serving it here", file=sys.stderr)

    password = resolve_secret(args, "password", "kiosk")
    server = DemoIlsServer(args.db, host=args.host, port=args.port, latency_ms=args.latency_ms,
                           user=args.user, password=password,
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
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    folio = None
    if args.http_port is not None:
        from kiosk.demo_ils.folio_http import FolioDemoServer

        try:
            folio = FolioDemoServer(server.db, host=args.host, port=args.http_port, tenant=args.tenant,
                                    user=args.user, password=password, access_ttl_s=args.token_ttl_s,
                                    latency_ms=args.latency_ms).start()
        except OSError as exc:
            server.stop()
            raise ConfigError(f"cannot listen on {args.host}:{args.http_port}: {exc.strerror or exc}") from exc

    if args.idle_exit_s > 0:
        _exit_when_idle(server, args.idle_exit_s)
    daemon.write_state(args.db, args.host, server.port, folio.port if folio is not None else None)
    print(f"demo library system listening on {args.host}:{server.port} "
          f"({'TLS' if args.tls_cert else 'TCP'}; login {args.user}; institution {args.institution}; "
          f"database {args.db}).  Ctrl-C stops it.", flush=True)
    if folio is not None:
        print(f"FOLIO HTTP API on {folio.url} (tenant {args.tenant}; login {args.user}; service points "
              f"main, east)", flush=True)
    try:
        server.serve_forever()
    finally:
        daemon.remove_state(args.db)
        if folio is not None:
            folio.stop()
    return EXIT_OK


def _exit_when_idle(server, idle_s: float) -> None:  # noqa: ANN001
    """A background demo library nobody talks to any more (the demo window closed an hour ago, a
    test forgot it) ends itself; the next command that needs it starts it again from its database."""
    import threading
    import time

    last = [time.monotonic()]
    process = server.process

    def counted(ctx, frame):  # noqa: ANN001, ANN202
        last[0] = time.monotonic()
        return process(ctx, frame)

    server.process = counted

    def watch() -> None:
        while not server._stopping.wait(min(30.0, idle_s / 4)):
            if time.monotonic() - last[0] > idle_s:
                print(f"demo library system: no request for {idle_s:.0f} s; stopping", flush=True)
                server.request_stop()
                return

    threading.Thread(target=watch, name="demo-ils-idle", daemon=True).start()
