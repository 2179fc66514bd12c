"""SIP2 field value formats: the 18-character date, free-text due dates, the ``|`` escape.

Apart from the codec because these are about what one value looks like, not about messages: the
ILS adapter, the CLI and the demo library format and read dates with them too, and none of them
needs to know how a frame is laid out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["DATE_BLANK", "DELIMITER", "escape_value", "parse_due_date", "parse_sip_datetime",
           "sip_datetime", "unescape_value"]

DELIMITER = "|"
DATE_BLANK = " " * 18
# Koha Sip.pm add_field escapes the delimiter inside a value as an HTML entity (sip2.md 1.2).
_PIPE_ENTITY = "&#124;"


def sip_datetime(dt: datetime | None) -> str:
    """18-char ``YYYYMMDDZZZZHHMMSS``.  Naive = local time (zone blank, preferred by the spec);
    an aware datetime is written in UTC with ``Z`` in the last zone position (sip2.md 1.3)."""
    if dt is None:
        return DATE_BLANK
    # %-formatting: one C call (half the cost of an f-string with six format specs, per request).
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
        return "%04d%02d%02d   Z%02d%02d%02d" % (  # noqa: UP031 - see above
            dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)
    return "%04d%02d%02d    %02d%02d%02d" % (  # noqa: UP031 - see above
        dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)


def parse_sip_datetime(text: str | None) -> datetime | None:
    """Parse an 18-char SIP date; ``None`` for blanks or anything that is not one."""
    if not text or len(text) != 18:
        return None
    digits = text[:8] + text[12:]                 # YYYYMMDD HHMMSS, the zone left out
    if not (digits.isdigit() and digits.isascii()):
        return None
    n = int(digits)                               # one int() instead of six: this is per reply
    try:
        dt = datetime(n // 10**10, n // 10**8 % 100, n // 10**6 % 100, n // 10**4 % 100, n // 100 % 100,
                      n % 100)
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if text[11] == "Z" else dt


# Due dates (AH) are free text: Koha's SIP date or a locale format, Evergreen "2011-10-28 23:59:59",
# a French ILS "04/01/2018" (sip2.md 1.3).  Day-first is assumed for slashes (European ILSes).
_DUE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%Y%m%d",
                "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%m/%d/%Y")


def parse_due_date(text: str | None) -> datetime | None:
    """Lenient due date parser; ``None`` when it cannot be read (the text is still shown as is)."""
    if not text or not text.strip():
        return None
    s = text.strip()
    dt = parse_sip_datetime(s)
    if dt is not None:
        return dt
    if re.fullmatch(r"\d{8} +\d{6}", s):        # SIP date with a mangled zone
        return parse_sip_datetime(s[:8] + "    " + s[-6:])
    iso = s.replace("Z", "+00:00") if s.endswith("Z") else s
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    for fmt in _DUE_FORMATS:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    return None


def escape_value(value: str) -> str:
    """Make a value safe for the wire: delimiter -> ``&#124;``, CR/LF -> space (Koha add_field)."""
    if type(value) is str and "|" not in value and "\r" not in value and "\n" not in value:
        return value                  # the usual case: nothing to replace, no new string
    if not isinstance(value, str):
        value = str(value)
    return value.replace(DELIMITER, _PIPE_ENTITY).replace("\r", " ").replace("\n", " ")


def unescape_value(value: str) -> str:
    return value.replace(_PIPE_ENTITY, DELIMITER)
