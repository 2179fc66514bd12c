"""Changing settings from staff mode: validated first, then written atomically.

A staff member on the touchscreen must not be able to leave the kiosk with a config it cannot
start from.  Every change is merged into the file's own data, the whole result is validated with
the same code that loads it at start (``kiosk.config.build_settings``), and only then written with
``kiosk.config.write_atomically`` (temp file, fsync, rename, fsync of the directory): a power cut
leaves the old file or the new one.  A rejected change raises ``ConfigError`` whose message names
the key and what was expected, ready to show on the screen.

Only keys of the file are rewritten; comments in the file are not kept (TOML writers drop them).
These functions do file I/O and scrypt: call them from a worker thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk import config as config_mod
from kiosk.errors import ConfigError
from kiosk.staff.auth import hash_secret, normalise_card

_write_lock = threading.Lock()


@dataclass(frozen=True)
class SettingInfo:
    """One key as a staff screen shows it (secrets masked)."""

    section: str
    key: str
    value: Any
    default: Any
    doc: str
    choices: tuple[str, ...] | None
    type: str
    secret: bool


def describe(settings: config_mod.Settings) -> list[SettingInfo]:
    """Every key with its current value, for the staff settings screen."""
    out = []
    for name, cls in config_mod.SECTIONS.items():
        section = getattr(settings, name, None)
        if section is None:
            continue
        hints = _hints(cls)
        for f in dataclasses.fields(cls):
            secret = bool(f.metadata.get("secret"))
            value = getattr(section, f.name)
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            if secret and value:
                value = "••••••" if not isinstance(value, list) else ["••••••"] * len(value)
            out.append(SettingInfo(name, f.name, value, default, f.metadata.get("doc", ""),
                                   f.metadata.get("choices"), hints.get(f.name, "text"), secret))
    return out


def _hints(cls: type) -> dict[str, str]:
    names = {bool: "bool", int: "int", float: "float", str: "text", list: "list", dict: "table"}
    out = {}
    for f in dataclasses.fields(cls):
        tp = config_mod._resolve_type(cls, f)
        out[f.name] = names.get(tp, "text")
    return out


def _read_raw(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    return config_mod.parse_toml(raw, str(path))   # not UTF-8, too deep: one ConfigError


def _parse_text(section: str, key: str, value: Any) -> Any:
    """A touchscreen gives text; turn "7000" into 7000 where the key is not text."""
    cls = config_mod.SECTIONS.get(section)
    if cls is None or not isinstance(value, str):
        return value
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if key not in fields or config_mod._resolve_type(cls, fields[key]) is str:
        return value
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):   # RecursionError: [[[[...]]]] thousands deep
        return value  # validation reports it as the wrong type, naming the key


def apply_changes(config_path: str | os.PathLike, changes: dict[str, Any]) -> config_mod.Settings:
    """Apply ``{"section.key": value}`` to the config file; returns the new, validated Settings.

    Raises ConfigError (the file is untouched) when a key is unknown or a value is invalid.
    """
    path = Path(config_path)
    with _write_lock, _file_lock(path):
        data = _read_raw(path)
        errors = []
        for dotted, value in changes.items():
            section, dot, key = dotted.partition(".")
            if not dot or not section or not key:
                errors.append(f"{dotted!r}: expected section.key, for example kiosk.session_timeout_s")
                continue
            data.setdefault(section, {})
            if not isinstance(data[section], dict):
                errors.append(f"{path}: {section} must be a [section], not a value")
                continue
            data[section][key] = _parse_text(section, key, value)
        if errors:
            raise ConfigError("\n".join(errors))
        settings = config_mod.build_settings(data, str(path))  # raises ConfigError naming the key
        config_mod.write_atomically(path, data, private=config_mod.holds_secrets(settings))
    return settings


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise read-modify-write across processes too (the app and `kiosk staff set`)."""
    with open(path.with_name(f".{path.name}.lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def set_staff_pin(config_path: str | os.PathLike, pin: str) -> config_mod.Settings:
    """Store a new staff PIN (as a hash) in the config file."""
    check_pin(pin)
    return apply_changes(config_path, {"staff.pin_hash": hash_secret(pin)})


def add_staff_card(config_path: str | os.PathLike, card: str) -> config_mod.Settings:
    """Add a staff card (as a hash) to the config file."""
    card = normalise_card(card)
    if not card:
        raise ConfigError("[staff] card_hashes: the card number is empty")
    current = _read_raw(Path(config_path)).get("staff", {}).get("card_hashes", [])
    return apply_changes(config_path, {"staff.card_hashes": [*current, hash_secret(card)]})


def check_pin(pin: str) -> None:
    """Staff PINs: 4 to 12 digits (a PIN pad has digits only)."""
    if not (pin.isdigit() and pin.isascii() and 4 <= len(pin) <= 12):
        raise ConfigError("[staff] pin_hash: a staff PIN must be 4 to 12 digits")
