"""Secrets in the configuration: who may read them (``check_secrets``), whether the config file
holds one (``holds_secrets``), and what is wrong inside a ``*password_file``."""

from __future__ import annotations

import dataclasses
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.config.paths import is_shipped_demo
from kiosk.config.schema import SECTIONS, Settings
from kiosk.errors import ConfigError


def check_secrets(settings: Settings, *, allow_insecure: bool = False) -> list[str]:
    """Refuse to start when a secret could be read by other users of the machine.

    Checked: every ``*password_file`` that is set, and the config file itself when it holds a
    secret value (``[ils] password``, ``[alerts] smtp_password``/``webhook_url``, the staff PIN and
    card hashes — a 4-digit PIN falls to an offline guess from its hash in minutes).  Each must be
    readable by the kiosk user only (mode 0600; ``systemd/install.sh`` sets it).

    Raises ConfigError listing every problem with the chmod that fixes it; with ``allow_insecure``
    (the demo, whose shipped demo.toml holds the demo password) the messages are returned instead.
    """
    problems: list[str] = []

    def private(path: Path, what: str) -> None:
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            problems.append(f"{what}: cannot read {path}: {exc.strerror}")
            return
        except ValueError:   # a NUL character in the name
            problems.append(f"{what}: the file name must not contain a NUL character")
            return
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(f"{what}: {path} is readable by other users (mode {stat.S_IMODE(mode):04o}); "
                            f"run: chmod 600 {path}")

    for name, f, value in _set_fields(settings):
        if f.name.endswith("password_file"):
            private(Path(value).expanduser(), f"{settings.source}: [{name}] {f.name}")
    inline = [f"[{name}] {f.name}" for name, f, _value in _set_fields(settings) if f.metadata.get("secret")]
    # The shipped demo configuration's secrets (demo login, demo staff PIN) are published in the
    # README; git cannot keep a file 0600 after a clone, so its mode is not a problem worth a warning.
    if inline and settings.source != "<defaults>" and not is_shipped_demo(settings.source):
        private(Path(settings.source), f"{settings.source} (holds {', '.join(inline)})")
    if problems and not allow_insecure:
        raise ConfigError("\n".join(problems))
    return problems


def _set_fields(settings: Settings) -> Iterator[tuple[str, dataclasses.Field, Any]]:
    """(section, field, value) of every field of every section that has a value."""
    for name in SECTIONS:
        section = getattr(settings, name, None)
        if section is not None and dataclasses.is_dataclass(section):
            yield from ((name, f, getattr(section, f.name)) for f in dataclasses.fields(section)
                        if getattr(section, f.name))


def holds_secrets(settings: Settings) -> bool:
    """Does the config file itself hold a secret value (not a ``*password_file`` path)?"""
    return any(f.metadata.get("secret") for _name, f, _value in _set_fields(settings))


def secret_file_errors(settings: Settings) -> list[str]:
    """What is wrong inside the ``*password_file`` files this process can read.

    A password file must hold one line of UTF-8 text without NUL bytes (a NUL or a second line
    would be sent to the server as part of the password).  Files that are missing or unreadable
    here are left to :func:`check_secrets` and the start of the kiosk: a config can be checked on
    another machine than the kiosk's.
    """
    errors = []
    for name, f, value in _set_fields(settings):
        if not (f.name.endswith("password_file") and isinstance(value, str)):
            continue
        where = f"{settings.source}: [{name}] {f.name}"
        try:
            with open(Path(value).expanduser(), "rb") as fh:
                raw = fh.read(65536)
        except (OSError, ValueError):
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            errors.append(f"{where}: {value} is not UTF-8 text")
            continue
        if "\x00" in text or len(text.strip().splitlines()) > 1:
            errors.append(f"{where}: {value} must hold the password on one line, without NUL bytes")
    return errors
