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


def _demo(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.tour:
        from kiosk.tour import run_tour

        return run_tour(Path(args.tour), config=args.config, overrides=args.overrides)
    from kiosk.ui import kivyenv

    kivyenv.pause_gc_until_first_frame()     # as `kiosk run` (kiosk/ui/kivyenv.py says why)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("kiosk demo: no display found; use `kiosk demo --tour OUT_DIR` for a headless run",
              file=sys.stderr)
    from kiosk.ui.harness import demo_ils

    with demo_ils(settings, reset=args.reset) as server:
        panel_w = 0 if args.no_panel else 300
        kivyenv.prepare(settings.data_dir / "kivy", fullscreen=False,
                        width=settings.kiosk.width + panel_w, height=settings.kiosk.height)
        from kiosk.app import KioskApp
        from kiosk.hardware import open_devices

        devices = open_devices(settings)
        panel = None
        if not args.no_panel:
            from kiosk.ui.simpanel import make_panel

            panel = make_panel(server.db.export(), devices, width=panel_w)
        app = KioskApp(settings, devices=devices, side_panel=panel)
        try:
            app.run()
        finally:
            devices.close()
    return app.exit_code
