"""The ``kiosk`` command: one entry point for the app, the demo and every staff tool.

Each layer owns its subcommands in its own ``cli`` module exposing ``register(subparsers)``; this
module only wires them together and turns the kiosk's own errors into exit codes and one clear
line on stderr.  The codes and their meanings live in ``kiosk.exitcodes``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from kiosk import __version__
from kiosk import config as config_mod
from kiosk.errors import (
    ConfigError,
    HardwareError,
    IlsUnavailable,
    JournalError,
    KioskError,
    OutcomeUnknown,
    ProtocolError,
)
from kiosk.exitcodes import (
    EXIT_CONFIG,
    EXIT_HARDWARE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROTOCOL,
    EXIT_STORAGE,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)


class KioskArgumentParser(argparse.ArgumentParser):
    """argparse with usage errors on exit 64 (EX_USAGE), not argparse's 2 ("protocol error" here)."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

# Modules that add subcommands, in the order they appear in ``kiosk --help``.
COMMAND_MODULES = (
    "kiosk.app_cli",            # run, demo
    "kiosk.sip2.cli",           # sip2
    "kiosk.ils.cli",            # ils (SIP2 or FOLIO, as configured)
    "kiosk.demo_ils.cli",       # demo-ils
    "kiosk.circulation.cli",    # checkout, return, journal
    "kiosk.hardware.cli",       # tag, doctor
    "kiosk.afterhours.cli",     # report
    "kiosk.staff.cli",          # staff tools (pin hashing, ...)
)

# Which module registers each top-level command, so ``kiosk run`` imports only kiosk.app_cli and
# not every layer's command module (the SIP2 codec tables alone take ~70 ms to import, and
# ``kiosk run`` is on the path to the kiosk's first frame).  A command missing here still works:
# the parser is then built from every module.  tests/test_cli_dispatch.py keeps this map honest.
COMMAND_OWNERS = {
    "run": "kiosk.app_cli", "demo": "kiosk.app_cli",
    "sip2": "kiosk.sip2.cli",
    "ils": "kiosk.ils.cli",
    "demo-ils": "kiosk.demo_ils.cli",
    "checkout": "kiosk.circulation.cli", "return": "kiosk.circulation.cli", "journal": "kiosk.circulation.cli",
    "tag": "kiosk.hardware.cli", "doctor": "kiosk.hardware.cli",
    "report": "kiosk.afterhours.cli",
    "staff": "kiosk.staff.cli",
}


def add_config_args(parser: argparse.ArgumentParser, required: bool = False,
                    default: str | None = None) -> None:
    """``--config FILE`` and repeated ``--set section.key=value``: every command that reads config."""
    parser.add_argument("--config", metavar="FILE", required=required, default=default,
                        help="TOML configuration file" + (f" (default: {default})" if default else ""))
    parser.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                        dest="overrides", help="override one config key (repeatable)")


def settings_from_args(args: argparse.Namespace) -> config_mod.Settings:
    """Load the settings named by ``--config``/``--set`` (ConfigError propagates to ``main``)."""
    return config_mod.load(getattr(args, "config", None), getattr(args, "overrides", []))


def _config_check(args: argparse.Namespace) -> int:
    settings = config_mod.load(args.file, args.overrides)
    print(f"{args.file}: OK ({', '.join(config_mod.SECTIONS)}; data in {settings.data_dir})")
    return EXIT_OK


def _command_of(argv: Sequence[str]) -> str | None:
    """The top-level command in ``argv`` (skipping ``--log-level X`` and other global options)."""
    args = list(argv)
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--log-level":
            i += 2
            continue
        if a.startswith("-"):
            return None         # --help, --version, --log-level=X ...: build the whole parser
        return a
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``kiosk`` parser; ``only``: register just the module owning that command."""
    parser = KioskArgumentParser(prog="kiosk", description="Self-service library kiosk.")
    parser.add_argument("--version", action="version", version=f"libkiosk {__version__}")
    parser.add_argument("--log-level", default=os.environ.get("KIOSK_LOG_LEVEL", "WARNING"),
                        help="DEBUG, INFO, WARNING (default) or ERROR")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    cfg = sub.add_parser("config", help="check a configuration file")
    cfg_sub = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = cfg_sub.add_parser("check", help="validate FILE; exit 1 naming each bad key")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[], dest="overrides")
    check.set_defaults(func=_config_check)

    modules = (COMMAND_OWNERS[only],) if only in COMMAND_OWNERS else COMMAND_MODULES
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):  # layer not built yet: its commands are absent
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kiosk.privacy import setup_logging

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_of(argv))
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ProtocolError as exc:
        print(f"protocol error: {exc}", file=sys.stderr)
        return EXIT_PROTOCOL
    except (IlsUnavailable, OutcomeUnknown) as exc:
        print(f"library system unreachable: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except JournalError as exc:
        print(f"local storage error: {exc}", file=sys.stderr)
        return EXIT_STORAGE
    except HardwareError as exc:
        print(f"hardware error: {exc}", file=sys.stderr)
        return EXIT_HARDWARE
    except KioskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROTOCOL
    except KeyboardInterrupt:
        logging.getLogger(__name__).info("interrupted")
        return EXIT_INTERRUPTED
