"""Checking barcode-scanner input before it reaches the kiosk (pure: no I/O).

A scanner is a keyboard that strangers control: Code 128 can carry ASCII control characters that
a keyboard-wedge scanner turns into Ctrl-key combinations ("BadBarcode",
hardware-and-deployment.md section 3.1).  So scanner input never goes to a text field: the
drivers feed raw characters here, control characters are dropped (CR/LF/TAB end a code), and a
code is delivered only when it matches the configured pattern in full.
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
        try:
            self.pattern = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"[scanner] pattern: not a valid regular expression: {exc}") from exc
        self._buf: list[str] = []
        self._overflow = False

    def feed(self, text: str) -> Iterator[tuple[str, bool]]:
        """Yield ``(code, accepted)`` for every code completed by ``text``.

        Rejected codes are yielded with ``accepted=False`` (already stripped of control
        characters, so they are safe to log masked) so the app can say "not a valid barcode".
        """
        for ch in text:
            if ch in TERMINATORS:
                code = "".join(self._buf)
                overflow = self._overflow
                self._buf.clear()
                self._overflow = False
                if code:
                    yield code, (not overflow and self.check(code))
                continue
            if not ch.isprintable():   # control characters, ESC sequences, DEL: never passed on
                continue
            if len(self._buf) >= MAX_CODE:
                self._overflow = True
                continue
            self._buf.append(ch)

    def check(self, code: str) -> bool:
        return self.pattern.fullmatch(code) is not None

    def reset(self) -> None:
        self._buf.clear()
        self._overflow = False
