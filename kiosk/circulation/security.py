"""The security bit (AFI or EAS) of an item's tags, written after a checkout or a check-in.

Apart from the service because it is a small protocol of its own with the tag reader: write, read
back, retry; a tag that silently kept its alarm bit makes the gate beep at an honest patron, so an
item whose tags cannot all be set goes to the desk (``security_failed``) instead of being "done".
Runs on the service's worker threads (the reader talks to hardware), never on Kivy's main thread.
"""

from __future__ import annotations

import logging
from typing import Protocol

from kiosk.appliance.privacy import mask

log = logging.getLogger(__name__)

SECURITY_ATTEMPTS = 3   # write + read-back attempts per tag before the item goes to staff


class SecurityWriter(Protocol):
    """The tag reader's security bit (AFI or EAS): on = the gate alarms."""

    def set_security(self, uid: str, on: bool) -> None: ...

    def read_security(self, uid: str) -> bool: ...


def set_security_bits(writer: SecurityWriter, uids: tuple[str, ...], on: bool) -> bool:
    """Write the security bit of every part, read it back, retry; False if any tag refused."""
    for uid in uids:
        for attempt in range(1, SECURITY_ATTEMPTS + 1):
            try:
                writer.set_security(uid, on)
                if bool(writer.read_security(uid)) == on:
                    break
                log.info("tag %s: security bit read back wrong (attempt %d)", mask(uid), attempt)
            except Exception as exc:   # a driver error is a failed attempt, not a crash
                log.info("tag %s: security write failed (attempt %d): %s", mask(uid), attempt, exc)
        else:
            log.warning("tag %s: security bit still wrong after %d attempts", mask(uid), SECURITY_ATTEMPTS)
            return False
    return True
