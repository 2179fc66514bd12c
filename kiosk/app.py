"""KioskApp: wiring only -- settings -> devices -> KioskService -> screens.

Everything that decides anything lives in the circulation engine (``kiosk.circulation``); the
drivers live in ``kiosk.hardware``; the screens only draw a :class:`SessionView`.  This module
connects them:

* hardware events (card tap, tags, scanner) go straight to service intents from the drivers'
  own threads (every intent returns immediately);
* the service's listener receives views on a worker thread and posts them through the one
  thread->UI door (:mod:`kiosk.ui.door`), which hands the newest to :meth:`KioskApp.render` on
  the main thread;
* taps on screens call :meth:`KioskApp.intent`, which forwards to the service.

Call :func:`kiosk.ui.kivyenv.prepare` before importing this module (Kivy reads its environment
at import time).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.appliance.privacy import mask
from kiosk.circulation.view import ENDED, IDENTIFYING, IDLE, OUT_OF_SERVICE, RECEIPT, SessionView
from kiosk.ui.door import IntentQueue, LatestOnly, on_ui
from kiosk.ui.i18n import tr
from kiosk.ui.patron_choices import PatronChoices
from kiosk.ui.present import next_patron_starts
from kiosk.ui.screen_views import ScreenViews, screen_for
from kiosk.ui.sounds import Sounds, cues_between
from kiosk.ui.staff_entry import StaffEntry
from kiosk.ui.theme import Theme
from kiosk.ui.window_input import WindowInput

log = logging.getLogger(__name__)

# Views are drawn at most this often (a burst of results becomes a few renders), and spinners
# turn at SPIN_HZ: both keep the main thread free on a Pi (reference hardware-and-deployment.md §4.5).
RENDER_INTERVAL_S = 0.1
SPIN_HZ = 10

# Intents the screens may send, and the service methods they become.
INTENTS = ("start", "card_presented", "pin_entered", "item_seen", "item_removed", "renew", "renew_all",
           "finish", "more_time", "touch", "cancel")


class KioskApp(ScreenViews, PatronChoices, StaffEntry, WindowInput, App):
    """The touchscreen kiosk.  Construct with settings; pass ``service_factory``/``devices`` to
    substitute parts (tests use the real engine with simulated hardware and the demo ILS)."""

    theme = ObjectProperty(None)
    lang = StringProperty("en")
    portrait = BooleanProperty(False)
    spin_angle = NumericProperty(0)
    warning_s = NumericProperty(-1)          # -1: no timeout warning showing
    offline_text = StringProperty("")
    library_name = StringProperty("")
    logo = StringProperty("")
    staff_active = BooleanProperty(False)
    view = ObjectProperty(SessionView(), allownone=True)
    speech_on = BooleanProperty(False)       # this session's "speech on" switch (kiosk/speech/)

    def __init__(self, settings, *, devices=None, service_factory: Callable[[Callable], Any] | None = None,
                 side_panel: Callable[[KioskApp], Any] | None = None, sounds: bool = True, **kw):
        super().__init__(**kw)
        self.settings = settings
        self.devices = devices
        self.service = None
        self._service_factory = service_factory
        self._side_panel = side_panel
        self._owned: list[Any] = []          # things we opened and must close
        self.sounds = Sounds(enabled=sounds)
        self.title = settings.branding.library_name
        self.lang = settings.kiosk.language
        self._door: LatestOnly | None = None
        self._intents: IntentQueue | None = None
        self._scan_filter = None
        self._spin_ev = None
        self._tick_ev = None
        self._staff_card: str | None = None
        self.staff_mode = None               # kiosk.screens.staff_mode.StaffMode, once wired
        self._behind: set[str] = set()       # screens not shown since the last view with a patron
        self._patron_shown = False           # the last view rendered had a patron
        self.prewarm = None                  # kiosk.ui.prewarm.Prewarm: what is built while nobody is here
        self.watchdog = None
        self.exit_code = 0                   # staff "restart" sets one (systemd restarts the unit)
        self.narrator = None                 # kiosk.speech.narrator.Narrator, made when speech is first on
        self.speech_on = settings.speech.enabled and settings.speech.on_by_default

    # ------------------------------------------------------------------ building
    def build(self):  # noqa: ANN201
        from kiosk.ui import root as root_mod
        from kiosk.ui import widgets  # noqa: F401  (kv rules)

        b = self.settings.branding
        if "KIVY_METRICS_DENSITY" not in os.environ:      # a larger panel: everything scales (theme.py)
            from kivy.metrics import Metrics

            from kiosk.ui.theme import panel_density

            Metrics.density = panel_density(*Window.size)
        self.theme = Theme(accent_hex=b.accent_colour)
        self.theme.apply(b.theme)
        self.library_name = b.library_name
        self.logo = self._resolve_logo(b.logo)
        root = root_mod.KioskRoot()
        self.root_widget = root
        self.screen("home")
        root.ids.sm.current = "home"
        root.ids.staff_corner.bind(on_hold=lambda *_a: self.enter_staff())
        # staff pages keep their compact type scale (kiosk/ui/theme.py Theme.staff)
        root.ids.sm.bind(current=lambda _sm, name: self.theme.set_staff(
            name.startswith("staff_") or name == "morning_report"))
        root.ids.sm.bind(current_screen=self._render_if_behind)

        Window.bind(size=self._on_window_size, on_request_close=self._on_request_close,
                    on_key_down=self._on_key_down, on_textinput=self._on_textinput)
        Window.bind(on_touch_down=self._on_any_touch)
        self._on_window_size(Window, Window.size)
        # Show the home screen first; connect devices and the library system right after the
        # first frame (a patron sees the kiosk sooner; nothing can be tapped before it anyway).
        Window.bind(on_flip=self._after_first_frame)
        if self._side_panel is not None:
            from kivy.uix.boxlayout import BoxLayout

            outer = BoxLayout(orientation="horizontal")
            outer.add_widget(root)
            outer.add_widget(self._side_panel(self))
            return outer
        return root

    def _after_first_frame(self, *_a) -> None:
        Window.unbind(on_flip=self._after_first_frame)
        from kiosk.ui.kivyenv import resume_gc

        resume_gc()                         # paused by `kiosk run` until now (kivyenv.py says why)
        # systemd hears READY=1 when the patron can see the kiosk, then WATCHDOG=1 pings from
        # this (main) thread: a frozen UI stops them and systemd restarts the unit.
        from kiosk.appliance.watchdog import start_watchdog

        if self.watchdog is None:
            self.watchdog = start_watchdog(Clock.schedule_interval)
        Clock.schedule_once(lambda _dt: self._wire(), 0)

    @property
    def is_ready(self) -> bool:
        """True once devices and the service are wired (just after the first frame)."""
        return self.service is not None

    def _resolve_logo(self, logo: str) -> str:
        if not logo:
            return ""
        path = Path(logo).expanduser()
        if not path.is_absolute() and self.settings.source != "<defaults>":
            path = Path(self.settings.source).resolve().parent / path
        if not path.is_file():
            log.warning("[branding] logo %s not found: showing the library name only", path)
            return ""
        return str(path)

    def _wire(self) -> None:
        """settings -> devices -> service; every device event becomes a service intent."""
        from kiosk.hardware.scanner_filter import ScanFilter

        self._door = LatestOnly(self.render, min_interval=RENDER_INTERVAL_S)
        self._intents = IntentQueue()
        if self.devices is None:
            from kiosk.hardware import open_devices

            self.devices = open_devices(self.settings)
            self._owned.append(self.devices)
        if self._service_factory is not None:
            self.service = self._service_factory(self._door.post)
        else:
            self.service = self._build_service(self._door.post)
        self._owned.insert(0, self.service)
        self._owned.insert(0, self._intents)
        d = self.devices
        d.card_reader.when_card = self._card_tapped
        d.tag_reader.when_tag_present = self.service.tag_seen
        d.tag_reader.when_tag_removed = self.service.item_removed
        d.scanner.when_scan = self._code_scanned
        scanner = getattr(self.settings, "scanner", None)
        self._scan_filter = ScanFilter(getattr(scanner, "pattern", None) or r"[0-9A-Za-z\-]{3,40}")
        d.start()
        self._tick_ev = Clock.schedule_interval(lambda _dt: self._intents.put(self.service.tick), 1.0)
        self._intents.put(lambda: self._door.post(self.service.view()))
        # Babel's locale data, loaded off the main thread now rather than mid-frame at the
        # first due date a patron sees (kiosk/ui/i18n.py warm_up).
        from kiosk.ui.i18n import warm_up

        threading.Thread(target=warm_up, args=(self.lang,), name="locale-warm-up", daemon=True).start()
        # Staff tools, the after-hours book drop and the appliance services (statistics, monitoring,
        # alerts, gauges): kiosk/screens/staff_mode.py (docs/staff-mode.md).
        from kiosk.screens.staff_mode import StaffMode

        self.staff_mode = StaffMode(self)
        # The patron screens' code now; their widgets and the list's rows while nobody is here.
        from kiosk.ui import prewarm

        self.prewarm = prewarm.for_app(self)
        self.prewarm.start()

    def _build_service(self, listener):  # noqa: ANN001,ANN202
        from kiosk.circulation import Journal, KioskService
        from kiosk.ils.factory import ils_from_settings

        ils = ils_from_settings(self.settings)   # SIP2 or FOLIO ([ils] protocol)
        self._owned.append(ils)
        data = self.settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        # A damaged journal is moved aside and refuses everything: the service goes out of service.
        from kiosk.appliance.clock import TrustedClock

        # Offline rows are flagged on an untrusted clock; the full integrity check runs on the
        # service's worker at once (this is Kivy's main thread), only the header is read here.
        journal = Journal(data / "journal.sqlite3", keep_damaged_aside=True, check_at_open=False,
                          clock=TrustedClock.from_settings(self.settings))
        self._owned.append(journal)
        return KioskService(self.settings, ils, journal, listener, security=self.devices.tag_reader)

    # ------------------------------------------------------------------ device events (any thread)
    def _card_tapped(self, card: str) -> None:
        """A card on the reader: a staff card opens the staff PIN pad, anything else identifies."""
        if self._is_staff_card(card):
            log.info("staff card %s presented", mask(card))
            on_ui(self.enter_staff, card)
            return
        log.info("card %s presented", mask(card))
        self.service.card_presented(card)

    def _code_scanned(self, code: str) -> None:
        """A barcode: a card number while identifying, otherwise an item."""
        view = self.service.view()
        if view.state in (IDLE, IDENTIFYING) and not view.needs_pin:
            self._card_tapped(code)
        elif view.state not in (IDLE, IDENTIFYING, ENDED, OUT_OF_SERVICE):
            self.service.item_seen(code, source="barcode")

    def _is_staff_card(self, card: str) -> bool:
        staff = getattr(self.settings, "staff", None)
        if not getattr(staff, "card_hashes", None):
            return False
        try:
            from kiosk.staff.auth import is_staff_card

            return is_staff_card(staff, card)        # normalised like `kiosk staff hash-card`
        except Exception:  # noqa: BLE001 - a broken staff config must not stop patrons
            log.exception("staff card check failed")
            return False

    # ------------------------------------------------------------------ main-thread UI
    def intent(self, name: str, *args: Any) -> None:
        """A tap on a screen: queue it for the service (never waits on the main thread)."""
        if name not in INTENTS:
            raise ValueError(f"unknown intent {name!r}")
        if self.service is None:
            log.info("intent %s before the service is ready: ignored", name)
            return
        if name == "start":
            self.staff_active = False
        if name == "finish" and args and args[0] == "print" and self.view is not None:
            self._print_receipt(self.view)
        if name == "finish" and args and args[0] == "email" and self.view is not None \
                and self.screen("receipt").send_email(self.view):
            return      # sent on a worker; the session finishes once it is (kiosk/screens/receipt.py)
        self._intents.put(getattr(self.service, name), *args)

    def _check_printer(self) -> None:
        """(intent thread) Ask the printer how it is; a real printer may take a moment to answer."""
        try:
            ok = bool(self.devices.printer.status().ok)
        except Exception:  # noqa: BLE001 - no answer is as good as "not ok"
            log.exception("printer status failed")
            ok = False
        on_ui(lambda: setattr(self.screen("receipt"), "printer_ok", ok))

    def _print_receipt(self, view: SessionView) -> None:
        """Print from the view the patron is looking at, on a worker thread (the printer is slow
        and may fail; a failed receipt never holds up the session)."""
        from datetime import datetime

        from kiosk.hardware import Receipt
        from kiosk.ui.present import receipt_lines

        receipt = Receipt(library_name=self.settings.branding.library_name,
                          lines=tuple(receipt_lines(view, self.lang)), date=datetime.now(),
                          title=tr("Receipt", self.lang), footer=self.settings.receipt.footer)
        printer = self.devices.printer

        def work() -> None:
            try:
                printer.print_receipt(receipt)
            except Exception:  # noqa: BLE001 - HardwareError or a driver bug: log, carry on
                log.exception("receipt printing failed")

        threading.Thread(target=work, name="receipt", daemon=True).start()

    def render(self, view: SessionView) -> None:
        """Draw one session view on every screen (patron data leaves all of them at once)."""
        old = self.view
        self.view = view
        if next_patron_starts(old, view):
            self._reset_patron_choices()
        for cue in cues_between(old, view):
            self.sounds.play(cue)
        self.warning_s = view.warning_s if view.warning_s is not None else -1
        self.offline_text = self._offline_text(view)
        sm = self.root_widget.ids.sm
        target = screen_for(view, self.staff_active)
        if self.staff_mode is not None:               # an open staff page, or returns-only
            target = self.staff_mode.screen_for(view, target)
        self.screen(target)
        if view.state == RECEIPT and (old is None or old.state != RECEIPT) and self._intents is not None:
            self._intents.put(self._check_printer)      # offer "print" only if the printer can
        self.render_screens(view, target)
        self._rendered_frame = Clock.frames
        if sm.current != target:
            sm.current = target
        if self.speech_on:
            self._narrate(view, target)
        working = view.busy or any(i.state == "in_progress" for i in view.items)
        if working and self._spin_ev is None:
            self._spin_ev = Clock.schedule_interval(self._spin, 1 / SPIN_HZ)
        elif not working and self._spin_ev is not None:
            self._spin_ev.cancel()
            self._spin_ev = None

    def _spin(self, dt: float) -> None:
        self.spin_angle = (self.spin_angle + 360 * dt) % 360

    def _offline_text(self, view: SessionView) -> str:
        if (view.online and not view.offline_mode) or view.state == OUT_OF_SERVICE:
            return ""      # out of service: the screen says it once, no banner and chip on top
        policy = self.settings.kiosk.offline_policy
        if policy == "returns+checkouts":
            return tr("The library system is offline. You can still borrow and return; your account is updated later.", self.lang)  # noqa: E501
        if policy == "returns":
            return tr("The library system is offline. Returns still work; borrowing is paused.", self.lang)
        return tr("The library system is offline. Please use the desk.", self.lang)

    # ------------------------------------------------------------------ shutdown
    def on_start(self) -> None:
        """SIGTERM (systemd stop) and SIGINT end the kiosk cleanly; a patron cannot send them."""
        import signal

        def stop(signum, _frame) -> None:  # noqa: ANN001
            log.info("signal %d: stopping", signum)
            self._closing = True
            Clock.schedule_once(lambda _dt: self.stop(), 0)

        try:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        except ValueError:        # not the main thread (embedded use): leave the defaults
            pass

    def on_stop(self) -> None:
        self._closing = True
        if self.narrator is not None:
            self.narrator.speaker.close()
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.staff_mode is not None:     # before the service and journal it shares are closed
            self.staff_mode.close()
        for ev in (self._tick_ev, self._spin_ev):
            if ev is not None:
                ev.cancel()
        for thing in self._owned:
            try:
                thing.close()
            except Exception:  # noqa: BLE001
                log.exception("closing %s failed", type(thing).__name__)
        self._owned.clear()

    use_kivy_settings = False
