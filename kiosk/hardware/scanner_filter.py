"""Checking barcode-scanner input before it reaches the kiosk (pure: no I/O).

A scanner is a keyboard that strangers control: Code 128 can carry ASCII control characters that
a keyboard-wedge scanner turns into Ctrl-key combinations ("BadBarcode",
hardware-and-deployment.md section 3.1).  So scanner input never goes to a text field: the
drivers feed raw characters here, control characters are dropped (CR/LF/TAB end a code), and a
code is delivered only when it matches the configured pattern in full.  Codes are ASCII: a code
with any other character is refused (shown with "?" in its place), never delivered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kiosk.errors import ConfigError

#: characters that end a code (scanner suffix CR, CR LF, Enter, or Tab)
TERMINATORS = "\r\n\t"
MAX_CODE = 64


class ScanFilter:
    """Splits a character stream into codes and checks each one against ``pattern``."""

    def __init__(self, pattern: str) -> None:
        if not isinstance(pattern, str):
            raise ConfigError("[scanner] pattern: expected a regular expression as text")
        try:
            # re.ASCII: \d and \w mean ASCII digits and letters, as on a barcode; without it "²" is a
            # \w and Arabic-Indic digits are \d.
            self.pattern = re.compile(pattern, re.ASCII)
        except (re.error, RecursionError, OverflowError, ValueError) as exc:
            raise ConfigError(f"[scanner] pattern: not a valid regular expression: {exc}") from None
        self._buf: list[str] = []
        self._overflow = False
        self._foreign = False

    def feed(self, text: str) -> Iterator[tuple[str, bool]]:
        """Yield ``(code, accepted)`` for every code completed by ``text``.

        Rejected codes are yielded with ``accepted=False`` (already stripped of control
        characters, so they are safe to log masked) so the app can say "not a valid barcode".
        """
        for ch in text:
            if ch in TERMINATORS:
                code = "".join(self._buf)
                bad = self._overflow or self._foreign
                self._buf.clear()
                self._overflow = self._foreign = False
                if code:
                    yield code, (not bad and self.check(code))
                continue
            if not ch.isprintable():   # control characters, ESC sequences, DEL: never passed on
                continue
            if ch > "\x7e":   # not a barcode character (a serial line read as Latin-1, noise):
                self._foreign = True   # the code is refused whole, never passed on altered
                ch = "?"
            if len(self._buf) >= MAX_CODE:
                self._overflow = True
                continue
            self._buf.append(ch)

    def check(self, code: str) -> bool:
        return self.pattern.fullmatch(code) is not None

    def reset(self) -> None:
        self._buf.clear()
        self._overflow = self._foreign = False
