"""Typed, validated kiosk configuration from TOML: reading, checking and writing it.

The schema -- one dataclass per ``[section]`` and ``Settings`` -- lives in this package's modules
(``schema``, ``service``, ``appliance``, ``keys``; the pure value checks in ``checks``; who may
read the secrets in ``secrets``; where the files are in ``paths``) and is re-exported here, so the
rest of the kiosk imports everything from ``kiosk.config``.  The package imports nothing of the
kiosk above it but ``kiosk.errors``.
Loading never half-succeeds: every problem in a file is collected and reported together, each
naming the file, the key and what was expected, so a staff member can fix the file in one go.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from kiosk.config import checks
from kiosk.config.appliance import (  # noqa: F401 - the schema, re-exported: kiosk.config is its public face
    AlertsSection,
    CardReaderSection,
    DisplaySection,
    GpioSection,
    HardwareSection,
    MonitoringSection,
    PrinterSection,
    ScannerSection,
    StorageSection,
    TagReaderSection,
)
from kiosk.config.keys import opt  # noqa: F401 - the schema, re-exported: kiosk.config is its public face
from kiosk.config.paths import (  # noqa: F401 - re-exported: kiosk.config is the package's public face
    CONFIG_DIR,
    DEMO_CONFIG,
    PACKAGED_DEMO_CONFIG,
    PROJECT_ROOT,
    is_shipped_demo,
)
from kiosk.config.schema import (  # noqa: F401 - the schema, re-exported: kiosk.config is its public face
    SECTIONS,
    Settings,
    register_section,
)
from kiosk.config.secrets import (  # noqa: F401 - re-exported: kiosk.config is the package's public face
    check_secrets,
    holds_secrets,
    secret_file_errors,
)
from kiosk.config.service import (  # noqa: F401 - the schema, re-exported: kiosk.config is its public face
    BookdropSection,
    BrandingSection,
    GuideSection,
    HoursSection,
    IlsSection,
    KioskSection,
    OfflineSection,
    ReceiptSection,
    SpeechSection,
    StaffSection,
    StationSection,
    TagsSection,
)
from kiosk.errors import ConfigError

_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "text",
          list: "a list", dict: "a table"}


def _type_name(tp: Any, item: Any = None) -> str:
    if item is not None and tp is list:
        return f"a list of {_NAMES.get(item, str(item))}"
    if item is not None and tp is dict:
        return f"a table of {_NAMES.get(item, str(item))} values"
    return _NAMES.get(tp, str(tp))


_HINTS: dict[type, dict[str, Any]] = {}


def _resolve(cls: type, f: dataclasses.Field) -> tuple[Any, Any]:
    """(type, element type) of a field: ``list[str]`` -> (list, str); ``int`` -> (int, None)."""
    hints = _HINTS.get(cls)
    if hints is None:          # evaluating string annotations is slow: once per section class
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    tp = hints[f.name]
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    args = typing.get_args(tp)
    origin = typing.get_origin(tp) or tp
    # A plain ``list``/``dict`` holds text (every list key is names, codes, dates or hashes);
    # a key holding something else says so: ``list[int]``.
    item = (args[-1] if args else str) if origin in (list, dict) else None
    return origin, item


def _resolve_type(cls: type, f: dataclasses.Field) -> Any:
    return _resolve(cls, f)[0]


def _is_secret(f: dataclasses.Field) -> bool:
    """Secret keys: their values never appear in a message (``password = 12345`` is a password)."""
    return bool(f.metadata.get("secret")) or f.name.endswith(("password", "token"))


def _value_error(section: str, f: dataclasses.Field, tp: Any, item: Any, value: Any) -> str | None:
    """Why ``value`` (already of type ``tp``) is not acceptable: elements, NUL bytes, ranges."""
    if tp is str:
        return checks.text_error(value)
    if tp in (int, float):
        r = checks.range_for(section, f.name, tp, f.metadata.get("range"))
        return checks.number_error(value, r, tp)
    if tp in (list, dict) and item is not None:
        values = value.values() if tp is dict else value
        if tp is dict and not all(isinstance(k, str) for k in value):
            return f"expected {_type_name(tp, item)}"
        for v in values:
            try:
                _coerce(v, item)
            except TypeError:
                return f"expected {_type_name(tp, item)}"
            if item is str and (why := checks.text_error(v)):
                return why
    return None


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


def _is_text_key(section: str, key: str) -> bool:
    cls = SECTIONS.get(section)
    f = next((f for f in dataclasses.fields(cls) if f.name == key), None) if cls else None
    return f is not None and _resolve_type(cls, f) is str


def _parse_override_value(text: str, is_text: bool = False) -> Any:
    """``--set`` values are TOML scalars when they parse as one, else plain text.

    For a text key the value is taken as written (``ils.password=12345`` is the text "12345"),
    unless it is quoted as a TOML string.
    """
    if is_text and not text.startswith(('"', "'")):
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):   # RecursionError: [[[[...]]]] thousands deep
        return text


_SECRET_WORDS = ("pass", "secret", "token", "pin", "hash", "webhook")


def apply_overrides(data: dict, overrides: list[str], source: str) -> list[str]:
    """Merge ``section.key=value`` overrides into raw TOML data; returns error messages."""
    errors = []
    for item in overrides:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            # never echo what may be a mistyped secret (ils.password:s3cret)
            shown = "(not shown)" if any(w in item.lower() for w in _SECRET_WORDS) else repr(item)
            errors.append(f"--set {shown}: expected section.key=value, for example ils.port=6001")
            continue
        dotted, value = item.split("=", 1)
        section, key = dotted.strip().split(".", 1)
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            errors.append(f"{source}: {section} must be a [section], not a value")
            continue
        target[key] = _parse_override_value(value.strip(), _is_text_key(section, key))
    return errors


def build_settings(data: dict, source: str) -> Settings:
    """Validate raw TOML data into Settings or raise one ConfigError listing every problem."""
    errors: list[str] = []
    sections: dict[str, Any] = {}
    bad: set[str] = set()
    for name, raw in data.items():
        if name not in SECTIONS:
            import difflib  # only on a mistake: kept off the kiosk's start-up path

            hint = difflib.get_close_matches(name, SECTIONS, n=1)
            shown = name if name.isprintable() and len(name) <= 64 else repr(name[:64])
            errors.append(f"{source}: unknown section [{shown}]" + (f"; did you mean [{hint[0]}]?" if hint else
                          f"; known sections: {', '.join(sorted(SECTIONS))}"))
            continue
        if not isinstance(raw, dict):
            errors.append(f"{source}: {name!r} must be a [section], not a value")
            continue
        cls = SECTIONS[name]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        before = len(errors)
        for key, value in raw.items():
            if key not in fields:
                import difflib

                hint = difflib.get_close_matches(key, fields, n=1)
                errors.append(f"{source}: [{name}] unknown key {key[:64]!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""))
                continue
            f = fields[key]
            tp, item = _resolve(cls, f)
            try:
                value = _coerce(value, tp)
            except TypeError:
                got = "" if _is_secret(f) else f", got {value!r}"
                errors.append(f"{source}: [{name}] {key}: expected {_type_name(tp, item)}{got}")
                continue
            if why := _value_error(name, f, tp, item, value):
                got = "" if _is_secret(f) or tp in (list, dict, str) else f"; got {value!r}"
                errors.append(f"{source}: [{name}] {key}: {why}{got}")
                continue
            choices = f.metadata.get("choices")
            if choices and value not in choices:
                errors.append(f"{source}: [{name}] {key}: expected one of {', '.join(choices)}; got {value!r}")
                continue
            values[key] = value
        if len(errors) > before:
            bad.add(name)
            continue
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
    # Rules across keys run on every section whose own keys were valid, so one load reports
    # every problem (a bad [hours] next to a bad [bookdrop] key), never a rule fed a default
    # that stands in for a refused value.
    errors.extend(_cross_checks({n: sec for n, sec in sections.items() if n not in bad}, source))
    if errors:
        raise ConfigError("\n".join(errors))
    settings = Settings(source=source)
    for name, value in sections.items():
        setattr(settings, name, value)
    return settings


def _cross_checks(sections: dict[str, Any], source: str) -> list[str]:
    """Rules that involve more than one key."""
    errors = []
    br = sections.get("branding")
    if br and br.accent_colour:
        s = br.accent_colour.strip().lstrip("#")
        if len(s) not in (3, 6) or any(c not in "0123456789abcdefABCDEF" for c in s):
            errors.append(f"{source}: [branding] accent_colour: expected a colour like #1a5496; "
                          f"got {br.accent_colour!r}")
    rc = sections.get("receipt")
    if rc and (not rc.choices or any(c not in ("print", "email", "none") for c in rc.choices)):
        errors.append(f"{source}: [receipt] choices: expected a non-empty list of print, email, none; "
                      f"got {rc.choices!r}")
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
    # The appliance layer's sections ([staff], [alerts], [monitoring], [hours]) are checked with
    # the pure helpers of kiosk.config.checks, which those layers use too: this package imports
    # nothing above it.
    errors.extend(checks.cross_errors(sections, source))
    return errors


def load(path: str | os.PathLike | None, overrides: list[str] | None = None) -> Settings:
    """Load and validate a config file (or the embedded defaults when ``path`` is None)."""
    source = str(path) if path is not None else "<defaults>"
    data: dict = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError as exc:
            raise ConfigError(f"{source}: file not found") from exc
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from exc
        except ValueError as exc:   # a NUL byte in the path
            raise ConfigError(f"{source}: cannot read: the file name contains a NUL character") from exc
        data = parse_toml(raw, source)
    errors = apply_overrides(data, overrides or [], source)
    if errors:
        raise ConfigError("\n".join(errors))
    settings = build_settings(data, source)
    errors = secret_file_errors(settings)
    if errors:
        raise ConfigError("\n".join(errors))
    return settings


def parse_toml(raw: bytes, source: str) -> dict:
    """TOML bytes as data, or one ConfigError naming the file and line (never a traceback)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{source}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02X}); "
                          f"save the file as UTF-8 (TOML files are UTF-8)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid TOML: arrays or tables nested too deeply") from None


def to_toml_dict(settings: Settings) -> dict:
    """Settings as plain data, for writing back (staff mode) or showing (secrets masked by caller)."""
    return {name: dataclasses.asdict(getattr(settings, name)) for name in SECTIONS}


def write_atomically(path: str | os.PathLike, data: dict, *, private: bool = False) -> None:
    """Write a config file so a power cut leaves either the old or the new file, never half of one.
    It keeps the old file's mode and owner (``sudo kiosk staff set``: the kiosk runs as its own
    user); ``private`` (it now holds a secret) takes group and other access away, or
    :func:`check_secrets` would refuse the next start."""
    import tomli_w

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        tomli_w.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    old = path.stat() if path.exists() else None
    mode = stat.S_IMODE(old.st_mode) if old is not None else 0o600
    if private:
        mode &= ~(stat.S_IRWXG | stat.S_IRWXO)
    os.chmod(tmp, mode)
    if old is not None and os.geteuid() == 0 and (old.st_uid, old.st_gid) != (0, 0):
        os.chown(tmp, old.st_uid, old.st_gid)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
