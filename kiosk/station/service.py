"""One staff-station session: the library system, the durable record, the programmer and the shelf check.

Used by the CLI and by the staff screens (through a worker thread).  ``staff_session`` names who
did the work in the record: the staff-mode login on the kiosk, ``cli:<user>@<host>`` at a terminal.
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket
from datetime import datetime
from typing import Any

from kiosk.errors import HardwareError
from kiosk.hardware.tag_reader import TagReader
from kiosk.station.inventory import ShelfRules
from kiosk.station.library import StationLibrary
from kiosk.station.program import TagSettings
from kiosk.station.programmer import TagProgrammer
from kiosk.station.shelf import ShelfCheck
from kiosk.station.store import StationStore


def new_session_id(kind: str = "staff") -> str:
    """A label for one stretch of staff work (no names: a time and a random suffix)."""
    if kind == "cli":
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = str(os.getuid())
        return f"cli:{who}@{socket.gethostname()}:{datetime.now():%Y%m%dT%H%M%S}"
    return f"{kind}:{datetime.now():%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def tag_settings(settings: Any) -> TagSettings:
    t = settings.tags
    return TagSettings(model=t.model, owner_isil=t.owner_isil, media_format=t.media_format)


def shelf_rules(settings: Any) -> ShelfRules:
    return ShelfRules(branch=settings.station.branch, model=settings.tags.model, owner_isil=settings.tags.owner_isil)


def open_tag_reader(settings: Any) -> TagReader:
    """The configured pad reader (simulated when ``[hardware] simulate``); raises when absent."""
    from kiosk.hardware import sim

    if settings.hardware.simulate:
        return sim.SimTagReader(security=settings.tag_reader.security)
    from kiosk.hardware.factory import AbsentTagReader, _tag_reader

    reader = _tag_reader(settings)
    if isinstance(reader, AbsentTagReader):
        raise HardwareError(reader.error or "no tag reader is configured ([tag_reader] driver = \"none\")")
    return reader


class Station:
    """Everything one station session needs; ``close()`` releases what it opened."""

    def __init__(self, settings: Any, reader: TagReader, *, ils: Any = None, staff_session: str = "",
                 store: StationStore | None = None) -> None:
        if ils is None:
            from kiosk.ils.factory import ils_from_settings

            ils = ils_from_settings(settings)      # SIP2 or FOLIO, as [ils] protocol says
            self._own_ils = True
        else:
            self._own_ils = False
        self.settings = settings
        self.ils = ils
        self.reader = reader
        self.staff_session = staff_session or new_session_id()
        self.library = StationLibrary(ils)
        self.store = store or StationStore.for_settings(settings)
        self.programmer = TagProgrammer(reader, self.library, self.store, tag_settings(settings),
                                        staff_session=self.staff_session,
                                        retries=max(1, settings.station.write_retries),
                                        lock_after_write=settings.tags.lock_after_write)
        self.shelf = ShelfCheck(self.library, self.store, shelf_rules(settings), staff_session=self.staff_session,
                                reader=reader, settle=self.programmer.settle_pending)

    def close(self) -> None:
        self.store.close()
        if self._own_ils:
            self.ils.close()
