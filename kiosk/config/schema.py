"""The configuration's schema as a whole: ``Settings``, one attribute per ``[section]``, and ``SECTIONS``.

Each field's metadata carries the help text shown by ``kiosk config check`` and, for strings with a
fixed set of values, the choices (``opt``, in ``kiosk.config.keys``).  The sections are declared in
two halves a reader looks for apart: the library service (``kiosk.config.service``) and the
appliance it runs on (``kiosk.config.appliance``).  Reading and checking files is ``kiosk.config``'s
work; these modules only say what a configuration *is*.  Import the names from ``kiosk.config``,
which re-exports them.

Adding a key: add a field to the section's dataclass (with ``doc=``), document it in
``config/kiosk.example.toml`` (a test checks every key is there), and read it where it is used.
Adding a section: declare it in the half it belongs to and give ``Settings`` an attribute for it.
"""
from __future__ import annotations

import os
import stat
import typing
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.config.appliance import (
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
from kiosk.config.service import (
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


@dataclass
class Settings:
    """The whole configuration.  ``source`` is the file it came from (for messages)."""

    kiosk: KioskSection = field(default_factory=KioskSection)
    ils: IlsSection = field(default_factory=IlsSection)
    storage: StorageSection = field(default_factory=StorageSection)
    hardware: HardwareSection = field(default_factory=HardwareSection)
    card_reader: CardReaderSection = field(default_factory=CardReaderSection)
    tag_reader: TagReaderSection = field(default_factory=TagReaderSection)
    scanner: ScannerSection = field(default_factory=ScannerSection)
    printer: PrinterSection = field(default_factory=PrinterSection)
    gpio: GpioSection = field(default_factory=GpioSection)
    offline: OfflineSection = field(default_factory=OfflineSection)
    staff: StaffSection = field(default_factory=StaffSection)
    monitoring: MonitoringSection = field(default_factory=MonitoringSection)
    display: DisplaySection = field(default_factory=DisplaySection)
    alerts: AlertsSection = field(default_factory=AlertsSection)
    hours: HoursSection = field(default_factory=HoursSection)
    bookdrop: BookdropSection = field(default_factory=BookdropSection)
    branding: BrandingSection = field(default_factory=BrandingSection)
    receipt: ReceiptSection = field(default_factory=ReceiptSection)
    tags: TagsSection = field(default_factory=TagsSection)
    station: StationSection = field(default_factory=StationSection)
    speech: SpeechSection = field(default_factory=SpeechSection)
    guide: GuideSection = field(default_factory=GuideSection)
    source: str = "<defaults>"

    @property
    def data_dir(self) -> Path:
        """The data directory, resolved against the config file's directory."""
        p = Path(self.storage.data_dir).expanduser()
        if not p.is_absolute():
            base = Path(self.source).resolve().parent if self.source != "<defaults>" else Path.cwd()
            # base is resolved (no symlinks), so folding "config/../var" is exact; staff read
            # "/opt/kiosk/var/demo" in doctor and stats, not "/opt/kiosk/config/../var/demo"
            p = Path(os.path.normpath(base / p))
        return p

    def ils_password(self) -> str:
        """The SIP2 password, read from ``password_file`` when one is set.

        Refuses a world- or group-readable password file: library-system credentials must be
        readable by the kiosk user only (the installer sets 0600).
        """
        if not self.ils.password_file:
            return self.ils.password
        path = Path(self.ils.password_file)
        where = f"{self.source}: [ils] password_file"
        if "\x00" in self.ils.password_file:
            raise ConfigError(f"{where}: the file name must not contain a NUL character")
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"{where}: {path} is readable by other users "
                f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from exc
        try:
            password = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: {path} is not UTF-8 text") from None
        if "\x00" in password or "\n" in password or "\r" in password:
            raise ConfigError(f"{where}: {path} must hold the password on one line, without NUL bytes")
        return password


SECTIONS: dict[str, type] = {name: tp for name, tp in typing.get_type_hints(Settings).items() if name != "source"}


def register_section(name: str, cls: type) -> None:
    """Let a layer declare its own ``[section]`` (e.g. hardware devices) without editing this file."""
    SECTIONS[name] = cls
