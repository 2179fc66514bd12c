"""``kiosk staff ...``: tools for whoever installs and looks after the kiosk.

    kiosk staff hash-pin            read a PIN (hidden prompt, or stdin when piped), print the
                                    pin_hash line for [staff]
    kiosk staff hash-card           the same for a staff card number (a card_hashes entry)
    kiosk staff set KEY=VALUE ...   change settings in the config file, validated and atomic
    kiosk staff unlock              lift a staff lock-out (needs shell access to the kiosk)
    kiosk staff stats               checkouts/returns/renewals/refusals per day (or --hours): the
                                    touchscreen's sessions and `kiosk checkout`/`kiosk return` alike
    kiosk staff check-secrets       exit 1 when a secret is readable by other users
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date, timedelta

from kiosk.cli.secrets import resolve_secret_assignments
from kiosk.errors import ConfigError
from kiosk.exitcodes import EXIT_OK, EXIT_USAGE


def _read_secret(prompt: str, confirm: bool) -> str:
    """A hidden prompt on a terminal; the first line of stdin otherwise (scripts, tests)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    try:
        first = getpass.getpass(prompt)
        again = getpass.getpass("again: ") if confirm else first
    except EOFError:                  # Ctrl-D at the prompt: a traceback used to follow
        print("\nkiosk staff: nothing entered; nothing was printed", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    if again != first:                # a slip at the keyboard, not a configuration error (exit 1)
        print("kiosk staff: the two entries differ; nothing was printed", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    return first


def _hash_pin(args: argparse.Namespace) -> int:
    from kiosk.staff.auth import hash_secret
    from kiosk.staff.settings_edit import check_pin

    pin = _read_secret("staff PIN (4-12 digits): ", confirm=True)
    check_pin(pin)
    print(f'pin_hash = "{hash_secret(pin)}"')
    return EXIT_OK


def _hash_card(args: argparse.Namespace) -> int:
    from kiosk.staff.auth import hash_secret, normalise_card

    card = normalise_card(_read_secret("staff card number (or tap it on a keyboard-wedge reader): ",
                                       confirm=False))
    if not card:
        raise ConfigError("[staff] card_hashes: the card number is empty")
    h = hash_secret(card)
    print(f'"{h}"')
    print(f'# in [staff]: card_hashes = ["{h}"]  (add to the list to keep existing cards)', file=sys.stderr)
    return EXIT_OK


def _set(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kiosk.staff.settings_edit import apply_changes

    if not Path(args.config).is_file():    # a typo must not become a new, nearly empty config
        raise ConfigError(f"{args.config}: file not found (kiosk staff set changes an existing "
                          "configuration; start from config/kiosk.example.toml)")

    changes = {}
    for item in resolve_secret_assignments(args.changes, option="kiosk staff set", quote=False):
        key, eq, value = item.partition("=")
        if not eq:
            print(f'kiosk staff set: "{item}": expected SECTION.KEY=VALUE, for example kiosk.mode=returns',
                  file=sys.stderr)
            return EXIT_USAGE
        changes[key.strip()] = value.strip()
    if any(k.startswith("staff.") and k.split(".", 1)[1] in ("pin_hash", "card_hashes") for k in changes):
        raise ConfigError("use `kiosk staff hash-pin`/`hash-card` for PINs and cards (never store them plain)")
    settings = apply_changes(args.config, changes)
    print(f"{args.config}: saved ({len(changes)} change(s)); data in {settings.data_dir}")
    return EXIT_OK


def _unlock(args: argparse.Namespace) -> int:
    from kiosk.cli import settings_from_args
    from kiosk.staff.auth import LOCKOUT_DB, LockoutStore

    settings = settings_from_args(args)
    LockoutStore(settings.data_dir / LOCKOUT_DB).clear()
    print("staff login unlocked")
    return EXIT_OK


def _stats(args: argparse.Namespace) -> int:
    from kiosk.cli import settings_from_args
    from kiosk.staff.stats import Stats

    settings = settings_from_args(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stats = Stats.for_settings(settings)
    end = date.today()
    start = end - timedelta(days=args.days - 1)
    if args.hours:
        print(f"hour  checkouts  returns  renewals  refusals   ({start} to {end})")
        for h in stats.per_hour(start, end):
            c = h.counts
            print(f"{h.hour:02d}:00 {c.checkouts:9d} {c.returns:8d} {c.renewals:9d} {c.refusals:9d}")
    else:
        print("day         checkouts  returns  renewals  refusals  offline")
        for d in stats.per_day(start, end):
            c = d.counts
            print(f"{d.day}  {c.checkouts:9d} {c.returns:8d} {c.renewals:9d} {c.refusals:9d} {c.offline:8d}")
    reasons = stats.refusal_reasons(start, end)
    if reasons:
        print("refusals by reason: " + ", ".join(f"{k} {v}" for k, v in reasons.items()))
    print(f"(touchscreen sessions and kiosk checkout/return on {settings.data_dir})")
    return EXIT_OK


def _check_secrets(args: argparse.Namespace) -> int:
    from kiosk.cli import settings_from_args
    from kiosk.config import check_secrets

    settings = settings_from_args(args)
    check_secrets(settings)  # ConfigError -> exit 1 with the chmod to run
    settings.ils_password()
    from kiosk.demo_ils.daemon import is_demo_config

    if is_demo_config(settings.source):
        print(f"{settings.source}: the demo's login and staff PIN are published in the README, not "
              "secret; a real kiosk's config must be readable by the kiosk user only (chmod 600)")
        return EXIT_OK
    print(f"{settings.source}: secrets are readable by this user only")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    from kiosk.cli import add_config_args

    staff = subparsers.add_parser("staff", help="staff PINs and cards, settings, statistics, lock-out")
    sub = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)

    p = sub.add_parser("hash-pin", help="print the [staff] pin_hash line for a PIN read from the prompt/stdin")
    p.set_defaults(func=_hash_pin)
    p = sub.add_parser("hash-card", help="print a [staff] card_hashes entry for a card read from the prompt/stdin")
    p.set_defaults(func=_hash_card)

    p = sub.add_parser("set", help="change settings in the config file (validated, written atomically)")
    p.add_argument("--config", metavar="FILE", required=True, help="the TOML file to change")
    p.add_argument("changes", nargs="+", metavar="SECTION.KEY=VALUE")
    p.set_defaults(func=_set)

    p = sub.add_parser("unlock", help="lift a staff login lock-out")
    add_config_args(p)
    p.set_defaults(func=_unlock)

    p = sub.add_parser("stats", help="transactions per day (or per hour with --hours): touchscreen and CLI")
    add_config_args(p)
    p.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    p.add_argument("--hours", action="store_true", help="sum per hour of the day instead")
    p.set_defaults(func=_stats)

    p = sub.add_parser("check-secrets", help="exit 1 when a password or hash is readable by other users")
    add_config_args(p)
    p.set_defaults(func=_check_secrets)
