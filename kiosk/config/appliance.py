"""The configuration of the appliance: the machine the kiosk runs on and how it is looked after.

``[hardware]`` and its devices (``[card_reader]``, ``[tag_reader]``, ``[scanner]``, ``[printer]``,
``[gpio]``), ``[display]``, ``[storage]`` (the data directory), and ``[monitoring]`` and ``[alerts]``
(kiosk.appliance).  What the kiosk does for patrons and staff is in ``kiosk.config.service``.
Import the names from ``kiosk.config``, which re-exports them.
"""

from __future__ import annotations

from kiosk.config.keys import _Section, opt, section


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
class DisplaySection(_Section):
    """[display]: the kiosk's screen on a Pi without a desktop (docs/deployment.md, "The display")."""

    rotation: int = opt(0, "turn the picture and the touch input by 0, 90, 180 or 270 degrees, e.g. 90 "
                        "for a portrait-mounted screen (touch follows the picture)")


@section
class MonitoringSection(_Section):
    """[monitoring]: optional local HTTP endpoint with /metrics (Prometheus) and /health (JSON)."""

    listen: str = opt("", "HOST:PORT to serve /metrics and /health on, e.g. 127.0.0.1:9101 (empty: off)")


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
