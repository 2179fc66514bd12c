"""The scripted tour: a whole patron session on simulated hardware against the demo library
system, rendered headless, one PNG per screen shown.

``kiosk demo --tour OUT_DIR`` runs several *passes*, each in its own process (one Kivy App per
process is what Kivy handles reliably): the standard theme and the high-contrast theme at 800x480
(the official 7" display), the portrait 720x1280 layout, and an out-of-service pass with the
library system down.  Each pass identifies with a card and PIN, places three tagged items,
checks out, shows a refusal, prints a receipt, returns the items (one with a hold), opens the
account and renews, lets the idle warning appear, switches language and text size, opens the
staff entry and finally loses the library system.  Screenshots are real pixels (SDL offscreen +
Mesa): ``OUT_DIR/<pass>-NN-<screen>.png``, with ``OUT_DIR/index.html`` to browse them.

It lives in kiosk.ui beside what it drives the app with: :mod:`kiosk.ui.harness` starts the demo
kiosk and :mod:`kiosk.ui.driver` touches, types and takes the screenshots.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

PASSES = {
    # name: (theme, width, height, full script)
    "standard": ("standard", 800, 480, True),
    "high_contrast": ("high_contrast", 800, 480, True),
    "portrait": ("standard", 720, 1280, False),
    "portrait_hd": ("standard", 1080, 1920, False),   # a 21.5" portrait totem
    "out_of_service": ("standard", 800, 480, False),
    "after_hours": ("standard", 800, 480, False),     # returns-only book drop + staff pages
}
# Seconds each pass took on a 2-core machine (for the progress lines; measured, not a promise).
PASS_SECONDS = {"standard": 60, "high_contrast": 60, "portrait": 35, "out_of_service": 10, "after_hours": 5}
TOUR_STAFF_PIN = "2468"
TOUR_LATENCY_MS = 250       # the demo library answers a little slowly so the spinners show


def run_tour(out_dir: Path, config: str | None = None, overrides: list[str] | None = None,
             passes: tuple[str, ...] = tuple(PASSES)) -> int:
    """Run every pass in a fresh process; 0 when all passes completed and wrote screenshots."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.png"):
        old.unlink()
    failed = []
    total = sum(PASS_SECONDS.get(n, 30) for n in passes)
    print(f"tour: {len(passes)} passes, about {round(total / 60 + 0.4)} minutes; screenshots go to {out_dir}",
          file=sys.stderr, flush=True)
    for number, name in enumerate(passes, 1):
        print(f"tour: pass {number} of {len(passes)}: {name.replace('_', ' ')} "
              f"(about {PASS_SECONDS.get(name, 30)} s)...", file=sys.stderr, flush=True)
        cmd = [sys.executable, "-m", "kiosk.ui.tour", "--pass", name, "--out", str(out_dir)]
        if config:
            cmd += ["--config", config]
        for o in overrides or []:
            cmd += ["--set", o]
        t0 = time.monotonic()
        rc = subprocess.call(cmd)
        print(f"tour pass {name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in {time.monotonic() - t0:.1f}s",
              file=sys.stderr)
        if rc != 0:
            failed.append(name)
    shots = sorted(out_dir.glob("*.png"))
    _write_index(out_dir, shots)
    print(f"tour: {len(shots)} screenshots in {out_dir}" + (f"; failed passes: {', '.join(failed)}" if failed else ""))
    return 0 if not failed and len(shots) >= 5 else 1


def _write_index(out_dir: Path, shots: list[Path]) -> None:
    cells = "\n".join(f'<figure><img src="{html.escape(p.name)}" loading="lazy"><figcaption>'
                      f'{html.escape(p.stem)}</figcaption></figure>' for p in shots)
    (out_dir / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>libkiosk tour</title><style>body{font-family:sans-serif;"
        "background:#333;color:#eee}figure{display:inline-block;margin:8px;vertical-align:top}"
        "img{max-width:400px;border:1px solid #888}</style>\n" + cells + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------------ one pass
class Tour:
    """The script of one pass, driving the real app through taps, card taps and tags."""

    def __init__(self, kiosk, out_dir: Path, prefix: str):  # noqa: ANN001 - harness.Kiosk
        self.k = kiosk
        self.d = kiosk.driver
        self.app = kiosk.app
        self.dev = kiosk.devices
        self.out = out_dir
        self.prefix = prefix
        self.n = 0
        self.lib = kiosk.library

    def shot(self, name: str) -> None:
        self.n += 1
        self.d.pump(0.25)
        self.d.settle()              # what a patron sees once layouts and text renders are done
        path = self.d.screenshot(self.out / f"{self.prefix}-{self.n:02d}-{name}.png")
        log.info("screenshot %s", path.name)

    def t(self, msgid: str, **kw: object) -> str:
        from kiosk.ui.i18n import tr

        return tr(msgid, self.app.lang, **kw)

    def tap_text(self, msgid: str, **kw: object) -> None:
        self.d.tap(self.d.button(self.t(msgid, **kw)))

    def state(self) -> str:
        return self.app.view.state if self.app.view is not None else ""

    # choosing demo data by what it is, not by hard-coded numbers
    def patron(self) -> dict:
        return next(p for p in self.lib["patrons"] if p["status"] == "ok" and p.get("pin")
                    and any(h["status"] == "waiting" for h in p["holds"]) and p["loans"])

    def available(self, n: int) -> list[dict]:
        """``n`` items on the shelf, with different titles (a real stack rarely has duplicates)."""
        out: list[dict] = []
        for i in self.lib["items"]:
            if i["status"] == "available" and not i["holds"] and i["parts"] == 1 \
                    and i["home_branch"] == "MAIN" and all(o["title"] != i["title"] for o in out):
                out.append(i)
        return out[:n]

    def held_for_other(self, card: str) -> dict | None:
        return next((i for i in self.lib["items"] if i["status"] == "available" and i["parts"] == 1
                     and any(h.get("card") != card for h in i["holds"])), None)

    def on_loan_with_hold_here(self) -> dict | None:
        return next((i for i in self.lib["items"] if i["status"] == "on_loan" and i["parts"] == 1
                     and i["holds"] and i["holds"][0].get("pickup") == "MAIN"), None)

    def identify(self, card: str, pin: str) -> None:
        self.d.until_screen("identify")
        self.dev.card_reader.tap(card)
        self.d.until(lambda: self.app.view.needs_pin or self.state() in ("identified", "working"),
                     10, "PIN prompt")
        if self.app.view.needs_pin:
            pad = self.d.find(lambda w: type(w).__name__ == "Keypad")[0]
            for i, digit in enumerate(pin):
                if i and pin[i - 1] == digit:
                    self.d.pump(0.4)             # the same key again: wait out its debounce, as a finger does
                self.d.tap(next(b for b in pad.children if getattr(b, "text", None) == digit))
            self.shot("pin")
            self.d.tap(next(b for b in pad.children if getattr(b, "text", None) == self.t("OK")))

    def settled(self, n: int) -> bool:
        items = self.app.view.items
        return len(items) >= n and all(i.state in ("done", "refused", "needs_staff") for i in items)

    def end_and_lift(self) -> None:
        self.d.until_screen("goodbye", 15)
        self.shot("goodbye")
        self.dev.tag_reader.clear()
        self.d.until_screen("home", 15)

    # the script ------------------------------------------------------------------------------
    def borrow(self) -> list[dict]:
        p = self.patron()
        self.shot("home")
        self.tap_text("Borrow")
        self.d.until_screen("identify")
        self.shot("identify")
        self.identify(p["card"], p["pin"])
        self.d.until_screen("items", 15)
        self.shot("items-empty")
        stack = self.available(3)
        for item in stack:
            self.dev.tag_reader.place(item["barcode"])
        self.d.until(lambda: len(self.app.view.items) >= 1, 10, "first item on the list")
        self.shot("items-working")
        self.d.until(lambda: self.settled(3), 30, "three checkouts")
        self.shot("items-done")
        refused = self.held_for_other(p["card"])
        if refused is not None:
            self.dev.tag_reader.place(refused["barcode"])
            self.d.until(lambda: self.settled(4), 30, "the refused item")
            self.shot("items-refused")
        if self.switches:                   # a patron switches contrast and text size mid-session
            self.switch_mid_session("items")
        self.tap_text("Finish")
        self.d.until_screen("receipt", 15)
        self.shot("receipt")
        self.tap_text("Print")
        self.end_and_lift()
        return stack

    switches = False

    def switch_mid_session(self, where: str) -> None:
        """Tap both accessibility switches on the screen shown, audit what is drawn, shoot, and
        switch back: a value read once at build time would show up here (dark text on black)."""
        from kivy.core.window import Window

        from kiosk.ui.audit import audit

        ids = self.app.root_widget.ids
        for switch, label in (("contrast", "contrast"), ("large_text", "contrast-large"),
                              ("contrast", "large"), ("large_text", "back")):
            self.d.tap(ids[switch])
            self.d.pump(0.2)
            self.d.settle()          # a switch's relayout is spread over frames (kiosk/ui/pacing.py)
            hc = self.app.theme.name == "high_contrast"
            found = audit(list(Window.children), Window, minimum_contrast=7.0 if hc else 4.5)
            assert not found, f"{where} after switching to {label}: " + "; ".join(map(str, found[:5]))
            if label != "back":
                self.shot(f"{where}-switched-{label}")

    def speech(self) -> None:
        """The home screen's "speech on" switch (shown when [speech] enabled): on for one session."""
        if not self.app.settings.speech.enabled:
            return
        self.tap_text("Speech off")
        self.d.until(lambda: self.app.speech_on, 5, "speech on")
        self.shot("home-speech-on")
        self.tap_text("Speech on")
        self.d.until(lambda: not self.app.speech_on, 5, "speech off")

    def blocked(self) -> None:
        """A patron who may not borrow (charges over the limit): why, and the one thing to do."""
        p = next((p for p in self.lib["patrons"] if p["status"] == "fines"), None)
        if p is None:
            return
        self.tap_text("Borrow")
        self.identify(p["card"], p.get("pin") or "")
        self.d.until_screen("items", 15)
        self.shot("blocked-patron")
        self.tap_text("Done")
        self.d.until_screen("goodbye", 15)
        self.d.until_screen("home", 15)

    def give_back(self, stack: list[dict]) -> None:
        self.tap_text("Return")
        self.d.until_screen("items")
        extra = self.on_loan_with_hold_here()
        for item in stack + ([extra] if extra else []):
            self.dev.tag_reader.place(item["barcode"])
        self.d.until(lambda: self.settled(len(stack) + (1 if extra else 0)), 30, "returns")
        self.shot("return")
        self.tap_text("Finish")
        self.d.until_screen("receipt", 15)
        self.tap_text("No receipt")
        self.end_and_lift()

    def account(self, wait_warning: bool) -> None:
        p = self.patron()
        self.tap_text("My account")
        self.identify(p["card"], p["pin"])
        self.d.until_screen("account", 15)
        # the showcase shows the account after its titles and due dates have arrived
        self.d.until(lambda: not self.app.view.busy and self.app.view.patron is not None
                     and not self.app.view.patron.details_pending, 20, "account loaded")
        self.shot("account")
        renew = [w for w in self.d.find(lambda w: type(w).__name__ == "KButton" and w.text == self.t("Renew")
                                        and not w.disabled and w.opacity > 0)]
        if renew:
            self.d.tap(max(renew, key=lambda w: w.to_window(*w.pos)[1]))      # the top row: fully in sight
            self.d.until(lambda: any(i.action == "renew" and i.state in ("done", "refused", "needs_staff")
                                     for i in self.app.view.items), 20, "renewal")
            self.shot("account-renewed")
        if wait_warning:
            self.d.until(lambda: self.app.warning_s >= 0, 40, "timeout warning")
            self.shot("timeout-warning")
            self.d.tap(self.d.button(self.t("More time"), root=self.app.root_widget.ids.warning))
            self.d.until(lambda: self.app.warning_s < 0, 5, "warning gone")
        self.tap_text("Done")
        # a loan renewed: the receipt question, as after a checkout (Session._maybe_end)
        self.d.until(lambda: self.d.screen in ("receipt", "goodbye"), 15, "the receipt question or goodbye")
        if self.d.screen == "receipt":
            self.shot("account-receipt")
            self.tap_text("No receipt")
        self.d.until_screen("goodbye", 15)
        self.d.until_screen("home", 15)

    def languages_and_text(self) -> None:
        self.d.tap(self.d.button("Deutsch"))
        self.shot("home-de")
        self.tap_text("Borrow")
        self.d.until_screen("identify")
        self.shot("identify-de")
        self.tap_text("Cancel")
        self.d.until_screen("home", 15)
        self.d.tap(self.app.root_widget.ids.large_text)
        self.shot("home-large-text")
        self.d.tap(self.app.root_widget.ids.large_text)

    def staff(self) -> None:
        self.d.tap(self.app.root_widget.ids.staff_corner, hold=3.3)
        self.d.until_screen("staff")
        self.shot("staff")
        for digit in TOUR_STAFF_PIN:                   # staff mode (kiosk/screens/staff_*.py)
            self.d.tap(self.d.button(digit))
        self.tap_text("OK")
        self.d.until_screen("staff_home", 10)
        self.shot("staff-home")
        for tool, page in (("Settings", "staff_settings"), ("Diagnostics", "staff_diagnostics"),
                           ("Journal", "staff_journal"), ("Statistics", "staff_stats")):
            self.tap_text(tool)
            self.d.until_screen(page)
            self.d.pump(1.0)                           # workers answer (diagnostics: a few checks)
            self.shot(page.replace("_", "-"))
            self.tap_text("Staff home")
        self.station()
        self.tap_text("Back to patron screens")
        self.d.until_screen("home")

    def station(self) -> None:
        """The staff station (kiosk/station/): program a two-part set, then check a shelf."""
        self.tap_text("Tags and shelves")
        self.d.until_screen("staff_station")
        page = self.app.screen("staff_station")
        pad, scanner = self.dev.tag_reader, self.dev.scanner
        item = next(i for i in self.lib["items"] if i["parts"] > 1 and i["status"] == "available")
        scanner.scan(item["barcode"])
        self.d.until(lambda: page.step == "place" and bool(page.item_title), 10, "the item looked up")
        self.shot("staff-station-place")
        first = pad.place_blank()
        self.d.until(lambda: page.desk.view.tags_done >= 1, 10, "part 1 written")
        pad.remove(first)
        second = pad.place_blank()
        self.d.until(lambda: page.desk.view.items_done >= 1, 10, "the set written")
        self.shot("staff-station-done")
        pad.remove(second)
        self.tap_text("Shelf check")
        self.d.until(lambda: page.mode == "shelf", 5, "shelf mode")
        on_loan = next(i for i in self.lib["items"] if i["status"] == "on_loan" and i["parts"] == 1)
        east = next(i for i in self.lib["items"] if i["status"] == "available" and i["home_branch"] != "MAIN")
        fine = self.available(1)[0]
        uids = [pad.place(i["barcode"], isil=self.app.settings.tags.owner_isil) for i in (on_loan, east, fine)]
        uids.append(pad.place_barcode_only(fine["barcode"] + "9"))
        self.d.until(lambda: page.desk.view.seen >= 4, 15, "the stack checked")
        self.shot("staff-station-shelf")
        for uid in uids:
            pad.remove(uid)
        self.tap_text("Staff home")
        self.d.until_screen("staff_home")

    def after_hours(self) -> None:
        """The returns-only screen: one item dropped through the slot, then the morning report."""
        self.d.until_screen("returns_only", 15)
        self.shot("returns-only")
        item = next(i for i in self.lib["items"] if i["status"] == "on_loan" and i["parts"] == 1)
        self.tap_text("Return items")
        uid = self.dev.tag_reader.place(item["barcode"])
        self.d.until(lambda: any(t.uid == uid for t in self.dev.tag_reader.tags), 5, "the tag")
        self.dev.slot_sensor.drop_item(0.05)
        screen = self.app.screen("returns_only")
        self.d.until(lambda: screen.state == "accepted", 20, "the drop accepted")
        self.shot("returns-only-accepted")
        self.dev.tag_reader.remove(uid)
        self.app.enter_staff()
        self.d.until_screen("staff")
        for digit in TOUR_STAFF_PIN:
            self.d.tap(self.d.button(digit))
        self.tap_text("OK")
        self.d.until_screen("staff_home", 10)
        self.tap_text("Night returns")
        self.d.until_screen("morning_report")
        self.d.pump(1.0)
        self.shot("morning-report")

    def offline(self) -> None:
        self.k.server.stop()
        self.tap_text("Return")
        self.d.until_screen("items")
        item = next(i for i in self.lib["items"] if i["status"] == "on_loan" and i["parts"] == 1)
        self.dev.tag_reader.place(item["barcode"])
        self.d.until(lambda: self.settled(1), 40, "an offline return")
        self.d.until(lambda: bool(self.app.offline_text), 10, "offline banner")
        self.shot("offline-return")


def _staff_pin_hash() -> str:
    from kiosk.staff.auth import hash_secret

    return hash_secret(TOUR_STAFF_PIN)


def _pass_main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kiosk.ui.tour")
    ap.add_argument("--pass", dest="pass_name", choices=tuple(PASSES), required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", default=None)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args(argv)
    from kiosk import config as config_mod
    from kiosk.appliance.privacy import setup_logging
    from kiosk.config import DEMO_CONFIG

    setup_logging(os.environ.get("KIOSK_LOG_LEVEL", "WARNING"))
    theme, width, height, full = PASSES[args.pass_name]
    settings = config_mod.load(args.config or DEMO_CONFIG, args.overrides)
    data = Path(tempfile.mkdtemp(prefix=f"kiosk-tour-{args.pass_name}-"))
    from kiosk.ui.harness import demo_ils, prepare_settings, running_app

    prepare_settings(settings, data_dir=data, overrides={
        "kiosk.require_pin": True, "kiosk.session_timeout_s": 32, "kiosk.timeout_warning_s": 22,
        "speech.enabled": True,
        "branding.theme": theme, "kiosk.language": "en", "staff.pin_hash": _staff_pin_hash(),
        **({"kiosk.mode": "returns"} if args.pass_name == "after_hours" else {}),
        **({"kiosk.offline_policy": "none"} if args.pass_name == "out_of_service" else {})})
    out = Path(args.out)
    try:
        with demo_ils(settings, latency_ms=TOUR_LATENCY_MS) as server, \
                running_app(settings, width=width, height=height, server=server) as kiosk:
            tour = Tour(kiosk, out, args.pass_name)
            if args.pass_name == "after_hours":
                tour.after_hours()
                return 0
            if args.pass_name == "out_of_service":
                server.stop()
                tour.shot("home")
                tour.tap_text("Borrow")
                tour.identify(tour.patron()["card"], tour.patron()["pin"])
                tour.d.until(lambda: not tour.app.view.online, 20, "the library system found down")
                tour.shot("identify-library-down")
                tour.tap_text("Cancel")        # the kiosk rests once the patron's session is over
                tour.d.until_screen("out_of_service", 20)
                tour.shot("out-of-service")
                return 0
            tour.switches = args.pass_name in ("standard", "portrait")
            stack = tour.borrow()
            tour.give_back(stack)
            if full or args.pass_name == "portrait_hd":
                tour.blocked()
                tour.speech()
            tour.account(wait_warning=full)
            if full:
                tour.languages_and_text()
                tour.staff()
                tour.offline()
        return 0
    except AssertionError as exc:
        print(f"tour pass {args.pass_name} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(_pass_main())
