"""The staff console: everything the staff screens do, without Kivy.

The touchscreen's staff pages (``kiosk/screens/staff_*.py``) only render what this class hands
back and forward taps to it.  Every call that touches the disk, the library system, a device or
scrypt runs on this console's worker threads; the result comes back as plain data through
``post(callback, result)`` -- the app passes its thread->UI door (:func:`kiosk.ui.door.on_ui`),
tests pass a direct call.  That keeps Kivy's main thread free (notes/common.md rule 3) and lets
the whole console be unit-tested without a window.

Privacy: staff see masked card numbers only (``kiosk.appliance.privacy.mask``); the journal stores a
masked number once a row is settled, and this console masks the unsettled ones too.

What comes back to the pages -- :class:`SaveResult`, :class:`ActionResult`, :class:`Readings`,
:class:`JournalListing`, :class:`StatsResult` -- is defined in :mod:`kiosk.staff.results`.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.appliance.privacy import mask
from kiosk.errors import ConfigError, JournalError
from kiosk.staff.results import (
    ActionResult,
    JournalListing,
    Readings,
    SaveResult,
    StatsResult,
    masked_entry,
)
from kiosk.ui.i18n import N_

log = logging.getLogger(__name__)

# systemd restarts the unit after any exit (Restart=always, systemd/kiosk.service); a distinct code
# tells a restart asked for by staff apart in `journalctl` (75 = EX_TEMPFAIL, sysexits.h).
RESTART_EXIT_CODE = 75
POWEROFF_COMMAND = ("systemctl", "poweroff")

# The keys the staff settings page edits, in the order it shows them.
EDITABLE = ("ils.protocol", "ils.host", "ils.port", "ils.tls", "ils.url", "ils.tenant", "ils.service_point",
            "kiosk.mode", "kiosk.offline_policy", "kiosk.language",
            "receipt.choices", "branding.theme")
# Keys the running kiosk cannot take over without a restart: the library-system connection pool and
# the circulation engine's offline policy are built once at start.
RESTART_KEYS = ("ils.", "kiosk.offline_policy")


def under_systemd(environ: dict[str, str] | None = None) -> bool:
    """True when systemd started this process (it sets INVOCATION_ID for every unit it runs)."""
    env = os.environ if environ is None else environ
    return bool(env.get("INVOCATION_ID") or env.get("NOTIFY_SOCKET"))


def on_raspberry_pi(model_file: str = "/proc/device-tree/model") -> bool:
    try:
        return "Raspberry Pi" in Path(model_file).read_text(errors="replace")
    except OSError:
        return False


def editable_config_path(settings: Any) -> Path:
    """The file staff changes go to.

    A production kiosk edits its own config file.  The demo (simulated hardware) must not rewrite
    the repository's ``config/demo.toml``: it edits a copy in its data directory instead.
    """
    source = Path(settings.source) if settings.source != "<defaults>" else None
    if source is not None and not settings.hardware.simulate:
        return source
    copy_path = Path(settings.data_dir) / "staff-settings.toml"
    if not copy_path.exists():
        copy_path.parent.mkdir(parents=True, exist_ok=True)
        if source is not None and source.is_file():
            shutil.copyfile(source, copy_path)
        else:
            copy_path.write_text("")
        os.chmod(copy_path, 0o600)
    return copy_path


class StaffConsole:
    """What staff can do on the touchscreen.  Construct once per app; ``close()`` on exit.

    ``service`` is the running ``KioskService`` (its ``journal`` and ``ils`` are shared);
    ``bookdrop`` the after-hours controller when one runs.  ``exit_app(code)`` ends the app,
    ``run_command(argv)`` runs a system command (both injectable: tests never power anything off).
    """

    def __init__(self, settings: Any, *, config_path: str | os.PathLike | None = None, devices: Any = None,
                 service: Any = None, bookdrop: Any = None,
                 post: Callable[..., None] | None = None,
                 exit_app: Callable[[int], None] | None = None,
                 run_command: Callable[[Sequence[str]], Any] | None = None,
                 ils_factory: Callable[[Any], Any] | None = None,
                 is_systemd: bool | None = None, is_pi: bool | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.config_path = Path(config_path) if config_path else editable_config_path(settings)
        self.devices = devices
        self.service = service
        self.bookdrop = bookdrop
        self.post = post or (lambda fn, *a: fn(*a))
        self.exit_app = exit_app or (lambda code: log.warning("no exit hook: restart/shut down ignored"))
        self.run_command = run_command or (lambda argv: subprocess.run(list(argv), check=True, timeout=30))
        self.ils_factory = ils_factory
        self.is_systemd = under_systemd() if is_systemd is None else is_systemd
        self.is_pi = on_raspberry_pi() if is_pi is None else is_pi
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="staff")
        self._lock = threading.Lock()
        self._last_card: tuple[str, float] | None = None

    # ------------------------------------------------------------------ plumbing
    def _submit(self, work: Callable[[], Any], callback: Callable[[Any], None] | None,
                failure: Callable[[BaseException], Any] | None = None) -> Future:
        """Run ``work`` on a worker; hand its result (or ``failure(exc)``) to ``callback`` via post."""
        def run() -> Any:
            try:
                result = work()
            except Exception as exc:  # noqa: BLE001 - every failure becomes an answer on the screen
                log.warning("staff action failed: %s", exc, exc_info=not isinstance(exc, ConfigError))
                result = failure(exc) if failure else ActionResult(False, str(exc))
            if callback is not None:
                self.post(callback, result)
            return result
        return self._pool.submit(run)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ settings
    def current_values(self) -> dict[str, Any]:
        """The editable keys' current values (from the running settings; no I/O)."""
        out = {}
        for dotted in EDITABLE:
            section, key = dotted.split(".")
            value = getattr(getattr(self.settings, section), key)
            out[dotted] = list(value) if isinstance(value, list) else value
        return out

    def choices(self, dotted: str) -> tuple[str, ...]:
        from kiosk import config as config_mod

        section, key = dotted.split(".")
        f = {f.name: f for f in dataclasses.fields(config_mod.SECTIONS[section])}[key]
        if dotted == "receipt.choices":
            return ("print", "email", "none")
        return tuple(f.metadata.get("choices") or ())

    def save_settings(self, changes: dict[str, Any], callback: Callable[[SaveResult], None]) -> Future:
        """Validate and write ``changes`` atomically; on success take them over where possible."""
        changes = {k: v for k, v in changes.items() if self.current_values().get(k) != v}

        def work() -> SaveResult:
            from kiosk.staff.settings_edit import apply_changes

            if not changes:
                return SaveResult(True)
            written = apply_changes(self.config_path, changes)
            with self._lock:
                for dotted in changes:
                    section, key = dotted.split(".")
                    setattr(getattr(self.settings, section), key, getattr(getattr(written, section), key))
            restart = any(k.startswith(RESTART_KEYS) for k in changes)
            log.info("staff changed settings: %s%s", ", ".join(sorted(changes)),
                     " (restart needed)" if restart else "")
            return SaveResult(True, changed=tuple(sorted(changes)), restart_needed=restart)

        # The ConfigError names the file first; staff need the key and what was expected.
        return self._submit(work, callback,
                            lambda exc: SaveResult(False, str(exc).replace(f"{self.config_path}: ", "")))

    def candidate_settings(self, changes: dict[str, Any]) -> Any:
        """A copy of the running settings with ``changes`` applied (not written anywhere)."""
        from kiosk.staff.settings_edit import _parse_text

        cand = copy.deepcopy(self.settings)
        for dotted, value in changes.items():
            section, key = dotted.split(".")
            setattr(getattr(cand, section), key, _parse_text(section, key, value))
        return cand

    def test_connection(self, changes: dict[str, Any], callback: Callable[[ActionResult], None]) -> Future:
        """Log in to the library system with the settings on the form (not yet saved)."""
        def work() -> ActionResult:
            cand = self.candidate_settings(changes)
            if getattr(cand.ils, "protocol", "sip2") == "folio" and self.ils_factory is None:
                return self._test_folio(cand)
            if not isinstance(cand.ils.port, int) or not 0 < cand.ils.port < 65536:
                return ActionResult(False, f"port: expected a number from 1 to 65535; got {cand.ils.port!r}",
                                    N_("port: expected a number from 1 to 65535; got {value}"),
                                    {"value": repr(cand.ils.port)})
            factory = self.ils_factory
            if factory is None:
                from kiosk.ils.factory import ils_from_settings

                factory = ils_from_settings
            ils = factory(cand)
            try:
                status = ils.status()
            finally:
                try:
                    ils.close()
                except Exception:  # noqa: BLE001
                    log.debug("closing the test connection failed", exc_info=True)
            where = f"{cand.ils.host}:{cand.ils.port}"
            if not status.online:
                return ActionResult(False, f"{where}: answers but reports itself off-line",
                                    N_("{server}: answers but reports itself off-line"), {"server": where})
            name = f" ({status.library_name})" if getattr(status, "library_name", "") else ""
            return ActionResult(True, f"{where}{name}: online", N_("{server}: online"), {"server": where + name})

        return self._submit(work, callback)

    @staticmethod
    def _test_folio(cand: Any) -> ActionResult:
        """FOLIO: log in, find the service point, probe the permissions (kiosk.folio.doctor)."""
        from kiosk.config.checks import folio_errors
        from kiosk.folio.doctor import check_link

        problems = folio_errors(cand.ils, "settings")
        if problems:
            return ActionResult(False, "; ".join(p.replace("settings: [ils] ", "") for p in problems))
        link = check_link(cand)
        if not link.ok:
            return ActionResult(False, link.short or link.detail)
        return ActionResult(True, link.detail, N_("{server}: online"), {"server": cand.ils.url})

    # ------------------------------------------------------------------ diagnostics
    def note_card(self, card: str) -> None:
        """A card tapped while staff mode is open (any thread): kept masked for the readings."""
        with self._lock:
            self._last_card = (mask(card), self.clock())

    def readings(self) -> Readings:
        """Card, tags and printer as they are now.  Call from a worker (the printer may be slow)."""
        with self._lock:
            card = self._last_card
        tags: list[str] = []
        printer = ""
        if self.devices is not None:
            for t in self.devices.tag_reader.tags:
                tags.append(t.item_id if t.item_id else f"{t.uid}: {t.error or 'unreadable'}")
            try:
                st = self.devices.printer.status()
                # N_(): the diagnostics page shows these words in the kiosk's language
                printer = st.detail or (N_("ok") if st.ok else N_("not ready"))
                if st.paper_out:
                    printer = N_("paper out")
                elif st.paper_low:
                    printer = N_("paper low")
            except Exception as exc:  # noqa: BLE001
                printer = f"no answer: {exc}"
        return Readings(card[0] if card else "",
                        datetime.fromtimestamp(card[1]) if card else None, tuple(sorted(tags)), printer)

    def run_diagnostics(self, callback: Callable[[tuple[list, Readings]], None]) -> Future:
        """``kiosk doctor``'s checks on the app's open devices (never reopened), plus readings."""
        def work() -> tuple[list, Readings]:
            from kiosk.hardware.doctor import run_checks

            # storage: the journal (damaged / lost) and the clock -- the staff message when the
            # kiosk went out of service for a damaged journal (docs/circulation.md)
            return run_checks(self.settings, self.devices, storage=True), self.readings()

        return self._submit(work, callback, lambda exc: ([], self.readings()))

    def refresh_readings(self, callback: Callable[[Readings], None]) -> Future:
        return self._submit(self.readings, callback, lambda exc: Readings())

    def test_print(self, callback: Callable[[ActionResult], None]) -> Future:
        def work() -> ActionResult:
            from kiosk.hardware.records import Receipt

            self.devices.printer.print_receipt(Receipt(
                library_name=self.settings.branding.library_name, title="Test print",
                lines=("This is a test print from staff mode.",), date=datetime.now()))
            return ActionResult(True, "printed")

        return self._submit(work, callback)

    def test_lights(self, callback: Callable[[ActionResult], None], step_s: float = 0.4) -> Future:
        """Each light on in turn, a beep, then all off (the book drop sets them again on its tick)."""
        def work() -> ActionResult:
            ind = self.devices.indicators
            for name in ind.LIGHTS:
                ind.set_light(name, "on")
                time.sleep(step_s)
                ind.set_light(name, "off")
            ind.beep("ok")
            return ActionResult(True, ", ".join(ind.LIGHTS))

        return self._submit(work, callback)

    # ------------------------------------------------------------------ journal
    @property
    def journal(self) -> Any:
        return getattr(self.service, "journal", None)

    def journal_listing(self, callback: Callable[[JournalListing], None]) -> Future:
        def work() -> JournalListing:
            j = self.journal
            if j is None:
                return JournalListing()
            return JournalListing(tuple(masked_entry(r) for r in j.pending(limit=200)),
                                  tuple(masked_entry(r) for r in j.staff_queue()))

        return self._submit(work, callback, lambda exc: JournalListing())

    def sync_now(self, callback: Callable[[ActionResult], None]) -> Future:
        """Replay journaled transactions now (the service's own replay: one at a time per journal)."""
        def work() -> ActionResult:
            if self.service is None:
                return ActionResult(False, "no circulation service")
            report = self.service.sync_journal().result(timeout=120)
            if self.bookdrop is not None:
                self.bookdrop.sync()      # the drop log is reconciled from the journal
            ok = not report.stopped
            fields = {"synced": report.synced, "staff": report.staff, "waiting": report.remaining,
                      "why": report.stopped}
            msgid = (N_("{synced} sent, {staff} to staff, {waiting} waiting ({why})") if report.stopped
                     else N_("{synced} sent, {staff} to staff, {waiting} waiting"))
            return ActionResult(ok, f"synced {report.synced}, to staff {report.staff}, "
                                    f"waiting {report.remaining}" + (f" ({report.stopped})" if report.stopped else ""),
                                msgid, fields)

        return self._submit(work, callback)

    def resolve(self, txn_id: int, note: str, callback: Callable[[ActionResult], None]) -> Future:
        def work() -> ActionResult:
            note_text = " ".join(note.split())
            if not note_text:
                return ActionResult(False, "a note is needed")
            try:
                self.journal.resolve(txn_id, note_text)
            except JournalError as exc:
                return ActionResult(False, str(exc))
            log.info("staff resolved journal entry %d", txn_id)
            return ActionResult(True, f"resolved {txn_id}")

        return self._submit(work, callback)

    # ------------------------------------------------------------------ statistics
    def statistics(self, callback: Callable[[StatsResult], None], days: int = 7,
                   today: date | None = None) -> Future:
        def work() -> StatsResult:
            from kiosk.staff.stats import Stats

            stats = Stats.for_settings(self.settings)
            end = today or date.today()
            start = end - timedelta(days=days - 1)
            return StatsResult(tuple(stats.per_day(start, end)), tuple(stats.per_hour(start, end)),
                               stats.totals(start, end), stats.refusal_reasons(start, end))

        return self._submit(work, callback, lambda exc: StatsResult())

    # ------------------------------------------------------------------ after hours
    def night_start(self) -> datetime:
        """When the last returns-only period began (else 24 hours ago): the report's start."""
        fallback = datetime.fromtimestamp(self.clock()) - timedelta(hours=24)
        if self.bookdrop is None:
            return fallback
        start = None
        previous = ""
        for ts, _kind, detail in self.bookdrop.drop_log.events(0.0, kind="mode"):
            if detail.startswith("returns only") and not previous.startswith("returns only"):
                start = ts
            previous = detail
        return datetime.fromtimestamp(start) if start else fallback

    def morning_report(self, callback: Callable[[Any], None], since: datetime | None = None) -> Future:
        def work() -> Any:
            from kiosk.afterhours.report import build_report

            if self.bookdrop is None:
                return None
            return build_report(self.bookdrop.drop_log, since or self.night_start())

        return self._submit(work, callback, lambda exc: None)

    # ------------------------------------------------------------------ restart / shut down
    def restart(self) -> ActionResult:
        """Exit so the service manager starts the kiosk again (Restart=always)."""
        log.warning("staff asked for a restart")
        self.exit_app(RESTART_EXIT_CODE)
        return ActionResult(True, "restarting" if self.is_systemd else "stopped (no service manager)")

    def shutdown(self) -> ActionResult:
        """Power the Pi off when systemd runs us there; anywhere else (the demo) just stop the app."""
        if self.is_systemd and self.is_pi:
            log.warning("staff asked for a shut down: %s", " ".join(POWEROFF_COMMAND))
            try:
                self.run_command(POWEROFF_COMMAND)
            except Exception as exc:  # noqa: BLE001 - e.g. polkit refused: tell staff, keep running
                log.error("shut down failed: %s", exc)
                return ActionResult(False, str(exc))
            return ActionResult(True, "powering off")
        log.warning("staff asked for a shut down: not a systemd-run Pi, stopping the app only")
        self.exit_app(0)
        return ActionResult(True, "stopped")
