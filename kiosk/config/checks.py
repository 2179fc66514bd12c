"""Pure checks of configuration values: number ranges, opening hours, hashes, listen addresses.

This module sits at the bottom of :mod:`kiosk.config`, under its loader (it imports only
:mod:`kiosk.errors` and the standard library), so validating a configuration never imports the layers that use it (the
alerting, monitoring, after-hours and staff code).  Those layers import the helpers they share
with the check from here (``parse_intervals``, ``parse_hours``, ``check_hash_format``), so the
check and the code that later uses a value cannot disagree.

Every message follows the config module's form: ``FILE: [section] key: expected ...; got ...``.
Values of secret keys are never put into a message.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from kiosk.errors import ConfigError

ASCII_DIGITS = frozenset("0123456789")


def ascii_digits(text: str) -> bool:
    """True for a non-empty run of the ASCII digits 0-9 (``str.isdigit`` also takes "²", "٣")."""
    return bool(text) and all(c in ASCII_DIGITS for c in text)


# -- number ranges ---------------------------------------------------------------------------------

#: (low, high, low_exclusive).  Seconds and minutes must be above 0; a kiosk waiting "0 s" for a
#: reply or probing "every 0 s" is a typo, and nan/inf are never accepted anywhere.
Range = tuple[float, float, bool]
_POSITIVE_S: Range = (0, 86400, True)          # (0, one day]
_TCP_PORT: Range = (1, 65535, False)
_BCM_PIN: Range = (-1, 53, False)              # -1: not wired/fitted; BCM GPIO 0-53
_BYTE: Range = (0, 255, False)
_BAUD: Range = (50, 4_000_000, False)

RANGES: dict[tuple[str, str], Range] = {
    ("kiosk", "session_timeout_s"): (1, 86400, False),
    ("kiosk", "timeout_warning_s"): (0, 3600, False),
    ("kiosk", "width"): (100, 10000, False),
    ("kiosk", "height"): (100, 10000, False),
    ("ils", "port"): _TCP_PORT,
    ("ils", "timeout_s"): (0, 600, True),
    ("ils", "retries"): (0, 10, False),
    ("ils", "pool_size"): (1, 16, False),
    ("ils", "keepalive_s"): (0, 86400, False),
    ("card_reader", "spi_bus"): (0, 7, False),
    ("card_reader", "spi_device"): (0, 7, False),
    ("card_reader", "spi_speed_hz"): (1000, 50_000_000, False),
    ("card_reader", "poll_interval_s"): (0, 60, True),
    ("tag_reader", "bus_address"): _BYTE,
    ("tag_reader", "afi_on_shelf"): _BYTE,
    ("tag_reader", "afi_on_loan"): _BYTE,
    ("tag_reader", "poll_interval_s"): (0, 60, True),
    ("tag_reader", "timeout_s"): (0, 60, True),
    ("tag_reader", "spi_device"): (0, 7, False),
    ("printer", "width"): (16, 80, False),
    ("printer", "timeout_s"): (0, 120, True),
    ("gpio", "chip"): (-1, 64, False),
    ("gpio", "slot_bounce_ms"): (0, 1000, False),
    ("gpio", "max_unlock_s"): (0, 60, True),
    ("offline", "max_items_per_patron"): (0, 100, False),
    ("offline", "default_loan_days"): (1, 365, False),
    ("offline", "card_cache_days"): (1, 3650, False),
    ("offline", "probe_interval_s"): (0, 3600, True),
    ("staff", "max_attempts"): (1, 100, False),
    ("staff", "lockout_s"): (1, 86400, False),
    ("staff", "idle_logout_s"): (1, 86400, False),
    ("alerts", "timeout_s"): (0, 300, True),
    ("alerts", "ils_down_after_min"): (0, 10080, True),
    ("alerts", "queue_waiting_after_min"): (0, 10080, True),
    ("alerts", "min_interval_min"): (0, 10080, True),
    ("alerts", "max_per_hour"): (1, 3600, False),
    ("bookdrop", "lock_open_s"): (0, 600, True),
    ("bookdrop", "read_window_s"): (0, 60, True),
    ("bookdrop", "jam_s"): (0, 3600, True),
    ("bookdrop", "feedback_s"): (0, 60, True),
    ("bookdrop", "checkin_wait_s"): (0, 600, True),
    ("bookdrop", "bin_capacity"): (0, 1_000_000, False),
    ("bookdrop", "sync_interval_s"): _POSITIVE_S,
    ("receipt", "email_timeout_s"): (0, 300, True),
}

#: int range for a numeric key nobody gave a range (and no name rule covers)
_ANY_INT: Range = (-(2**31), 2**31 - 1, False)
_ANY_FLOAT: Range = (-1e9, 1e9, False)


def range_for(section: str, key: str, tp: type, declared: Range | None = None) -> Range:
    """The allowed range of a numeric key: declared on the field, listed above, or by its name.

    Name rules cover keys added later without a range: ``*_port``/``port`` are TCP ports,
    ``*_pin`` BCM GPIO numbers (-1: not wired), ``baudrate`` serial speeds, ``*_s``/``*_min``
    positive durations of at most a day/week, ``*_days`` 1-3650, ``*_ms`` 0-60000.
    """
    if declared is not None:
        return declared
    if (section, key) in RANGES:
        return RANGES[section, key]
    if key == "port" or key.endswith("_port"):
        return _TCP_PORT
    if key.endswith("_pin"):
        return _BCM_PIN
    if key == "baudrate" or key.endswith("_baudrate"):
        return _BAUD
    if key.endswith("_s"):
        return _POSITIVE_S
    if key.endswith("_min"):
        return (0, 10080, True)
    if key.endswith("_days"):
        return (1, 3650, False)
    if key.endswith("_ms"):
        return (0, 60000, False)
    return _ANY_INT if tp is int else _ANY_FLOAT


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def describe_range(r: Range, tp: type) -> str:
    low, high, open_low = r
    kind = "a whole number" if tp is int else "a number"
    if open_low:
        return f"{kind} above {_fmt(low)} and at most {_fmt(high)}"
    return f"{kind} from {_fmt(low)} to {_fmt(high)}"


def number_error(value: Any, r: Range, tp: type) -> str | None:
    """Why ``value`` is out of range ``r`` (None when it is fine); nan and inf never are."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"expected {describe_range(r, tp)} (finite)"
    low, high, open_low = r
    if value < low or value > high or (open_low and value == low):
        return f"expected {describe_range(r, tp)}"
    return None


# -- text ------------------------------------------------------------------------------------------

def text_error(value: str) -> str | None:
    """Text no key may hold: a NUL character (file names with one make every OS call fail)."""
    if "\x00" in value:
        return "must not contain a NUL character"
    return None


# -- opening hours ([hours]) -----------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Interval = tuple[int, int]  # minutes since midnight: [start, end)
# [0-9], not \d: \d also matches Arabic-Indic and other Unicode digits.
_SPAN = re.compile(r"^\s*([0-9]{1,2}):([0-9]{2})\s*-\s*([0-9]{1,2}):([0-9]{2})\s*$")


def parse_intervals(text: str, where: str = "") -> tuple[Interval, ...]:
    """``"09:00-12:00, 14:00-18:00"`` -> ((540, 720), (840, 1080)); ``""`` -> () (closed).

    Raises ConfigError naming ``where`` for a malformed, empty or overlapping span, because a
    typo here would silently open a return slot in the middle of the day (or never).
    """
    text = text.strip()
    if not text or text.lower() == "closed":
        return ()
    spans: list[Interval] = []
    for part in text.split(","):
        m = _SPAN.match(part)
        if not m:
            raise ConfigError(f"{where}: expected HH:MM-HH:MM (several separated by commas, "
                              f"empty for closed); got {part.strip()!r}")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
            raise ConfigError(f"{where}: not a time of day in {part.strip()!r} (00:00 to 24:00)")
        if end <= start:
            raise ConfigError(f"{where}: {part.strip()!r} ends before it starts; split a span "
                              f"that crosses midnight into two days (..-24:00 and 00:00-..)")
        spans.append((start, end))
    spans.sort()
    for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        if s2 < e1:
            raise ConfigError(f"{where}: overlapping spans in {text!r}")
    return tuple(spans)


def parse_date(text: str, where: str) -> date:
    text = text.strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ConfigError(f"{where}: expected a date YYYY-MM-DD; got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{where}: expected a date YYYY-MM-DD; got {text!r}") from None


def parse_hours(section: Any, source: str = "config") -> tuple[tuple[tuple[Interval, ...], ...], frozenset[date],
                                                             frozenset[tuple[int, int]],
                                                             dict[date, tuple[Interval, ...]]]:
    """The ``[hours]`` section as (weekly, holidays, yearly holidays, exceptions).

    One ConfigError lists every problem.  :class:`kiosk.afterhours.hours.OpeningHours` is built
    from exactly this, so ``kiosk config check`` and the running kiosk read hours the same way.
    """
    errors: list[str] = []
    weekly: list[tuple[Interval, ...]] = []
    for day in WEEKDAYS:
        try:
            weekly.append(parse_intervals(str(getattr(section, day, "") or ""), f"{source}: [hours] {day}"))
        except ConfigError as exc:
            errors.append(str(exc))
            weekly.append(())
    holidays: set[date] = set()
    yearly: set[tuple[int, int]] = set()
    for text in getattr(section, "holidays", []) or []:
        where = f"{source}: [hours] holidays"
        text = str(text).strip()
        if re.fullmatch(r"[0-9]{1,2}-[0-9]{1,2}", text):
            month, day_ = (int(x) for x in text.split("-"))
            try:
                date(2024, month, day_)  # a leap year, so 02-29 is allowed
            except ValueError:
                errors.append(f"{where}: {text!r} is not a day of the year (MM-DD)")
                continue
            yearly.add((month, day_))
        else:
            try:
                holidays.add(parse_date(text, where))
            except ConfigError as exc:
                errors.append(str(exc) + " (or MM-DD for every year)")
    exceptions: dict[date, tuple[Interval, ...]] = {}
    raw_exc = getattr(section, "exceptions", {}) or {}
    if not isinstance(raw_exc, dict):
        errors.append(f"{source}: [hours] exceptions: expected a table of date = \"HH:MM-HH:MM\"")
        raw_exc = {}
    for key, value in raw_exc.items():
        where = f"{source}: [hours] exceptions.{key}"
        try:
            exceptions[parse_date(str(key), where)] = parse_intervals(str(value), where)
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ConfigError("\n".join(errors))
    return tuple(weekly), frozenset(holidays), frozenset(yearly), exceptions


# -- staff PIN and card hashes ([staff]) -----------------------------------------------------------

#: What one staff-login try may cost at most on a Raspberry Pi: every try at the pad costs one scrypt,
#: so a hash that asks for more (n=2**20, r=32 is ~4 GB and many seconds) turns the PIN pad into a
#: denial of service.  128 * r * n * p bytes of memory per try.
SCRYPT_MAX_N, SCRYPT_MAX_R, SCRYPT_MAX_P = 2**15, 8, 1
SCRYPT_MAX_MEMORY = 64 * 1024 * 1024
PBKDF2_MAX_ITERATIONS = 10_000_000
_HEX = frozenset("0123456789abcdefABCDEF")


def _hex(text: str) -> bytes:
    if len(text) % 2 or any(c not in _HEX for c in text):
        raise ValueError("not hex")
    return bytes.fromhex(text)


def _int(text: str) -> int:
    if not ascii_digits(text) or len(text) > 12:
        raise ValueError("not a number")
    return int(text)


def check_hash_format(encoded: str) -> str | None:
    """Why ``encoded`` is not a usable hash, or None when it is (used by the config check)."""
    if not isinstance(encoded, str):
        return "expected text"
    parts = encoded.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (_int(x) for x in parts[1:4])
            salt, key = _hex(parts[4]), _hex(parts[5])
            if n < 2 or n & (n - 1) or r < 1 or p < 1:
                return "scrypt n must be a power of two > 1, r and p at least 1"
            # Caps, so an edited config cannot make each PIN try eat gigabytes or minutes on a Pi.
            if n > SCRYPT_MAX_N or r > SCRYPT_MAX_R or p > SCRYPT_MAX_P or 128 * r * n * p > SCRYPT_MAX_MEMORY:
                return (f"scrypt cost too high for a Raspberry Pi (n={n}, r={r}, p={p} needs "
                        f"{128 * r * n * p // 2**20} MiB per try; at most n=2**15, r=8, p=1 and 64 MiB): "
                        "make a new hash with `kiosk staff hash-pin`")
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            if not 1 <= _int(parts[1]) <= PBKDF2_MAX_ITERATIONS:
                return f"pbkdf2 iterations must be 1 to {PBKDF2_MAX_ITERATIONS}"
            salt, key = _hex(parts[2]), _hex(parts[3])
        else:
            return ('expected "scrypt$n$r$p$salt$hash" as printed by `kiosk staff hash-pin` '
                    "(the PIN itself must never be written into the config)")
    except ValueError:
        return "numbers and hex digits expected between the $ signs"
    if len(salt) < 8 or len(key) < 16:
        return "salt or hash too short"
    return None


# -- HOST:PORT ([monitoring] listen) ---------------------------------------------------------------

def parse_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9101"``, ``"[::1]:9101"`` or ``":9101"`` (all interfaces) -> (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not ascii_digits(port) or len(port) > 5 or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:9101; got {text!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "0.0.0.0", int(port)


# -- rules that involve more than one key ----------------------------------------------------------

ROTATIONS = (0, 90, 180, 270)   # [display] rotation: the angles SDL/Kivy turn a window by


def cross_errors(sections: dict[str, Any], source: str) -> list[str]:
    """The appliance layer's rules ([staff], [alerts], [monitoring], [hours]); sections by name.

    Called by ``kiosk.config``'s own cross-checks (which keep the rules of the core sections).
    """
    errors: list[str] = []
    errors += folio_errors(sections.get("ils"), source)
    errors += _staff_errors(sections.get("staff"), source)
    errors += _alerts_errors(sections.get("alerts"), source)
    mon = sections.get("monitoring")
    if mon is not None and mon.listen:
        try:
            parse_listen(mon.listen)
        except ValueError as exc:
            errors.append(f"{source}: [monitoring] listen: {exc}")
    display = sections.get("display")
    if display is not None and display.rotation not in ROTATIONS:
        errors.append(f"{source}: [display] rotation: expected 0, 90, 180 or 270; got {display.rotation}")
    hours = sections.get("hours")
    if hours is not None:
        try:
            parse_hours(hours, source)
        except ConfigError as exc:
            errors.extend(str(exc).splitlines())
    return errors


def _staff_errors(staff: Any, source: str) -> list[str]:
    if staff is None:
        return []
    errors = []
    if staff.pin_hash and (why := check_hash_format(staff.pin_hash)):
        errors.append(f"{source}: [staff] pin_hash: {why}")
    for i, h in enumerate(staff.card_hashes):
        if why := check_hash_format(h):
            errors.append(f"{source}: [staff] card_hashes[{i}]: {why}")
    if staff.require == "card_and_pin" and not (staff.pin_hash and staff.card_hashes):
        errors.append(f"{source}: [staff] require: card_and_pin needs both pin_hash and card_hashes")
    return errors


def _alerts_errors(a: Any, source: str) -> list[str]:
    if a is None:
        return []
    errors = []
    if a.email_to and not a.smtp_host:
        errors.append(f"{source}: [alerts] smtp_host: needed when email_to is set")
    if a.smtp_password and a.smtp_password_file:
        errors.append(f"{source}: [alerts] smtp_password and smtp_password_file: expected only one of them")
    if a.webhook_url and not a.webhook_url.startswith(("http://", "https://")):
        errors.append(f"{source}: [alerts] webhook_url: expected an http:// or https:// URL")
    return errors


# -- [ils] protocol = "folio" ----------------------------------------------------------------------

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TENANT_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")   # Okapi tenant ids: lower case, digits, underscore


def is_uuid(text: str) -> bool:
    return bool(UUID_RE.match(text or ""))


def folio_errors(ils: Any, source: str) -> list[str]:
    """``[ils] protocol = "folio"``: the keys FOLIO needs (docs/folio.md); nothing for SIP2."""
    if ils is None or getattr(ils, "protocol", "sip2") != "folio":
        return []
    errors: list[str] = []
    where = f"{source}: [ils]"
    parts = urlsplit(ils.url or "")
    if not ils.url:
        errors.append(f'{where} url: expected the FOLIO gateway\'s base URL (e.g. "https://okapi.library.example") '
                      f'with protocol = "folio"; got nothing')
    elif parts.scheme not in ("http", "https") or not parts.hostname:
        errors.append(f"{where} url: expected an http:// or https:// URL with a host; got {ils.url!r}")
    elif parts.query or parts.fragment:
        errors.append(f"{where} url: expected a base URL without ?query or #fragment; got {ils.url!r}")
    if not ils.tenant:
        errors.append(f'{where} tenant: expected the FOLIO tenant id (e.g. "diku") with protocol = "folio"; '
                      f"got nothing")
    elif not TENANT_RE.match(ils.tenant):
        errors.append(f"{where} tenant: expected a tenant id of lower-case letters, digits and _; got {ils.tenant!r}")
    if not ils.user:
        errors.append(f"{where} user: expected the kiosk's FOLIO user name with protocol = \"folio\"; got nothing")
    if not ils.password and not ils.password_file:
        errors.append(f"{where} password_file: expected the FOLIO user's password (password_file, or "
                      f"password) with protocol = \"folio\"; got neither")
    sp = (ils.service_point or "").strip()
    if not sp:
        errors.append(f"{where} service_point: expected this kiosk's service point (its UUID or its code) "
                      f"with protocol = \"folio\"; got nothing")
    elif not is_uuid(sp) and not re.match(r"^\S+$", sp):
        errors.append(f"{where} service_point: expected a service-point UUID or code without spaces; got {sp!r}")
    if not ils.timeout_s > 0:
        errors.append(f"{where} timeout_s: expected a number of seconds above 0; got {ils.timeout_s!r}")
    if ils.tls_ca_file and parts.scheme != "https":
        errors.append(f"{where} tls_ca_file: expected an https:// url to verify with it; got {ils.url!r}")
    return errors
