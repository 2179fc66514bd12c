"""``kiosk doctor``: check every configured device and the library-system link.

:func:`run_checks` returns structured results, so the staff screen shows the same table as the
command line.  Each failure carries a hint a caretaker can act on.  Checks never raise: a
broken device or an unreachable library system is a row with ``ok=False``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.hardware.base import Device, Devices
from kiosk.ui.i18n import N_  # marks hints for the staff catalog; `kiosk doctor` prints them in English

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""


HINTS = {
    "card_reader": N_("MFRC522: enable SPI (dtparam=spi=on), add the kiosk user to group spi, check the "
                      "wiring (3.3 V, SDA=CE0) and [card_reader] spi_bus/spi_device/reset_pin"),
    "tag_reader": N_("check the USB cable and [tag_reader] port (ls /dev/serial/by-id), baudrate and parity "
                     "(FEIG default 38400 8E1); the kiosk user needs group dialout"),
    "scanner": N_("serial mode: check [scanner] port (ls /dev/ttyACM*) and group dialout; keyboard mode: "
                  "[scanner] device must be an event node and the user needs group input"),
    "printer": N_("check paper and cover, the cable and [printer] url; set status_query = false for a "
                  "printer that never answers status requests"),
    "indicators": N_("check [gpio] backend/chip (gpiodetect) and that the user is in group gpio"),
    "slot_sensor": N_("check the light barrier's wiring and [gpio] slot_pin / slot_active_low"),
    "door_lock": N_("check the lock driver wiring and [gpio] lock_pin; never test by forcing the hatch"),
    "library_system": N_("check [ils] host/port, the network, the SIP2 login ([ils] user/password) and TLS "
                         "settings; run `kiosk sip2 status` for details"),
}


DEVICE_NAMES = ("card_reader", "tag_reader", "scanner", "printer", "indicators", "slot_sensor", "door_lock")


def check_device(name: str, device: Device) -> Check:
    info = device.describe()
    where = f"{info.driver}" + (f" at {info.address}" if info.address and info.driver not in ("none", "failed") else "")
    try:
        detail = device.check()
    except Exception as exc:
        return Check(name, False, f"{where}: {exc}" if info.driver != "failed" else str(exc), HINTS.get(name, ""))
    if info.driver == "none":
        return Check(name, True, N_("not fitted (driver = none)"))
    return Check(name, True, f"{where}: {detail}")


def check_library_system(settings: Any) -> Check:
    if getattr(settings.ils, "protocol", "sip2") == "folio":   # FOLIO over HTTP (kiosk.folio.doctor)
        from kiosk.folio.doctor import check_link

        try:
            link = check_link(settings)
        except Exception as exc:  # noqa: BLE001 - e.g. an unreadable password file: a failed check
            return Check("library_system", False, f"{settings.ils.url}: {exc}", HINTS["library_system"])
        return Check("library_system", link.ok, link.detail, link.hint)
    try:
        module = importlib.import_module("kiosk.sip2.ils")
    except ImportError as exc:
        return Check("library_system", False, f"SIP2 client not available: {exc}", HINTS["library_system"])
    ils = None
    try:
        ils = module.SipIls.from_settings(settings)
        status = ils.status()
    except Exception as exc:
        return Check("library_system", False, f"{settings.ils.host}:{settings.ils.port}: {exc}",
                     HINTS["library_system"])
    finally:
        if ils is not None:
            try:
                ils.close()
            except Exception:
                log.debug("closing the ILS failed", exc_info=True)
    if not status.online and not settings.ils.user:
        # Most servers answer SC status off-line before a login (Koha: "Login required"): the
        # kiosk's own configuration is what is missing, not the library system.
        return Check("library_system", False, f"{settings.ils.host}:{settings.ils.port}: no SIP2 login configured "
                     f"([ils] user is empty in {settings.source}); pass --config FILE", HINTS["library_system"])
    if not status.online:
        return Check("library_system", False, f"{settings.ils.host}:{settings.ils.port} answers but reports "
                     "itself off-line", N_("ask the library-system administrators"))
    flags = ", ".join(n for n, ok in (("checkout", status.checkout_ok), ("checkin", status.checkin_ok),
                                      ("renewal", status.renewal_ok)) if ok)
    name = f" ({status.library_name})" if status.library_name else ""
    return Check("library_system", True, f"{settings.ils.host}:{settings.ils.port}{name} online; allows {flags}")


def check_journal(settings: Any) -> Check:
    """The offline journal on disk: sound, damaged, or lost after earlier work (issue 13 item 3)."""
    from kiosk.circulation.journal_check import doctor_check

    try:
        ok, detail = doctor_check(settings.data_dir)
    except Exception as exc:  # noqa: BLE001 - a check never raises
        return Check("journal", False, f"{settings.data_dir}: {exc}", JOURNAL_HINT)
    return Check("journal", ok, detail, "" if ok else JOURNAL_HINT)


def check_clock(settings: Any) -> Check:
    """Is the wall clock synchronised (a Pi has no RTC)?  Offline work on an untrusted clock is
    flagged and replayed without its dates (issue 18 item 4)."""
    try:
        from kiosk.appliance.clock import doctor_check as clock_check

        ok, detail = clock_check(settings)
    except Exception as exc:  # noqa: BLE001 - a check never raises
        return Check("clock", False, str(exc), CLOCK_HINT)
    return Check("clock", ok, detail, "" if ok else CLOCK_HINT)


JOURNAL_HINT = ("a damaged journal means a failing SD card: replace it, restart the kiosk (the damaged file is "
                "kept as journal.sqlite3.damaged-*); after checking the library system for offline returns "
                "that may be missing, run `kiosk journal acknowledge-loss --note ...`")
CLOCK_HINT = ("the clock is not synchronised: check the network and the time server (timedatectl status; "
              "systemd-timesyncd or chrony); offline transactions meanwhile are flagged for staff")


def run_checks(settings: Any, devices: Devices | None = None, *, ils: bool = True,
               storage: bool = False, system: bool = False) -> list[Check]:
    """Check every device (opening them unless ``devices`` is given) and the library system;
    with ``storage`` also the journal and the clock, with ``system`` the SD card and the display
    (both in ``kiosk doctor``)."""
    own = devices is None
    if devices is None:
        from kiosk.hardware.factory import open_devices

        devices = open_devices(settings)
    try:
        results = [check_device(name, getattr(devices, name)) for name in DEVICE_NAMES]
    finally:
        if own:
            devices.close()
    if storage:
        results += [check_journal(settings), check_clock(settings)]
    if system:
        from kiosk.appliance.system import appliance_checks  # storage (SD card) and display

        results.extend(appliance_checks(settings))
    if ils:
        results.append(check_library_system(settings))
    return results


def plain_detail(detail: str, translate: Callable[..., str] | None = None) -> str:
    """A device check's detail in words a librarian uses: the driver jargon ("sim at simulated: ok",
    "mfrc522 at spi0.0: ok") reads as "Simulated (demo): working" / "spi0.0: working".

    ``translate(text, **fields)`` is the staff page's gettext; the command line keeps English.
    One rendering for ``kiosk doctor`` and the staff diagnostics page."""
    def tr(text: str, **fields: str) -> str:
        return translate(text, **fields) if translate else text.format(**fields)

    where, sep, rest = detail.partition(": ")
    if not sep:
        return tr(detail)
    driver, _at, address = where.partition(" at ")
    rest = tr("working") if rest.strip() == "ok" else tr(rest)
    if driver == "sim":
        return tr("Simulated (demo): {state}", state=rest)
    return f"{address or driver}: {rest}"


def format_table(results: list[Check]) -> str:
    width = max(len(r.name) for r in results)
    lines = []
    for r in results:
        detail = plain_detail(r.detail) if r.name in DEVICE_NAMES else r.detail
        lines.append(f"{'PASS' if r.ok else 'FAIL'}  {r.name:<{width}}  {detail}")
        if not r.ok and r.hint:
            lines.append(f"      {'':<{width}}  hint: {r.hint}")
    return "\n".join(lines)
