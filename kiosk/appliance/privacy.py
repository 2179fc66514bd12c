"""Helpers that keep patron data out of logs.

Logs on a kiosk end up in journald, support tickets and screenshots of terminals; they must never
carry patron names or full card numbers.  Everything that logs an identifier goes through here.
"""

from __future__ import annotations

import logging
import re


def mask(identifier: str | None, keep: int = 4) -> str:
    """Mask a card number or barcode for logs: ``"23529000445172"`` -> ``"**********5172"``.

    Short identifiers keep fewer characters so that at least half is always hidden.
    """
    if not identifier:
        return "<none>"
    s = str(identifier)
    keep = min(keep, len(s) // 2)
    return "*" * (len(s) - keep) + s[len(s) - keep :] if keep else "*" * len(s)


# SIP2 fields that identify or describe a patron: AA patron id, AC terminal password, AD patron
# password, AE personal name, BD address, BE e-mail, BF phone, CN/CO login, DA hold patron name,
# CY hold patron id, XB borrower (demo ILS extension in 18).  Used to scrub raw frames before they are logged.
_SENSITIVE_SIP_FIELDS = ("AA", "AC", "AD", "AE", "BD", "BE", "BF", "CO", "DA", "CY", "XB")
_SIP_FIELD_RE = re.compile(r"(?<=\|)(" + "|".join(_SENSITIVE_SIP_FIELDS) + r")([^|]*)")


# Names, addresses, e-mail, phone and passwords are hidden whole: even a tail of them identifies.
_HIDE_WHOLE = frozenset({"AC", "AD", "AE", "BD", "BE", "BF", "CO", "DA"})


def _mask_field(m: re.Match) -> str:
    field_id, value = m.group(1), m.group(2)
    if field_id in _HIDE_WHOLE:
        return field_id + ("<hidden>" if value else "")
    return field_id + mask(value)


def scrub_sip_frame(frame: str) -> str:
    """Mask patron-identifying SIP2 fields in a raw frame so it can be logged."""
    # The first field after the fixed part is not preceded by '|': prefix one for the regex.
    scrubbed = _SIP_FIELD_RE.sub(_mask_field, "|" + frame)
    return scrubbed[1:]


class NoPatronDataFilter(logging.Filter):
    """Last line of defence: masks anything in a log record that looks like a raw SIP2 frame."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if "|" in msg and _SIP_FIELD_RE.search("|" + msg):
            record.msg = scrub_sip_frame(msg)
            record.args = ()
        return True


class OptionalInputProviderFilter(logging.Filter):
    """Kivy logs a traceback at ERROR when an *optional* Linux input provider cannot load (MTDev
    without libmtdev1: the simulated demo and SDL's own touch input do not need it).  That is
    one INFO line, shown with ``--log-level INFO``, not a traceback on every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "kivy" and str(record.msg).startswith("Input: MTDev is not supported"):
            record.msg, record.args = "Input: MTDev not available (libmtdev1 not installed); SDL input is used", ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
            return logging.getLogger().isEnabledFor(logging.INFO)
        return True


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr (journald on the Pi) through the privacy filter.  Called once by the CLI."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(NoPatronDataFilter())
    handler.addFilter(OptionalInputProviderFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
