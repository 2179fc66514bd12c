"""``kiosk run`` (what systemd starts) and ``kiosk demo`` (the same app on simulated hardware
with the embedded demo library system; ``--tour`` drives a scripted session headless)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from kiosk.cli import add_config_args, settings_from_args
from kiosk.config import DEMO_CONFIG

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="start the kiosk touchscreen app (what systemd starts)")
    add_config_args(run, required=True)
    run.set_defaults(func=_run)

    demo = subparsers.add_parser(
        "demo", help="the kiosk app on simulated hardware with the embedded demo library system",
        description="Starts the demo library system (database in the data dir) and the kiosk app on "
                    "simulated hardware, with a panel to tap demo cards and place demo items.  With "
                    "--tour, drives a scripted patron session headless and writes screenshots.")
    add_config_args(demo, default=str(DEMO_CONFIG))
    demo.add_argument("--tour", metavar="OUT_DIR",
                      help="run the scripted tour without a display; one PNG per screen into OUT_DIR")
    demo.add_argument("--no-panel", action="store_true", help="hide the simulation panel")
    demo.add_argument("--reset", action="store_true", help="start the demo library from its seed data")
    demo.set_defaults(func=_demo)


def _run(args: argparse.Namespace) -> int:
    from kiosk.ui import kivyenv

    kivyenv.pause_gc_until_first_frame()
    settings = settings_from_args(args)
    from kiosk.config import check_secrets

    # Refuse to start, before any window opens, on a secret other users can read (exit 1, with the
    # chmod that fixes it): the same rule `kiosk staff check-secrets` applies.
    check_secrets(settings)
    kivyenv.prepare(settings.data_dir / "kivy", fullscreen=settings.kiosk.fullscreen,
                    width=settings.kiosk.width, height=settings.kiosk.height,
                    touchscreen=not settings.hardware.simulate, rotation=settings.display.rotation)
    from kiosk.app import KioskApp

    app = KioskApp(settings)
    app.run()
    return app.exit_code   # staff "restart" exits non-zero; systemd (Restart=always) starts us again


DEMO_STAFF_PIN = "2468"     # its hash is [staff] pin_hash in config/demo.toml; the README says so
# (kiosk.ui.simpanel.DEMO_STAFF_PIN is the same; the panel is imported only with Kivy)


def demo_banner(settings, state: dict, library: dict) -> str:  # noqa: ANN001
    """What `kiosk demo` prints once at start: where the library is, what to tap, how to get in."""
    patron = next((p for p in library.get("patrons", []) if p.get("pin") and p.get("status") == "ok"), None)
    pin = f"PIN {patron['pin']}" if patron and settings.kiosk.require_pin else "no PIN asked in the demo"
    card = f"card {patron['card']} ({pin})" if patron else "any card in the panel"
    where = f"{state['host']}:{state['port']}"
    if getattr(settings.ils, "protocol", "sip2") == "folio":     # the same library over FOLIO's HTTP API
        where = f"FOLIO at {settings.ils.url} (tenant {settings.ils.tenant}; SIP2 on {where})"
    return "\n".join((
        f"kiosk demo: {settings.branding.library_name or 'the demo library'} on simulated hardware",
        f"  demo library system: {where} (pid {state['pid']}, database "
        f"{state.get('db', '')}); it keeps running for the CLI: `kiosk demo-ils --stop` ends it",
        f"  try {card}; every card and item: `kiosk demo-ils --export-json`",
        f"  staff mode: hold the library name for 3 seconds, PIN {DEMO_STAFF_PIN}",
        "  the same library from a terminal: `kiosk checkout --patron 2000000001 3900000002`, "
        "`kiosk journal list`"))


def _demo(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.tour:
        from kiosk.ui.tour import run_tour

        # The tour stops the demo library on purpose (offline pages): its warnings about that are
        # the script, not news.  --log-level (or KIOSK_LOG_LEVEL) still shows everything.
        if "KIOSK_LOG_LEVEL" not in os.environ and str(args.log_level).upper() == "WARNING":
            os.environ["KIOSK_LOG_LEVEL"] = "ERROR"
        elif "KIOSK_LOG_LEVEL" not in os.environ:
            os.environ["KIOSK_LOG_LEVEL"] = str(args.log_level).upper()

        return run_tour(Path(args.tour), config=args.config, overrides=args.overrides)
    from kiosk.ui import kivyenv

    kivyenv.pause_gc_until_first_frame()     # as `kiosk run` (kiosk/ui/kivyenv.py says why)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("kiosk demo: no display found; use `kiosk demo --tour OUT_DIR` for a headless run",
              file=sys.stderr)
    from kiosk.demo_ils import daemon
    from kiosk.demo_ils.db import LibraryDb

    # The one demo library of this data directory, shared with every command run without
    # --config (kiosk/demo_ils/daemon.py): what the window does, `kiosk journal list` shows.
    state = daemon.ensure_running(settings, reset=args.reset)
    library_db = LibraryDb(daemon.db_path(settings.data_dir))
    library = library_db.export()
    print(demo_banner(settings, state, library), flush=True)
    panel_w = 0 if args.no_panel else 300
    kivyenv.prepare(settings.data_dir / "kivy", fullscreen=False,
                    width=settings.kiosk.width + panel_w, height=settings.kiosk.height)
    from kiosk.app import KioskApp
    from kiosk.hardware import open_devices

    devices = open_devices(settings)
    panel = None
    if not args.no_panel:
        from kiosk.ui.simpanel import make_panel

        panel = make_panel(library_db, devices, width=panel_w, settings=settings, library=library)
    app = KioskApp(settings, devices=devices, side_panel=panel)
    try:
        app.run()
    finally:
        devices.close()
        library_db.close()
    return app.exit_code
