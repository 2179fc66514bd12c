"""The ``kiosk`` command: one entry point for the app, the demo and every staff tool.

Each layer owns its subcommands in its own ``cli`` module exposing ``register(subparsers)``; this
module only wires them together and turns the kiosk's own errors into exit codes and one clear
line on stderr.  The codes and their meanings live in ``kiosk.exitcodes``.

Next to it, in this package, what the commands share: ``kiosk.cli.app`` (``kiosk run`` and
``kiosk demo``), ``kiosk.cli.jsonout`` (one JSON style for every command's output) and
``kiosk.cli.secrets`` (PINs and passwords taken without putting them where ``ps`` shows them).
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
from kiosk.cli.secrets import resolve_secret_assignments
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
    "kiosk.cli.app",            # run, demo
    "kiosk.sip2.cli",           # sip2
    "kiosk.ils.cli",            # ils (SIP2 or FOLIO, as configured)
    "kiosk.demo_ils.cli",       # demo-ils
    "kiosk.circulation.cli",    # checkout, return, journal
    "kiosk.hardware.cli",       # tag, doctor
    "kiosk.afterhours.cli",     # report
    "kiosk.staff.cli",          # staff tools (pin hashing, ...)
    "kiosk.station.cli",        # inventory, tags (staff station; `kiosk tag program` is under tag)
)

# Which module registers each top-level command, so ``kiosk run`` imports only kiosk.cli.app and
# not every layer's command module (the SIP2 codec tables alone take ~70 ms to import, and
# ``kiosk run`` is on the path to the kiosk's first frame).  A command missing here still works:
# the parser is then built from every module.  tests/test_cli_dispatch.py keeps this map honest.
COMMAND_OWNERS = {
    "run": "kiosk.cli.app", "demo": "kiosk.cli.app",
    "sip2": "kiosk.sip2.cli",
    "ils": "kiosk.ils.cli",
    "demo-ils": "kiosk.demo_ils.cli",
    "checkout": "kiosk.circulation.cli", "return": "kiosk.circulation.cli", "journal": "kiosk.circulation.cli",
    "tag": "kiosk.hardware.cli", "doctor": "kiosk.hardware.cli",
    "report": "kiosk.afterhours.cli",
    "staff": "kiosk.staff.cli",
    "inventory": "kiosk.station.cli", "tags": "kiosk.station.cli",
}


# Where a command finds its configuration when ``--config`` is not given, first match wins:
# ``$KIOSK_CONFIG``, the installed kiosk's file (systemd/install.sh writes it), else the demo's
# ``config/demo.toml`` -- so on a fresh clone every README command works as written, against the
# same demo library and data directory as ``kiosk demo`` (kiosk/demo_ils/daemon.py).
CONFIG_ENV = "KIOSK_CONFIG"
INSTALLED_CONFIG = "/etc/kiosk/kiosk.toml"


def add_config_args(parser: argparse.ArgumentParser, required: bool = False,
                    default: str | None = None) -> None:
    """``--config FILE`` and repeated ``--set section.key=value``: every command that reads config.

    Without ``--config`` (and unless ``required``) the file comes from :func:`default_config`.
    """
    parser.add_argument("--config", metavar="FILE", required=required, default=default,
                        help="TOML configuration file" + (f" (default: {default})" if default else
                                                          "" if required else
                                                          f" (default: ${CONFIG_ENV}, {INSTALLED_CONFIG} if "
                                                          "it exists, else config/demo.toml)"))
    parser.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                        dest="overrides", help="override one config key (repeatable)")


def default_config() -> str:
    """The config file used when ``--config`` is not given (see ``CONFIG_ENV`` above)."""
    from kiosk.demo_ils.daemon import demo_config_path

    env = os.environ.get(CONFIG_ENV)
    if env:
        return env
    if os.path.exists(INSTALLED_CONFIG):
        return INSTALLED_CONFIG
    conf_dir = os.path.dirname(INSTALLED_CONFIG)
    if os.path.isdir(conf_dir) and not os.access(conf_dir, os.R_OK | os.X_OK):
        # An installed kiosk (/etc/kiosk is 0700, owner kiosk) seen by another user: its config is
        # there but hidden, and the demo's would be another kiosk entirely (its own journal and a
        # demo library answering checkouts).
        raise ConfigError(f"{INSTALLED_CONFIG}: only the kiosk user can read this kiosk's configuration: "
                          "run the command as `sudo -u kiosk kiosk ...`, or pass --config FILE")
    return str(demo_config_path())


def settings_from_args(args: argparse.Namespace, *, ils: bool = False) -> config_mod.Settings:
    """Load the settings named by ``--config``/``--set`` (ConfigError propagates to ``main``).

    With the demo configuration, ``ils=True`` (the command talks to the library system) finds or
    starts the demo library system and points ``[ils]`` at it.  A configuration without a SIP2
    login gets one warning line: most library systems refuse a terminal that has not logged in.
    """
    from kiosk.demo_ils import daemon

    path = getattr(args, "config", None) or default_config()
    overrides = getattr(args, "overrides", []) or []
    settings = config_mod.load(path, resolve_secret_assignments(overrides))
    if not any(o.strip().startswith("storage.data_dir") for o in overrides):   # --set wins
        daemon.apply_demo_data_dir(settings)
    if ils:
        # The demo configuration means the demo library -- unless [ils] was pointed elsewhere.
        elsewhere = any(o.strip().startswith(("ils.host", "ils.port", "ils.url")) for o in overrides)
        if daemon.is_demo_config(settings.source) and not elsewhere:
            daemon.ensure_running(settings)
        if not settings.ils.user:
            print(f"kiosk: no SIP2 login configured ([ils] user in {settings.source}): most library "
                  "systems answer \"login required\"; pass --config FILE with [ils] user and password",
                  file=sys.stderr)
    return settings


def _config_check(args: argparse.Namespace) -> int:
    from kiosk.demo_ils.daemon import apply_demo_data_dir

    settings = apply_demo_data_dir(config_mod.load(args.file, resolve_secret_assignments(args.overrides)))
    print(f"{args.file}: OK ({', '.join(config_mod.SECTIONS)}; data in {settings.data_dir.resolve()})")
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
    parser.add_argument("--log-level", default=os.environ.get("KIOSK_LOG_LEVEL", "WARNING").upper(),
                        type=str.upper, choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
                        metavar="LEVEL", help="DEBUG, INFO, WARNING (default) or ERROR")
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


# Our --log-level for Kivy's own logger (KCFG_ variables are read when Kivy is imported, also by
# the tour's pass processes, which inherit the environment): its INFO banner only on request.
_KIVY_LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warning", "ERROR": "error", "CRITICAL": "critical"}


class _LocalDatabaseErrorType(type):
    def __instancecheck__(cls, exc: object) -> bool:
        sqlite3 = sys.modules.get("sqlite3")
        return sqlite3 is not None and isinstance(exc, sqlite3.Error)


class LocalDatabaseError(metaclass=_LocalDatabaseErrorType):
    """``isinstance(exc, LocalDatabaseError)``: ``exc`` is a ``sqlite3.Error`` -- asked without
    importing sqlite3, which `kiosk run` does not need before its first frame (~2 ms here, ~7 on a
    Pi 4 core; issue 19): while no module has imported it, no such error can have been raised."""


Failure = tuple[type | tuple[type, ...], str, int]

#: How ``kiosk`` reports an error a command lets through: the first row whose kind matches gives
#: the words in front of the message on stderr and the exit code (meanings: kiosk.exitcodes).
FAILURES: tuple[Failure, ...] = (
    (ConfigError, "configuration error:\n", EXIT_CONFIG),
    (ProtocolError, "protocol error: ", EXIT_PROTOCOL),
    ((IlsUnavailable, OutcomeUnknown), "library system unreachable: ", EXIT_UNREACHABLE),
    (JournalError, "local storage error: ", EXIT_STORAGE),
    (HardwareError, "hardware error: ", EXIT_HARDWARE),
    (KioskError, "error: ", EXIT_PROTOCOL),
    (LocalDatabaseError, "local storage error: ", EXIT_STORAGE),   # a data-dir database it cannot open or write
)


def report_failure(exc: BaseException, failures: Sequence[Failure], *, prefix: str = "",
                   suffix: str = "") -> int | None:
    """Say ``prefix + words + exc + suffix`` on stderr for the first row of ``failures`` that
    matches ``exc`` and return its exit code; None when no row does (the caller re-raises).
    Shared by ``kiosk`` itself and the staff tools that name their own errors (``kiosk ils``)."""
    for kinds, words, code in failures:
        if isinstance(exc, kinds):
            print(f"{prefix}{words}{exc}{suffix}", file=sys.stderr)
            return code
    return None


def add_commands(sub: argparse._SubParsersAction,
                 commands: Sequence[tuple[str, str, tuple[str, ...]]]) -> dict[str, argparse.ArgumentParser]:
    """One subcommand per row ``(name, help, positional arguments)``, in that order: a tool's
    synopsis as a table.  Returns the parsers by name, for the few that take options too."""
    parsers = {}
    for name, help_text, positionals in commands:
        parsers[name] = parser = sub.add_parser(name, help=help_text)
        for positional in positionals:
            parser.add_argument(positional)
    return parsers


def _quiet_broken_pipe() -> int:
    """``kiosk journal export | head``: the reader left; stop writing without a traceback."""
    from kiosk.cli.jsonout import stdout_to_devnull

    stdout_to_devnull()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _main(argv: Sequence[str] | None = None) -> int:
    from kiosk.appliance.privacy import setup_logging

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_of(argv))
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    os.environ.setdefault("KCFG_KIVY_LOG_LEVEL", _KIVY_LEVELS.get(str(args.log_level).upper(), "warning"))
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        raise
    except Exception as exc:
        code = report_failure(exc, FAILURES)        # ours (KioskError) and a local database's
        if code is not None:
            return code
        if isinstance(exc, (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError,
                            NotADirectoryError)):
            # A data directory or database path that cannot be created or opened.
            print(f"local storage error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_STORAGE
        raise
    except KeyboardInterrupt:
        logging.getLogger(__name__).info("interrupted")
        return EXIT_INTERRUPTED
