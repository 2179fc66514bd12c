"""The configuration's schema: one dataclass per ``[section]``, and ``Settings``, the whole of them.

Each field's metadata carries the help text shown by ``kiosk config check`` and, for strings with a
fixed set of values, the choices (``opt``).  Reading and checking files is ``kiosk.config``'s work;
this module only says what a configuration *is*, so a reader finds every key of the kiosk in one
place.  Import the names from ``kiosk.config``, which re-exports them.

Adding a key: add a field to the section's dataclass (with ``doc=``), document it in
``config/kiosk.example.toml`` (a test checks every key is there), and read it where it is used.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError


def opt(default: Any, doc: str, choices: tuple[str, ...] | None = None, secret: bool = False,
        range: tuple[float, float, bool] | None = None) -> Any:  # noqa: A002 - reads as the key's range
    """A config key with a default, its help text, and optional allowed values.

    ``range`` is ``(low, high, low_exclusive)`` for a number; without it the range comes from
    :data:`kiosk.config.checks.RANGES` or the key's name (``*_s``, ``port``, ``*_pin`` ...).
    """
    meta = {"doc": doc, "choices": choices, "secret": secret, "range": range}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


class _Section:
    """What every section shares: one ``__repr__`` that never prints a secret, and ``__eq__``.

    Defined once here instead of generated per class by ``@dataclass``: a printed section cannot
    leak a password into a log or a support ticket, and the kiosk starts faster (dataclasses
    compile each generated method at import, ~0.1 ms apiece, before the first frame).
    """

    __hash__ = None  # type: ignore[assignment]  (mutable, like a dataclass with eq)

    def __repr__(self) -> str:
        shown = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            shown.append(f"{f.name}={'***' if f.metadata.get('secret') and value else repr(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return vars(self) == vars(other)


def section(cls: type) -> type:
    """``@dataclass`` for a config section: fields, defaults and docs, with :class:`_Section`'s repr."""
    return dataclass(repr=False, eq=False)(cls)


@section
class KioskSection(_Section):
    """[kiosk]: what this kiosk does and for whom."""

    mode: str = opt("staffed", "staffed: patrons borrow and return; returns: return slot only; "
                    "auto: staffed in opening hours, returns-only outside them",
                    choices=("staffed", "returns", "auto"))
    language: str = opt("en", "default language of the patron screens", choices=("en", "de", "es", "fr"))
    languages: list = opt(["en", "de", "es", "fr"], "languages a patron can switch to")
    offline_policy: str = opt("returns", "what the kiosk does while the library system is unreachable",
                              choices=("none", "returns", "returns+checkouts"))
    session_timeout_s: int = opt(60, "seconds without a touch or a tag before a patron session ends")
    timeout_warning_s: int = opt(20, "seconds of warning (with a 'more time' button) before the timeout")
    require_pin: bool = opt(False, "ask patrons for their PIN after the card")
    fullscreen: bool = opt(True, "run full screen (production); false opens a window")
    width: int = opt(800, "window width when not full screen")
    height: int = opt(480, "window height when not full screen")


@section
class IlsSection(_Section):
    """[ils]: how to reach the library system (SIP2 server)."""

    protocol: str = opt("sip2", "protocol spoken to the library system: sip2 (host, port...) or folio "
                        "(FOLIO's HTTP API through its gateway: url, tenant, service_point)",
                        choices=("sip2", "folio"))
    host: str = opt("127.0.0.1", "host name or address of the SIP2 server")
    port: int = opt(6001, "TCP port of the SIP2 server")
    tls: bool = opt(False, "wrap the connection in TLS (stunnel, FOLIO edge-sip2)")
    tls_ca_file: str = opt("", "CA bundle to verify the server certificate (empty: system store)")
    tls_cert_file: str = opt("", "client certificate for mutual TLS (optional)")
    tls_key_file: str = opt("", "key of the client certificate", secret=False)
    tls_verify_hostname: bool = opt(True, "check the server certificate matches the host name")
    user: str = opt("", "SIP2 login user (CN)")
    password: str = opt("", "SIP2 login password (CO); prefer password_file", secret=True)
    password_file: str = opt("", "file holding the SIP2 password (must not be world-readable)")
    institution: str = opt("", "institution id (AO)")
    location: str = opt("", "location code (CP) of this kiosk")
    charset: str = opt("utf-8", "character set of the SIP2 link", choices=("utf-8", "cp850", "latin-1"))
    timeout_s: float = opt(10.0, "seconds to wait for a reply before the outcome is treated as unknown")
    retries: int = opt(2, "times a safe (read-only or check-in) request is resent after a timeout")
    error_detection: bool = opt(True, "send and check AY sequence numbers and AZ checksums")
    pool_size: int = opt(4, "logged-in connections kept open so a stack of items is worked in parallel")
    keepalive_s: int = opt(120, "seconds of idleness after which an SC status (99) keeps the link alive")
    # protocol = "folio" (kiosk.folio; docs/folio.md).  user, password/password_file, timeout_s,
    # pool_size and tls_ca_file above serve FOLIO too.
    url: str = opt("", "FOLIO: base URL of the gateway (Okapi), e.g. https://okapi.library.example")
    tenant: str = opt("", "FOLIO: tenant id sent as X-Okapi-Tenant, e.g. diku")
    service_point: str = opt("", "FOLIO: this kiosk's service point, its UUID or its code (looked up once)")


@section
class StorageSection(_Section):
    """[storage]: where the kiosk keeps its journal, statistics and Kivy's own files."""

    data_dir: str = opt("var", "directory for the journal, statistics and KIVY_HOME (relative to the "
                        "config file's directory when not absolute)")


@section
class HardwareSection(_Section):
    """[hardware]: which drivers to use."""

    simulate: bool = opt(True, "use simulated devices (demo, tests, a laptop) instead of real drivers")


@section
class CardReaderSection(_Section):
    """[card_reader]: the patron-card reader (ISO 14443 UIDs; kiosk.hardware.mfrc522)."""

    driver: str = opt("mfrc522", "mfrc522: MFRC522 on SPI (our driver); mfrc522-package: the same chip "
                      "through the mfrc522 package (needs reset_pin; no irq_pin); sim: simulated; "
                      "none: no card reader",
                      choices=("mfrc522", "mfrc522-package", "sim", "none"))
    card_format: str = opt("hex", "how a card UID becomes the library's card number: hex (MSB first), "
                           "hex_reversed, decimal, decimal_reversed",
                           choices=("hex", "hex_reversed", "decimal", "decimal_reversed"))
    prefix: str = opt("", "text put before every card number (to match the library's numbering)")
    spi_bus: int = opt(0, "SPI bus of the MFRC522 (/dev/spidevBUS.DEVICE)")
    spi_device: int = opt(0, "SPI chip select of the MFRC522")
    spi_speed_hz: int = opt(1000000, "SPI clock of the MFRC522")
    reset_pin: int = opt(25, "BCM GPIO wired to the MFRC522 RST pin (-1: not wired)")
    irq_pin: int = opt(-1, "BCM GPIO wired to the MFRC522 IRQ pin (-1: not wired; sleep between polls)")
    poll_interval_s: float = opt(0.2, "seconds between two looks for a card")


@section
class TagReaderSection(_Section):
    """[tag_reader]: the RFID item-tag reader (ISO 15693; kiosk.hardware.feig)."""

    driver: str = opt("feig", "feig: FEIG ID ISC/CPR reader, ISO host protocol over serial; "
                      "3m810: 3M 810 reader (19200 8N1, AFI only); "
                      "mfrc522: ISO 14443 item tags on an MFRC522; sim: simulated; none: no tag reader",
                      choices=("feig", "3m810", "mfrc522", "sim", "none"))
    port: str = opt("/dev/ttyUSB0", "serial port or pyserial URL (socket://host:port, loop://)")
    baudrate: int = opt(38400, "serial speed of the reader")
    parity: str = opt("E", "serial parity: E (even, the FEIG default), N or O", choices=("E", "N", "O"))
    bus_address: int = opt(255, "FEIG COM-ADR of the reader (255 reaches any reader)")
    security: str = opt("afi", "how the gate alarm is switched: afi (write the AFI byte) or eas "
                        "(NXP EAS bit)", choices=("afi", "eas"))
    afi_on_shelf: int = opt(7, "AFI written at check-in: the gate alarms (0x07; 3M gates: 0xD7 = 215)")
    afi_on_loan: int = opt(194, "AFI written at checkout: no alarm (0xC2; 3M gates: 0xDA = 218)")
    poll_interval_s: float = opt(0.3, "seconds between two inventories of the field")
    timeout_s: float = opt(1.0, "seconds to wait for the reader's answer to one command")
    spi_device: int = opt(1, "driver mfrc522: SPI chip select of the item-tag MFRC522 (on the card "
                          "reader's bus; the card reader usually sits on 0)")


@section
class ScannerSection(_Section):
    """[scanner]: the barcode scanner (kiosk.hardware.scanner)."""

    driver: str = opt("serial", "serial: USB-CDC/serial mode (safest); hid: keyboard-wedge read "
                      "exclusively through evdev; sim: simulated; none: no scanner",
                      choices=("serial", "hid", "sim", "none"))
    port: str = opt("/dev/ttyACM0", "serial port or pyserial URL of a serial-mode scanner")
    baudrate: int = opt(9600, "serial speed of a serial-mode scanner")
    device: str = opt("", "evdev node of a keyboard-wedge scanner, e.g. /dev/input/by-id/...-event-kbd")
    pattern: str = opt("[0-9A-Za-z-]{1,32}", "regular expression a whole scanned code must match; "
                       "other codes are refused")


@section
class PrinterSection(_Section):
    """[printer]: the ESC/POS receipt printer (kiosk.hardware.printer)."""

    driver: str = opt("escpos", "escpos: ESC/POS printer; sim: simulated; none: no printer",
                      choices=("escpos", "sim", "none"))
    url: str = opt("/dev/ttyUSB1", "serial port or pyserial URL, or usb://VENDOR:PRODUCT (hex ids)")
    baudrate: int = opt(19200, "serial speed of a serial printer")
    width: int = opt(42, "characters per line (42 on 80 mm paper, 32 on 58 mm)")
    profile: str = opt("", "python-escpos printer profile, e.g. TM-T88V (empty: generic)")
    status_query: bool = opt(True, "ask the printer for its paper status before printing "
                             "(false for printers that never answer)")
    timeout_s: float = opt(2.0, "seconds to wait for the printer")


@section
class GpioSection(_Section):
    """[gpio]: lights, buzzer, return-slot light barrier and door lock (kiosk.hardware.gpio; BCM
    pin numbers, -1: not fitted)."""

    backend: str = opt("lgpio", "lgpio: gpiozero with its lgpio pin factory (Pi 4 and Pi 5); "
                       "mock: gpiozero's mock pins (tests); sim: simulated devices",
                       choices=("lgpio", "mock", "sim"))
    chip: int = opt(-1, "gpiochip number (-1: auto; gpiochip0 on Pi 4 and on Pi 5 with kernel 6.6.45+)")
    ready_pin: int = opt(17, "green 'ready' light")
    busy_pin: int = opt(27, "yellow 'working' light")
    error_pin: int = opt(22, "red 'needs staff' light")
    buzzer_pin: int = opt(23, "buzzer")
    slot_pin: int = opt(24, "return-slot light barrier input")
    slot_active_low: bool = opt(True, "the light barrier pulls the pin low while interrupted "
                                "(open-collector receivers)")
    slot_bounce_ms: int = opt(10, "the barrier must be stable this long before a change counts")
    lock_pin: int = opt(5, "door-lock driver (MOSFET/relay); wire a pull-down so a floating pin = locked")
    lock_active_high: bool = opt(True, "a high pin energises the lock (unlocks; fail-secure lock)")
    max_unlock_s: float = opt(10.0, "longest the lock is ever held open by software")


@section
class StaffSection(_Section):
    """[staff]: who may open staff mode, and how guessing is slowed down (kiosk.staff.auth)."""

    pin_hash: str = opt("", "hash of the staff PIN, made with `kiosk staff hash-pin` (never the PIN itself)",
                        secret=True)
    card_hashes: list = opt([], "hashes of staff cards, made with `kiosk staff hash-card`", secret=True)
    require: str = opt("card_or_pin", "card_or_pin: a staff card or the PIN opens staff mode; "
                       "card_and_pin: both are needed", choices=("card_or_pin", "card_and_pin"))
    max_attempts: int = opt(5, "wrong tries in a row before staff login is locked")
    lockout_s: int = opt(300, "seconds of the first lock-out; each further lock-out doubles it (up to 16x)")
    idle_logout_s: int = opt(60, "seconds without a touch before staff mode closes by itself")


@section
class MonitoringSection(_Section):
    """[monitoring]: optional local HTTP endpoint with /metrics (Prometheus) and /health (JSON)."""

    listen: str = opt("", "HOST:PORT to serve /metrics and /health on, e.g. 127.0.0.1:9101 (empty: off)")


@section
class DisplaySection(_Section):
    """[display]: the kiosk's screen on a Pi without a desktop (docs/deployment.md, "The display")."""

    rotation: int = opt(0, "turn the picture and the touch input by 0, 90, 180 or 270 degrees, e.g. 90 "
                        "for a portrait-mounted screen (touch follows the picture)")


@section
class AlertsSection(_Section):
    """[alerts]: e-mail or webhook messages to staff when the kiosk needs a person (kiosk.appliance.alerts)."""

    email_to: list = opt([], "addresses that receive alerts by e-mail (empty: no e-mail)")
    email_from: str = opt("", "sender address (empty: kiosk@<host name>)")
    smtp_host: str = opt("", "SMTP server for alert e-mails")
    smtp_port: int = opt(587, "SMTP port (587 STARTTLS, 465 SSL, 25 none)")
    smtp_security: str = opt("starttls", "encryption of the SMTP connection", choices=("starttls", "ssl", "none"))
    smtp_user: str = opt("", "SMTP login user (empty: no login)")
    smtp_password: str = opt("", "SMTP password; prefer smtp_password_file", secret=True)
    smtp_password_file: str = opt("", "file holding the SMTP password (must not be readable by others)")
    webhook_url: str = opt("", "URL that receives alerts as JSON POST (Slack/Mattermost/Teams style "
                           "{\"text\": ...}); empty: no webhook", secret=True)
    timeout_s: float = opt(10.0, "seconds before an SMTP or webhook delivery is given up")
    kiosk_name: str = opt("", "name of this kiosk in alerts (empty: the host name)")
    ils_down_after_min: int = opt(10, "minutes the library system must be down before staff are alerted")
    queue_waiting_after_min: int = opt(30, "minutes journaled transactions may wait before staff are alerted")
    min_interval_min: int = opt(60, "minutes between two alerts of the same kind (rate limit)")
    max_per_hour: int = opt(10, "alerts sent per hour at most, all kinds together")


@section
class HoursSection(_Section):
    """[hours]: opening hours; with [kiosk] mode = "auto" the kiosk is returns-only outside them
    (kiosk.afterhours.hours)."""

    mon: str = opt("09:00-18:00", "Monday opening hours: HH:MM-HH:MM, several separated by commas; "
                   "empty: closed all day")
    tue: str = opt("09:00-18:00", "Tuesday opening hours (as mon)")
    wed: str = opt("09:00-18:00", "Wednesday opening hours (as mon)")
    thu: str = opt("09:00-18:00", "Thursday opening hours (as mon)")
    fri: str = opt("09:00-18:00", "Friday opening hours (as mon)")
    sat: str = opt("10:00-14:00", "Saturday opening hours (as mon)")
    sun: str = opt("", "Sunday opening hours (as mon)")
    holidays: list = opt([], "dates closed all day: YYYY-MM-DD (that date) or MM-DD (every year)")
    exceptions: dict = opt({}, "special hours on a date, replacing the weekday's and any holiday: "
                           "{\"2026-12-24\" = \"09:00-12:00\"}; \"\" closes that date")


@section
class BookdropSection(_Section):
    """[bookdrop]: the return slot used after hours (kiosk.afterhours.bookdrop)."""

    lock_open_s: float = opt(8.0, "seconds the hatch stays unlocked waiting for an item before it "
                             "locks again (each item restarts it; the lock driver caps it, limit it "
                             "in hardware too)")
    read_window_s: float = opt(1.5, "seconds after an item clears the light barrier within which its tag "
                               "must have been read; otherwise it is recorded as unreadable")
    jam_s: float = opt(15.0, "seconds the light barrier may stay interrupted before the slot is "
                       "treated as jammed (hatch locked, staff alerted)")
    feedback_s: float = opt(3.0, "seconds the accepted / not accepted light and message stay on")
    checkin_wait_s: float = opt(3.0, "seconds to wait for the library system's answer before the item "
                                "is shown as accepted anyway (it is journaled and checked in later)")
    bin_capacity: int = opt(0, "items the return bin holds; at this count the slot stops accepting "
                            "until staff empty the bin (0: no count limit)")
    bin_full_sensor: bool = opt(False, "a bin-full sensor is wired; when it triggers the slot stops accepting")
    own_isils: list = opt([], "ISIL owner codes of this library's RFID tags; a tag with another owner "
                          "is reported as not ours (empty: the library system decides)")
    sync_interval_s: float = opt(30.0, "seconds between attempts to send journaled returns while the "
                                 "library system is unreachable")
    report_at_opening: bool = opt(True, "send the night's returns report to staff (via [alerts]) "
                                  "when the kiosk switches back to staffed mode")


@section
class OfflineSection(_Section):
    """[offline]: limits of working without the library system (kiosk.circulation; the policy itself
    is [kiosk] offline_policy)."""

    max_items_per_patron: int = opt(5, "checkouts one patron may make while offline (returns+checkouts policy)")
    default_loan_days: int = opt(14, "due date promised for an offline checkout, in days from today")
    validate_cards: bool = opt(True, "offline checkouts only for cards the library system recognised "
                               "recently (a local cache of salted card hashes); false: any card")
    card_cache_days: int = opt(30, "days a card seen online stays valid for offline checkouts")
    probe_interval_s: float = opt(15.0, "seconds between checks whether the library system is back "
                                  "(journaled transactions are then replayed)")


@section
class BrandingSection(_Section):
    """[branding]: how the patron screens look for this library (no code changes needed)."""

    library_name: str = opt("Public Library", "library name shown in the header of every screen and on receipts")
    logo: str = opt("", "logo image (PNG) shown in the header, about 96x96 px; relative to the config file "
                    "(empty: no logo)")
    accent_colour: str = opt("#1a5496", "accent colour of the header and main buttons, as #rrggbb; the "
                             "kiosk picks white or dark text and darkens a too-light colour for contrast")
    welcome: str = opt("", "welcome line on the home screen (empty: a translated 'Welcome to <library name>')")
    currency: str = opt("EUR", "ISO 4217 currency of charges when the library system does not say (EUR, USD, ...)")
    theme: str = opt("standard", "theme shown when no patron has chosen one", choices=("standard", "high_contrast"))


@section
class ReceiptSection(_Section):
    """[receipt]: what the patron is offered at the end of a session."""

    choices: list = opt(["print", "email", "none"], "receipt options offered to the patron, in this order "
                        "(any of print, email, none)")
    footer: str = opt("", "extra line printed at the bottom of a receipt (opening hours, web site)")
    email_from: str = opt("", "sender address of e-mailed receipts, e.g. \"Library <noreply@library.example>\" "
                          "(empty: [alerts] email_from, else kiosk@<host name>)")
    smtp_host: str = opt("", "SMTP server for e-mailed receipts (empty: the [alerts] SMTP server, port, "
                         "security and login are used; with neither, e-mail is not offered)")
    smtp_port: int = opt(587, "SMTP port for receipts (587 STARTTLS, 465 SSL, 25 none)")
    smtp_security: str = opt("starttls", "encryption of the receipts' SMTP connection",
                             choices=("starttls", "ssl", "none"))
    smtp_user: str = opt("", "SMTP login user for receipts (empty: no login)")
    smtp_password_file: str = opt("", "file holding the receipts' SMTP password (must not be readable by others)")
    email_timeout_s: float = opt(10.0, "seconds before sending a receipt e-mail is given up (the patron "
                                 "is then offered a printed receipt)")


@section
class TagsSection(_Section):
    """[tags]: what the staff station writes on item tags (kiosk.station)."""

    model: str = opt("28560-3", "tag data model written by the staff station: 28560-3 (Danish model, fixed "
                     "length), 28560-2 (object identifiers), 3m (3M RFID501)", choices=("28560-3", "28560-2", "3m"))
    owner_isil: str = opt("", "owner library ISIL written on tags, e.g. DK-718500 (3m tags have no ISIL)")
    media_format: str = opt("auto", "ISO 28560 media format written: auto (from the library system's media "
                            "type: 1 book, 2 CD/DVD, 3 tape) or a number 0-255")
    lock_after_write: bool = opt(False, "lock the written blocks permanently after a verified write "
                                 "(the tag can then never be reprogrammed)")


@section
class StationSection(_Section):
    """[station]: the staff station -- tag programming and shelf check (kiosk.station)."""

    branch: str = opt("", "this station's branch as the library system names home branches (SIP2 BG "
                      "owner); items of other branches found on a shelf are flagged for transfer "
                      "(empty: not checked)")
    write_retries: int = opt(3, "times a tag is written and read back before it is refused")


@section
class SpeechSection(_Section):
    """[speech]: spoken instructions and item results (issue 14; ADA 707.5, EN 301 549 §8.2/§5.1.3)."""

    enabled: bool = opt(False, "offer speech on this kiosk: a 'speech on' switch on the home screen "
                        "(for headphones or a speaker); the patron turns it on per session")
    on_by_default: bool = opt(False, "every session starts with speech on (a kiosk for a reading room for "
                              "the blind, say); needs enabled = true")
    volume: int = opt(80, "speech volume, 0-100 (espeak-ng amplitude scaled from this)")
    speak_personal_data: bool = opt(False, "also speak the patron's name (card numbers are never spoken)")
    engine: str = opt("espeak-ng", "the offline speech engine (a Debian / Raspberry Pi OS package)",
                      choices=("espeak-ng",))
    rate: int = opt(150, "words per minute (espeak-ng's default is 175; slower is easier to follow)")


@section
class GuideSection(_Section):
    """[guide]: where things are on this kiosk model, for the pictograms that show patrons where to
    tap the card, place the items and find the return slot (seen from a patron facing the screen)."""

    card_reader: str = opt("below", "where the card reader is", choices=("below", "left", "right", "above", "none"))
    item_pad: str = opt("below", "where the item pad is", choices=("below", "left", "right", "above", "none"))
    return_slot: str = opt("below", "where the return slot is (after-hours book drop)",
                           choices=("below", "left", "right", "above", "none"))


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
