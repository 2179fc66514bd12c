"""``kiosk doctor``: check every configured device and the library-system link.

:func:`run_checks` returns structured results, so the staff screen shows the same table as the
command line.  Each failure carries a hint a caretaker can act on.  Checks never raise: a
broken device or an unreachable library system is a row with ``ok=False``.
"""

from __future__ import annotations

import importlib
import logging
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
    if not status.online:
        return Check("library_system", False, f"{settings.ils.host}:{settings.ils.port} answers but reports "
                     "itself off-line", N_("ask the library-system administrators"))
    flags = ", ".join(n for n, ok in (("checkout", status.checkout_ok), ("checkin", status.checkin_ok),
                                      ("renewal", status.renewal_ok)) if ok)
    name = f" ({status.library_name})" if status.library_name else ""
    return Check("library_system", True, f"{settings.ils.host}:{settings.ils.port}{name} online; allows {flags}")


def run_checks(settings: Any, devices: Devices | None = None, *, ils: bool = True,
               system: bool = False) -> list[Check]:
    """Check every device (opening them unless ``devices`` is given) and the library system;
    with ``system``, also the SD card and the display (``kiosk doctor``)."""
    own = devices is None
    if devices is None:
        from kiosk.hardware.factory import open_devices

        devices = open_devices(settings)
    try:
        results = [check_device(name, getattr(devices, name)) for name in
                   ("card_reader", "tag_reader", "scanner", "printer", "indicators", "slot_sensor",
                    "door_lock")]
    finally:
        if own:
            devices.close()
    if system:
        from kiosk.appliance.system import appliance_checks  # storage (SD card) and display

        results.extend(appliance_checks(settings))
    if ils:
        results.append(check_library_system(settings))
    return results


def format_table(results: list[Check]) -> str:
    width = max(len(r.name) for r in results)
    lines = []
    for r in results:
        lines.append(f"{'PASS' if r.ok else 'FAIL'}  {r.name:<{width}}  {r.detail}")
        if not r.ok and r.hint:
            lines.append(f"      {'':<{width}}  hint: {r.hint}")
    return "\n".join(lines)
