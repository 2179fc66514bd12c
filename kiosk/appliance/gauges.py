"""The gauges the app samples for ``/metrics`` (kiosk.appliance.monitoring.GaugeSampler).

One place lists what the fleet's alert rules (deploy/prometheus/rules/kiosk.rules.yml) read from
the other layers: the journal's backlog and staff queue with their oldest entry, the library link,
the out-of-service state and device faults.  Every source runs on the sampler's thread, never on
Kivy's main loop.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

TIME_ERROR = 5   # adjtimex(2): "the clock is not synchronized"


def _oldest_created(rows: list[Any]) -> float:
    return min((r.created for r in rows), default=0.0)


def _polling_fault(device: Any) -> float:
    """1 while a polling driver's thread is in an error streak (unplugged reader, serial error)."""
    thread = getattr(device, "_thread", None)
    return 1.0 if getattr(thread, "failing", None) else 0.0


def clock_synchronized(adjtimex: Callable[[Any], int] | None = None) -> float:
    """1 when the kernel says the clock is NTP-synchronised, else 0 (a Pi without network after a
    power cut).  The same kernel flag systemd-timesyncd and chrony set and ``timedatectl`` shows as
    "System clock synchronized"; read with a read-only adjtimex(2) call (modes = 0)."""
    call = adjtimex or ctypes.CDLL(None, use_errno=True).adjtimex
    state = call(ctypes.create_string_buffer(512))   # a zeroed struct timex, with room to spare
    return 0.0 if state < 0 or state == TIME_ERROR else 1.0


def journal_gauges(journal: Any) -> dict[str, Callable[[], float]]:
    return {
        "journal_queue_length": journal.pending_count,
        "journal_oldest_pending_timestamp_seconds": lambda: _oldest_created(journal.pending(limit=1)),
        "staff_queue_length": lambda: len(journal.staff_queue()),
        "staff_queue_oldest_timestamp_seconds": lambda: _oldest_created(journal.staff_queue()),
    }


def app_gauges(app: Any) -> dict[str, Callable[[], float]]:
    """Every sampled gauge of a running KioskApp (``app.service``, ``app.devices``, ``app.view``)."""
    from kiosk.circulation.view import OUT_OF_SERVICE

    devices = app.devices
    gauges = journal_gauges(app.service.journal)
    gauges.update({
        "library_system_up": lambda: int(app.service.online),
        "in_service": lambda: 0 if getattr(app.view, "state", None) == OUT_OF_SERVICE else 1,
        "printer_paper_out": lambda: int(devices.printer.status().paper_out),
        "clock_synchronized": clock_synchronized,
    })
    gauges.update({f"device_fault{{device={name}}}": source for name, source in device_fault_sources(devices).items()})
    return gauges


def device_fault_sources(devices: Any) -> dict[str, Callable[[], float]]:
    """``device_fault{device=...}`` sources: (name -> callable), set by the sampler with a label."""
    return {"card_reader": lambda: _polling_fault(devices.card_reader),
            "tag_reader": lambda: _polling_fault(devices.tag_reader),
            "printer": lambda: 0.0 if devices.printer.status().ok else 1.0}
