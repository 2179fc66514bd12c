"""Start the whole kiosk for the demo, the tour, the GUI tests and the UI benchmark.

``demo_kiosk()`` starts the embedded demo library system (its database in the data dir), points
``[ils]`` at it, switches to simulated hardware, and yields a ready :class:`Kiosk` bundle whose
``app`` is the real :class:`~kiosk.app.KioskApp` built from those settings -- the same wiring as
``kiosk run``, only the devices and the library are stand-ins.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Kiosk:
    settings: Any
    server: Any            # DemoIlsServer (None when the ILS is external)
    app: Any               # KioskApp
    driver: Any            # kiosk.ui.driver.Driver
    devices: Any

    @property
    def library(self) -> dict:
        """The demo library's export (patrons, items) for choosing cards and items."""
        return self.server.db.export()


def prepare_settings(settings, *, data_dir: Path | None = None, overrides: dict | None = None):  # noqa: ANN001,ANN201
    """Apply ``{"section.key": value}`` overrides to loaded settings (tests, tour passes)."""
    if data_dir is not None:
        settings.storage.data_dir = str(data_dir)
    for dotted, value in (overrides or {}).items():
        section, key = dotted.split(".", 1)
        setattr(getattr(settings, section), key, value)
    return settings


@contextlib.contextmanager
def demo_ils(settings, *, latency_ms: int = 0, reset: bool = True) -> Iterator[Any]:  # noqa: ANN001
    """The embedded demo library system on a free loopback port, with ``settings.ils`` pointed at it."""
    from kiosk.demo_ils.server import DemoIlsServer

    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    server = DemoIlsServer(data / "demo-library.sqlite3", host="127.0.0.1", port=0, latency_ms=latency_ms,
                           user=settings.ils.user or "kiosk", password=settings.ils_password() or "kiosk",
                           institution=settings.ils.institution or "DEMO", reset=reset)
    server.start()
    settings.ils.host, settings.ils.port = "127.0.0.1", server.port
    settings.hardware.simulate = True
    folio = None
    if getattr(settings.ils, "protocol", "sip2") == "folio":   # the same library over FOLIO's HTTP API
        from kiosk.demo_ils.folio_http import FolioDemoServer

        folio = FolioDemoServer(server.db, tenant=settings.ils.tenant or "diku", user=settings.ils.user or "kiosk",
                                password=settings.ils_password() or "kiosk", latency_ms=latency_ms).start()
        settings.ils.url = folio.url
        _stop_faces_together(server, folio)
    try:
        yield server
    finally:
        if folio is not None:
            folio.stop()
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - a test or the tour may have stopped it already
            log.debug("demo library already stopped", exc_info=True)


def _stop_faces_together(server, folio) -> None:  # noqa: ANN001
    """"The library system goes down" (the tour's offline pages, tests) means both of its faces:
    ``server.stop()`` stops the FOLIO HTTP face first, then the SIP2 server (which owns the database)."""
    stop_sip2 = server.stop

    def stop() -> None:
        folio.stop()
        stop_sip2()

    server.stop = stop
    server.folio = folio


@contextlib.contextmanager
def running_app(settings, *, headless: bool = True, width: int | None = None, height: int | None = None,
                sounds: bool = False, side_panel=None, server=None) -> Iterator[Kiosk]:  # noqa: ANN001
    """The real KioskApp driven on this thread (see :class:`kiosk.ui.driver.Driver`)."""
    from kiosk.ui import kivyenv

    kivyenv.prepare(settings.data_dir / "kivy", headless=headless,
                    width=width or settings.kiosk.width, height=height or settings.kiosk.height)
    from kiosk.app import KioskApp
    from kiosk.hardware import open_devices
    from kiosk.ui.driver import Driver

    devices = open_devices(settings)
    app = KioskApp(settings, devices=devices, sounds=sounds, side_panel=side_panel)
    driver = Driver(app)
    driver.start()
    try:
        yield Kiosk(settings=settings, server=server, app=app, driver=driver, devices=devices)
    finally:
        driver.stop()
        devices.close()


def headless_available() -> bool:
    """True when no display is set (the offscreen SDL driver will be used)."""
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
