"""Staff mode and after-hours wiring for the touchscreen app (the Kivy side; logic in StaffConsole).

``KioskApp`` creates one :class:`StaffMode` once its devices and service are wired.  It

* owns the :class:`~kiosk.staff.console.StaffConsole` the staff pages call (results come back on
  the main thread through the app's thread->UI door, :func:`kiosk.ui.door.on_ui`);
* decides which staff page shows while staff mode is open, and ends staff mode after
  ``[staff] idle_logout_s`` without a touch (reference hardware-and-deployment.md §6.2);
* runs the after-hours book drop (:class:`kiosk.afterhours.bookdrop.BookDrop`) when the effective
  mode is returns-only -- ``[kiosk] mode = "returns"``, or ``"auto"`` outside ``[hours]``, or a
  staff override -- sharing the service's journal and library-system connection; the schedule is
  looked at once a minute (the controller re-checks it every second itself once it runs);
* routes device events: a card tapped while staff mode is open is only noted (masked) for the
  diagnostics page; in returns-only mode cards identify nobody and tags/slot events go to the
  book drop; otherwise everything goes to the circulation service as before;
* starts the appliance services (statistics store, monitoring, alerts, gauges) and stops them.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from typing import Any

from kivy.clock import Clock

from kiosk.appliance.privacy import mask
from kiosk.ui.door import LatestOnly, on_ui

log = logging.getLogger(__name__)

STAFF_PAGES = ("staff_home", "staff_settings", "staff_diagnostics", "staff_journal", "staff_stats",
               "morning_report", "staff_station")
MODE_CHECK_S = 60


class StaffMode:
    """Staff pages, idle logout, book drop and appliance services of one running app."""

    def __init__(self, app: Any) -> None:
        from kiosk.staff.console import StaffConsole

        self.app = app
        self.logged_in = False
        self.page = "staff_home"
        self.returns_only = False
        self.bookdrop = None
        self.drop_view = None
        self._idle_ev = None
        self.station_listener = None      # the staff station page (kiosk.station.desk) while it is open
        self.console = StaffConsole(app.settings, devices=app.devices, service=app.service, post=on_ui,
                                    exit_app=self._exit)
        self.services = None
        # secrets check, SQLite, an HTTP port: started off the main thread (notes/common.md rule 3)
        self._services_thread = threading.Thread(target=self._start_appliance_services, name="appliance-start",
                                                 daemon=True)
        self._services_thread.start()
        self._drop_door = LatestOnly(self._drop_changed)
        d = app.devices
        self._service_tag_present = d.tag_reader.when_tag_present
        self._service_tag_removed = d.tag_reader.when_tag_removed
        self._app_card = d.card_reader.when_card
        d.card_reader.when_card = self._card
        # Scanned codes (serial scanner, or keyboard-wedge typing fed by the app) take the same route.
        self._app_scan = app._code_scanned
        app._code_scanned = self._scan
        d.scanner.when_scan = self._scan
        d.tag_reader.when_tag_present = self._tag_present
        d.tag_reader.when_tag_removed = self._tag_removed
        self.check_mode()
        self._mode_ev = Clock.schedule_interval(lambda _dt: self.check_mode(), MODE_CHECK_S)

    # ------------------------------------------------------------------ appliance services
    def _start_appliance_services(self) -> None:
        from kiosk.appliance.monitoring import start_appliance_services
        from kiosk.errors import ConfigError

        app = self.app
        from kiosk.appliance.gauges import app_gauges

        gauges = app_gauges(app)   # journal backlog, staff queue, library link, in service, devices, clock
        try:
            self.services = start_appliance_services(app.settings, demo=bool(app.settings.hardware.simulate),
                                                     gauges=gauges)
        except ConfigError as exc:   # e.g. a secret readable by others: patrons are still served
            log.error("appliance services not started: %s", exc)
        except Exception:  # noqa: BLE001 - monitoring must never stop the kiosk
            log.exception("appliance services not started")

    # ------------------------------------------------------------------ device events (any thread)
    def _card(self, card: str) -> None:
        if self.logged_in and self.app.staff_active:
            self.console.note_card(card)
            return
        if self.returns_only and not self.app.staff_active:
            from kiosk.staff.auth import is_staff_card

            if is_staff_card(self.app.settings.staff, card):
                on_ui(self.app.enter_staff, card)
            else:
                log.info("card %s ignored: returns-only mode identifies nobody", mask(card))
            return
        self._app_card(card)

    def _scan(self, code: str) -> None:
        if self.logged_in and self.app.staff_active:
            if self.station_listener is not None:   # the staff station: an item barcode
                self.station_listener.scanned(code)
                return
            self.console.note_card(code)           # shown masked, like a card
            return
        if self.returns_only and not self.app.staff_active:
            log.info("scanned code %s ignored: returns-only mode", mask(code))
            return
        self._app_scan(code)

    def _tag_present(self, tag: Any) -> None:
        if self.logged_in:
            if self.station_listener is not None:   # the staff station programs / checks this tag
                self.station_listener.tag_present(tag)
            return                        # staff read the pad on the diagnostics page
        if self.returns_only and self.bookdrop is not None:
            self.bookdrop.tag_seen(tag)
        elif self._service_tag_present is not None:
            self._service_tag_present(tag)

    def _tag_removed(self, uid: str) -> None:
        if self.logged_in and self.station_listener is not None:
            self.station_listener.tag_removed(uid)
        if not self.returns_only and not self.logged_in and self._service_tag_removed is not None:
            self._service_tag_removed(uid)

    # ------------------------------------------------------------------ staff pages (main thread)
    def screen_for(self, view: Any, target: str) -> str:
        """Which screen shows: the open staff page, the returns-only screen, or the app's choice."""
        if self.app.staff_active and self.logged_in:
            return self.page
        if target == "home" and self.returns_only:
            return "returns_only"
        return target

    def open_tools(self) -> None:
        """The staff PIN (or card) was accepted: open the staff home page."""
        if not self.app.staff_active:
            return
        self.logged_in = True
        self.show("staff_home")

    def show(self, page: str) -> None:
        if page not in STAFF_PAGES or not self.logged_in:
            raise ValueError(page)
        self.page = page
        self.app.screen(page)
        self.app.root_widget.ids.sm.current = page
        self.touched()

    def touched(self) -> None:
        """Any touch on a staff page restarts the idle logout."""
        if self._idle_ev is not None:
            self._idle_ev.cancel()
        if self.logged_in:
            self._idle_ev = Clock.schedule_once(lambda _dt: self._idle_out(), self.app.settings.staff.idle_logout_s)

    def _idle_out(self) -> None:
        log.info("staff mode closed after %d s without a touch", self.app.settings.staff.idle_logout_s)
        self.app.leave_staff()

    def ended(self) -> None:
        """Staff mode is over (leave, idle): forget the login and whatever the pages showed."""
        self.logged_in = False
        self.page = "staff_home"
        if self._idle_ev is not None:
            self._idle_ev.cancel()
            self._idle_ev = None
        sm = self.app.root_widget.ids.sm
        for name in (*STAFF_PAGES, "staff"):
            if sm.has_screen(name):
                sm.get_screen(name).wipe()

    def _exit(self, code: int) -> None:
        self.app.exit_code = code
        on_ui(self.app.stop)

    # ------------------------------------------------------------------ after hours
    def _override_wants_returns(self, now: datetime) -> bool | None:
        path = self.app.settings.data_dir / "afterhours-override.json"
        try:
            data = json.loads(path.read_text())
            until = datetime.fromisoformat(data["until"]) if data.get("until") else None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if until is not None and now >= until:
            return None
        return data.get("mode") == "returns"

    # The book drop opens and writes its SQLite log and the override file: that is disk work, so
    # every call into it goes through the app's intent thread, never Kivy's main thread.
    def check_mode(self) -> None:
        """Ask for a mode check (the Clock calls this once a minute; staff settings after a change)."""
        self.app._intents.put(self._check_mode)

    def set_override(self, mode: str | None) -> None:
        """Staff: "returns" (returns only now), "staffed", or None (back to the schedule)."""
        self.app._intents.put(lambda: self.start_bookdrop().set_mode_override(mode))

    def bin_emptied(self) -> None:
        self.app._intents.put(lambda: self.start_bookdrop().bin_emptied())

    def reset_fault(self) -> None:
        self.app._intents.put(lambda: self.start_bookdrop().reset_fault())

    def _check_mode(self) -> None:
        """(intent thread) Start the book drop when the schedule (or an override) says returns-only."""
        if self.bookdrop is not None:
            self.bookdrop.configured_mode = self.app.settings.kiosk.mode     # staff may have changed it
            self.bookdrop.tick()
            return
        from kiosk.afterhours.hours import OpeningHours
        from kiosk.afterhours.mode import effective_mode

        now = datetime.now()
        settings = self.app.settings
        try:
            hours = OpeningHours.from_section(settings.hours, settings.source)
            returns = effective_mode(settings.kiosk.mode, hours, now).returns_only
        except Exception:  # noqa: BLE001 - a broken schedule must not stop patrons
            log.exception("after-hours schedule could not be read")
            returns = False
        override = self._override_wants_returns(now)
        if returns if override is None else override:
            self.start_bookdrop()

    def start_bookdrop(self):  # noqa: ANN201 - the BookDrop
        """(intent thread) The return slot: same journal and library-system connection as the service."""
        if self.bookdrop is None:
            from kiosk.afterhours.bookdrop import BookDrop

            app = self.app
            self.bookdrop = BookDrop(app.settings, app.devices, app.service.ils, app.service.journal,
                                     listener=self._drop_door.post)
            self.bookdrop.start(wire=False)      # we forward tags (one reader for pad and slot)
            app.devices.slot_sensor.when_blocked = self.bookdrop.slot_blocked
            app.devices.slot_sensor.when_cleared = self.bookdrop.slot_cleared
            self.console.bookdrop = self.bookdrop
            log.info("after-hours book drop started")
        return self.bookdrop

    def _drop_changed(self, view: Any) -> None:
        """(main thread) A new BookDropView: switch screens when the mode changed."""
        self.drop_view = view
        returns = bool(view.mode is not None and view.mode.returns_only)
        app = self.app
        if returns != self.returns_only:
            self.returns_only = returns
            log.info("kiosk mode: %s", "returns only" if returns else "staffed")
            app._intents.put(app.service.set_returns_only, returns)
            app.screen("home").returns_only = returns     # e.g. staff override in "returns" mode
        sm = app.root_widget.ids.sm
        if returns or sm.has_screen("returns_only"):
            app.screen("returns_only").show_drop(view)
        if sm.has_screen("morning_report"):
            app.screen("morning_report").show_drop(view)
        if app.view is not None:
            app.render(app.view)

    # ------------------------------------------------------------------ shutdown
    def close(self) -> None:
        self._mode_ev.cancel()
        if self._idle_ev is not None:
            self._idle_ev.cancel()
        if self.bookdrop is not None:
            self.bookdrop.close()
        self.console.close()
        self._services_thread.join(timeout=10)
        if self.services is not None:
            self.services.stop()
