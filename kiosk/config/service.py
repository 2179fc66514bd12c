"""The configuration of the library service: what the kiosk does for the library and its patrons.

``[kiosk]`` (mode, languages, timeouts), ``[ils]`` (the library system), ``[offline]``, ``[staff]``,
``[hours]`` and ``[bookdrop]`` (after hours), what patrons see and take away (``[branding]``,
``[receipt]``, ``[speech]``, ``[guide]``) and the staff station (``[tags]``, ``[station]``).  The
machine the service runs on -- its devices, screen, storage and alerting -- is in
``kiosk.config.appliance``.  Import the names from ``kiosk.config``, which re-exports them.
"""

from __future__ import annotations

from kiosk.config.keys import _Section, opt, section


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
