"""One exception tree for the whole kiosk.

Each class also inherits the matching builtin where one fits, so callers can catch either
(the gpiozero habit).  Messages are written for the person who has to act on them.
"""

from __future__ import annotations


class KioskError(Exception):
    """Root of every error the kiosk raises on purpose."""


class ConfigError(KioskError, ValueError):
    """A configuration file or override is wrong; the message names the file, key and expectation."""


class HardwareError(KioskError, OSError):
    """A device could not be opened, read or written."""


class IlsError(KioskError):
    """Anything that went wrong talking to the library system (ILS)."""


class IlsUnavailable(IlsError, ConnectionError):
    """The library system could not be reached; nothing was sent, so nothing happened there."""


class OutcomeUnknown(IlsError, TimeoutError):
    """A request was sent but no valid reply came back: it may or may not have happened.

    Callers must resolve this (for example with Item Information) before retrying a checkout or
    renewal: resending blindly can double a transaction.
    """


class ProtocolError(IlsError):
    """The library system answered with something we cannot understand (bad frame, wrong message)."""


class JournalError(KioskError, OSError):
    """The durable offline journal could not be written or read."""
