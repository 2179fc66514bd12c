"""Typed, validated kiosk configuration from TOML.

The schema is a set of dataclasses, one per ``[section]``; each field's metadata carries the help
text shown by ``kiosk config check`` and, for strings with a fixed set of values, the choices.
Loading never half-succeeds: every problem in a file is collected and reported together, each
naming the file, the key and what was expected, so a staff member can fix the file in one go.

Adding a key: add a field to the section's dataclass (with ``doc=``), document it in
``config/kiosk.example.toml`` (a test checks every key is there), and read it where it is used.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import stat
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"


def opt(default: Any, doc: str, choices: tuple[str, ...] | None = None, secret: bool = False) -> Any:
    """A config key with a default, its help text, and optional allowed values."""
    meta = {"doc": doc, "choices": choices, "secret": secret}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class KioskSection:
    """[kiosk]: what this kiosk does and for whom."""

    mode: str = opt("staffed", "staffed: patrons borrow and return; returns: return slot only; "
                    "auto: staffed in opening hours, returns-only outside them",
                    choices=("staffed", "returns", "auto"))
    language: str = opt("en", "default language of the patron screens", choices=("en", "de", "es", "fr"))
    languages: list = opt(["en", "de", "es", "fr"], "languages a patron can switch to")
    offline_policy: str = opt("returns", "what the kiosk does while the library system is unreachable",
                              choices=("none", "returns", "returns+checkouts"))
    session_timeout_s: int = opt(60, "seconds without a touch or a tag before a patron session ends")
    timeout_warning_s: int = opt(20, "seconds of warning (with a 'more time' button) before the timeout")
    require_pin: bool = opt(False, "ask patrons for their PIN after the card")
    fullscreen: bool = opt(True, "run full screen (production); false opens a window")
    width: int = opt(800, "window width when not full screen")
    height: int = opt(480, "window height when not full screen")


@dataclass
class IlsSection:
    """[ils]: how to reach the library system (SIP2 server)."""

    protocol: str = opt("sip2", "protocol spoken to the library system", choices=("sip2",))
    host: str = opt("127.0.0.1", "host name or address of the SIP2 server")
    port: int = opt(6001, "TCP port of the SIP2 server")
    tls: bool = opt(False, "wrap the connection in TLS (stunnel, FOLIO edge-sip2)")
    tls_ca_file: str = opt("", "CA bundle to verify the server certificate (empty: system store)")
    tls_cert_file: str = opt("", "client certificate for mutual TLS (optional)")
    tls_key_file: str = opt("", "key of the client certificate", secret=False)
    tls_verify_hostname: bool = opt(True, "check the server certificate matches the host name")
    user: str = opt("", "SIP2 login user (CN)")
    password: str = opt("", "SIP2 login password (CO); prefer password_file", secret=True)
    password_file: str = opt("", "file holding the SIP2 password (must not be world-readable)")
    institution: str = opt("", "institution id (AO)")
    location: str = opt("", "location code (CP) of this kiosk")
    charset: str = opt("utf-8", "character set of the SIP2 link", choices=("utf-8", "cp850", "latin-1"))
    timeout_s: float = opt(10.0, "seconds to wait for a reply before the outcome is treated as unknown")
    retries: int = opt(2, "times a safe (read-only or check-in) request is resent after a timeout")
    error_detection: bool = opt(True, "send and check AY sequence numbers and AZ checksums")
    pool_size: int = opt(4, "logged-in connections kept open so a stack of items is worked in parallel")
    keepalive_s: int = opt(120, "seconds of idleness after which an SC status (99) keeps the link alive")


@dataclass
class StorageSection:
    """[storage]: where the kiosk keeps its journal, statistics and Kivy's own files."""

    data_dir: str = opt("var", "directory for the journal, statistics and KIVY_HOME (relative to the "
                        "config file's directory when not absolute)")


@dataclass
class HardwareSection:
    """[hardware]: which drivers to use."""

    simulate: bool = opt(True, "use simulated devices (demo, tests, a laptop) instead of real drivers")


@dataclass
class Settings:
    """The whole configuration.  ``source`` is the file it came from (for messages)."""

    kiosk: KioskSection = field(default_factory=KioskSection)
    ils: IlsSection = field(default_factory=IlsSection)
    storage: StorageSection = field(default_factory=StorageSection)
    hardware: HardwareSection = field(default_factory=HardwareSection)
    source: str = "<defaults>"

    @property
    def data_dir(self) -> Path:
        """The data directory, resolved against the config file's directory."""
        p = Path(self.storage.data_dir).expanduser()
        if not p.is_absolute():
            base = Path(self.source).resolve().parent if self.source != "<defaults>" else Path.cwd()
            p = base / p
        return p

    def ils_password(self) -> str:
        """The SIP2 password, read from ``password_file`` when one is set.

        Refuses a world- or group-readable password file: library-system credentials must be
        readable by the kiosk user only (the installer sets 0600).
        """
        if not self.ils.password_file:
            return self.ils.password
        path = Path(self.ils.password_file)
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            raise ConfigError(f"{self.source}: [ils] password_file: cannot read {path}: {exc.strerror}") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"{self.source}: [ils] password_file: {path} is readable by other users "
                f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}")
        return path.read_text(encoding="utf-8").strip()


SECTIONS: dict[str, type] = {name: tp for name, tp in typing.get_type_hints(Settings).items() if name != "source"}


def register_section(name: str, cls: type) -> None:
    """Let a layer declare its own ``[section]`` (e.g. hardware devices) without editing this file."""
    SECTIONS[name] = cls


def _type_name(tp: Any) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text",
            list: "a list", dict: "a table"}.get(tp, str(tp))


def _resolve_type(cls: type, f: dataclasses.Field) -> Any:
    hints = typing.get_type_hints(cls)
    tp = hints[f.name]
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    return typing.get_origin(tp) or tp


def _coerce(value: Any, tp: Any) -> Any:
    """Check a TOML value against the field type; ints are accepted where floats are expected."""
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise TypeError
    if tp is int and isinstance(value, bool):
        raise TypeError
    if isinstance(value, tp):
        return value
    raise TypeError


def _parse_override_value(text: str) -> Any:
    """``--set`` values are TOML scalars when they parse as one, else plain text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict, overrides: list[str], source: str) -> list[str]:
    """Merge ``section.key=value`` overrides into raw TOML data; returns error messages."""
    errors = []
    for item in overrides:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            errors.append(f"--set {item!r}: expected section.key=value, for example ils.port=6001")
            continue
        dotted, value = item.split("=", 1)
        section, key = dotted.strip().split(".", 1)
        data.setdefault(section, {})[key] = _parse_override_value(value.strip())
    return errors


def build_settings(data: dict, source: str) -> Settings:
    """Validate raw TOML data into Settings or raise one ConfigError listing every problem."""
    errors: list[str] = []
    sections: dict[str, Any] = {}
    for name, raw in data.items():
        if name not in SECTIONS:
            hint = difflib.get_close_matches(name, SECTIONS, n=1)
            errors.append(f"{source}: unknown section [{name}]" + (f"; did you mean [{hint[0]}]?" if hint else
                          f"; known sections: {', '.join(sorted(SECTIONS))}"))
            continue
        if not isinstance(raw, dict):
            errors.append(f"{source}: {name} must be a [section], not a value")
            continue
        cls = SECTIONS[name]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for key, value in raw.items():
            if key not in fields:
                hint = difflib.get_close_matches(key, fields, n=1)
                errors.append(f"{source}: [{name}] unknown key {key!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""))
                continue
            f = fields[key]
            tp = _resolve_type(cls, f)
            try:
                value = _coerce(value, tp)
            except TypeError:
                errors.append(f"{source}: [{name}] {key}: expected {_type_name(tp)}, got {value!r}")
                continue
            choices = f.metadata.get("choices")
            if choices and value not in choices:
                errors.append(f"{source}: [{name}] {key}: expected one of {', '.join(choices)}; got {value!r}")
                continue
            values[key] = value
        try:
            sections[name] = cls(**values)
        except TypeError as exc:  # a required field (no default) is missing
            missing = [f.name for f in dataclasses.fields(cls)
                       if f.name not in values and f.default is dataclasses.MISSING
                       and f.default_factory is dataclasses.MISSING]
            errors.append(f"{source}: [{name}] missing value for {', '.join(missing) or exc}")
    for name, cls in SECTIONS.items():
        if name not in sections and not errors:
            try:
                sections[name] = cls()
            except TypeError:
                errors.append(f"{source}: section [{name}] is required")
    errors.extend(_cross_checks(sections, source) if not errors else [])
    if errors:
        raise ConfigError("\n".join(errors))
    settings = Settings(source=source)
    for name, value in sections.items():
        setattr(settings, name, value)
    return settings


def _cross_checks(sections: dict[str, Any], source: str) -> list[str]:
    """Rules that involve more than one key."""
    errors = []
    k = sections.get("kiosk")
    if k and k.timeout_warning_s >= k.session_timeout_s:
        errors.append(f"{source}: [kiosk] timeout_warning_s: expected less than session_timeout_s "
                      f"({k.session_timeout_s}); got {k.timeout_warning_s}")
    if k and k.language not in k.languages:
        errors.append(f"{source}: [kiosk] language: expected one of languages ({', '.join(k.languages)}); "
                      f"got {k.language!r}")
    ils = sections.get("ils")
    if ils and ils.password and ils.password_file:
        errors.append(f"{source}: [ils] password and password_file: expected only one of them")
    if ils and not 1 <= ils.pool_size <= 16:
        errors.append(f"{source}: [ils] pool_size: expected 1 to 16; got {ils.pool_size}")
    return errors


def load(path: str | os.PathLike | None, overrides: list[str] | None = None) -> Settings:
    """Load and validate a config file (or the embedded defaults when ``path`` is None)."""
    source = str(path) if path is not None else "<defaults>"
    data: dict = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"{source}: file not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read: {exc.strerror}") from exc
    errors = apply_overrides(data, overrides or [], source)
    if errors:
        raise ConfigError("\n".join(errors))
    return build_settings(data, source)


def to_toml_dict(settings: Settings) -> dict:
    """Settings as plain data, for writing back (staff mode) or showing (secrets masked by caller)."""
    return {name: dataclasses.asdict(getattr(settings, name)) for name in SECTIONS}


def write_atomically(path: str | os.PathLike, data: dict) -> None:
    """Write a config file so a power cut leaves either the old or the new file, never half of one."""
    import tomli_w

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        tomli_w.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o600
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
