"""The demo-only simulation panel: everything a patron's hands (and the night) would do.

Shown only by ``kiosk demo`` in a window, beside (never over) the kiosk screen.  It talks to the
simulated devices exactly as a patron would: a card tap, a tag in the field, a barcode scanned,
an item dropped through the after-hours slot.  Three pages:

* **Cards**: every seeded patron, with the scenario it shows and its PIN (or "no PIN"), and
  whether this kiosk asks for PINs at all;
* **Items**: every seeded item, grouped by scenario (multi-part sets, DVDs, hold shelf, lost,
  withdrawn, other branch...), with its live status in the demo library (read from its database on
  a worker thread every few seconds); tap to place on / lift from the pad;
* **Devices**: a barcode-scanner input, the slot drop for the after-hours book drop, and a
  preview of the last receipt the simulated printer printed.

A search field filters cards and items.  A line above the pages warns when tags are still on the
pad from the previous session (they are stale: the kiosk does not check them out by mistake).
No protocol or business logic here: the panel only pushes simulated hardware.
"""

from __future__ import annotations

import logging
import textwrap
import threading
from typing import Any

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.spinner import Spinner
from kivy.uix.textinput import TextInput
from kivy.uix.togglebutton import ToggleButton

log = logging.getLogger(__name__)

DEMO_STAFF_PIN = "2468"  # config/demo.toml's [staff] pin_hash; the README publishes it
REFRESH_S = 3.0        # live item status: how often the demo library's database is read
MAX_SHOWN = 60         # rows built at once (the search narrows the rest)

# Item groups a trainer looks for, each a test on the library's export row.
ITEM_GROUPS: dict[str, Any] = {
    "All items": lambda it: True,
    "Multi-part sets": lambda it: it.get("parts", 1) > 1,
    "DVDs": lambda it: str(it.get("media", "")).startswith("dvd"),
    "Holds / hold shelf": lambda it: bool(it.get("holds")) or it.get("status") in ("on_hold_shelf", "in_transit"),
    "Lost": lambda it: it.get("status") == "lost",
    "Withdrawn / missing": lambda it: it.get("status") in ("withdrawn", "missing"),
    "Other branch": lambda it: it.get("home_branch") not in (None, "", "MAIN"),
    "On loan": lambda it: it.get("status") == "on_loan",
    "Not for loan / fee": lambda it: it.get("status") == "not_for_loan" or "fee" in str(it.get("scenario", "")),
    "Magazines / audiobooks": lambda it: it.get("media") in ("magazine", "audiobook"),
}


def patron_label(p: dict, asks_pin: bool = False) -> str:
    """What a card button says: name, the PIN truthfully (or that it has none, and what that means
    on a kiosk that asks for PINs), the scenario."""
    pin = f"PIN {p['pin']}" if p.get("pin") else "no PIN"
    # The note goes on the second line: on the first it ran past both edges of the button.
    about = f"{p.get('status', '')}: {p.get('scenario', '')}"
    if asks_pin and not p.get("pin"):
        about = f"cannot sign in here; {about}"
    if len(about) > 46:
        about = about[:45].rstrip() + "\u2026"      # cut visibly, not mid-word without a cue
    return f"{p['name']}  [size=11]{p['card']} - {pin}[/size]\n[size=11]{about}[/size]"


def item_label(it: dict) -> str:
    parts = f" - {it['parts']} parts" if it.get("parts", 1) > 1 else ""
    where = f" - {it['home_branch']}" if it.get("home_branch") not in (None, "", "MAIN") else ""
    return (f"{str(it['title'])[:30]}\n"
            f"[size=11]{it['barcode']} {it.get('media', '')}{parts}{where} - {it.get('status', '')}[/size]")


def matches(row: dict, query: str) -> bool:
    """Case-insensitive search over every text the trainer might type (name, title, barcode...)."""
    if not query:
        return True
    text = " ".join(str(v) for k, v in row.items() if k in (
        "name", "card", "title", "author", "barcode", "scenario", "status", "media", "home_branch")).lower()
    return all(word in text for word in query.lower().split())


def receipt_text(receipt: Any, width: int = 34) -> str:
    """A plain-text preview of a :class:`~kiosk.hardware.records.Receipt` as the printer lays it out."""
    out = [receipt.library_name[:width].center(width)]
    if receipt.title:
        out.append(receipt.title[:width].center(width))
    if receipt.date is not None:
        out.append(receipt.date.strftime("%Y-%m-%d %H:%M").center(width))
    out.append("-" * width)
    for line in receipt.lines:
        out.extend(textwrap.wrap(line, width) or [""])
    if receipt.footer:
        out.append("-" * width)
        out.extend(part.center(width) for part in textwrap.wrap(receipt.footer, width))
    return "\n".join(out)


def _quiet_clipboard_import() -> None:
    """Kivy's text fields look for xclip/xsel and log a CRITICAL banner when neither is installed;
    the panel's search field needs neither, so that import happens with Kivy's logger muted."""
    from kivy.logger import Logger

    if Logger.isEnabledFor(logging.DEBUG):
        return
    level = Logger.level
    Logger.setLevel(logging.CRITICAL + 1)
    try:
        import kivy.core.clipboard  # noqa: F401
    finally:
        Logger.setLevel(level)


class SimPanel(BoxLayout):
    """The panel widget; ``library_db`` is the demo library's LibraryDb (export() = live state)."""

    def __init__(self, app: Any, library_db: Any, devices: Any, settings: Any = None, width: int = 300,
                 library: dict | None = None, **kw: Any) -> None:
        super().__init__(orientation="vertical", size_hint_x=None, width=dp(width), padding=dp(4),
                         spacing=dp(3), **kw)
        self.app, self.db, self.devices, self.settings = app, library_db, devices, settings
        # ``library``: the export read before the app started (kiosk demo prints from it), so the
        # UI thread does not read the database; the worker refreshes it from then on.
        if library is None:
            library = library_db.export() if library_db is not None else {"patrons": [], "items": []}
        self.library: dict = library
        self.placed: dict[str, list[str]] = {}    # barcode -> its tags' uids on the simulated pad
        self.item_buttons: dict[str, ToggleButton] = {}
        self.page = "Cards"
        self._worker: threading.Thread | None = None
        self._wake = threading.Event()
        self._closed = False
        self._demo_pin_ok: bool | None = None
        _quiet_clipboard_import()
        self.add_widget(Label(text="[b]Simulation (demo only)[/b]", markup=True, size_hint_y=None, height=dp(22)))
        self.search = TextInput(hint_text="search cards and items", multiline=False, size_hint_y=None,
                                height=dp(32), write_tab=False)
        self.search.bind(text=lambda *_a: self.show())
        self.add_widget(self.search)
        tabs = BoxLayout(size_hint_y=None, height=dp(32), spacing=dp(2))
        self.tabs: dict[str, ToggleButton] = {}
        for name in ("Cards", "Items", "Devices"):
            t = ToggleButton(text=name, group="simpanel-page", state="down" if name == self.page else "normal",
                             allow_no_selection=False)
            t.bind(on_release=lambda _b, n=name: self.show(n))
            tabs.add_widget(t)
            self.tabs[name] = t
        self.add_widget(tabs)
        self.hint = Label(text="", markup=True, size_hint_y=None, height=0, color=(1, 0.8, 0.3, 1),
                          halign="center", valign="middle", font_size="12sp")
        self.hint.bind(width=lambda w, v: setattr(w, "text_size", (v, None)))
        self.add_widget(self.hint)
        self.scroll = ScrollView(do_scroll_x=False)
        self.col = BoxLayout(orientation="vertical", size_hint_y=None, spacing=dp(3))
        self.col.bind(minimum_height=self.col.setter("height"))
        self.scroll.add_widget(self.col)
        self.add_widget(self.scroll)
        self.group = Spinner(text="All items", values=tuple(ITEM_GROUPS), size_hint_y=None, height=dp(34))
        self.group.bind(text=lambda *_a: self.show())
        self.receipt = Label(text="(no receipt printed yet)", font_name="RobotoMono-Regular", font_size="10sp",
                             size_hint_y=None, halign="left", valign="top")
        self.receipt.bind(texture_size=lambda w, s: setattr(w, "height", max(dp(40), s[1])),
                          width=lambda w, v: setattr(w, "text_size", (v, None)))
        self._receipts_seen = -1
        self.show()
        self._tick = Clock.schedule_interval(self._poll, 1.0)
        self._refresh = Clock.schedule_interval(lambda _dt: self.refresh_library(), REFRESH_S)

    # ----------------------------------------------------------------------------- pages
    def show(self, page: str | None = None) -> None:
        self.page = page or self.page
        for name, tab in self.tabs.items():
            tab.state = "down" if name == self.page else "normal"
        self.col.clear_widgets()
        self.item_buttons = {}
        if self.page == "Cards":
            self._cards()
        elif self.page == "Items":
            self._items()
        else:
            self._devices()

    def _note(self, text: str, height: float = 34) -> None:
        lbl = Label(text=text, markup=True, size_hint_y=None, height=dp(height), font_size="12sp",
                    halign="center", valign="middle")
        lbl.bind(width=lambda w, v: setattr(w, "text_size", (v, None)))
        self.col.add_widget(lbl)

    def _cards(self) -> None:
        asks = bool(self.settings and self.settings.kiosk.require_pin)
        self._note("This kiosk asks for the PIN after the card." if asks else
                   "This kiosk does not ask for PINs ([kiosk] require_pin = false): a card alone identifies.")
        shown = [p for p in self.library.get("patrons", []) if matches(p, self.search.text)]
        for p in shown[:MAX_SHOWN]:
            b = Button(text=patron_label(p, asks), markup=True, size_hint_y=None, height=dp(50), halign="center")
            b.bind(on_release=lambda _b, card=p["card"]: self.devices.card_reader.tap(card))
            self.col.add_widget(b)
        if not shown:
            self._note("No card matches the search.")

    def _items(self) -> None:
        self.col.add_widget(self.group)
        test = ITEM_GROUPS.get(self.group.text, ITEM_GROUPS["All items"])
        shown = [it for it in self.library.get("items", []) if test(it) and matches(it, self.search.text)]
        for it in shown[:MAX_SHOWN]:
            t = ToggleButton(text=item_label(it), markup=True, size_hint_y=None, height=dp(46),
                             state="down" if it["barcode"] in self.placed else "normal")
            t.bind(state=lambda btn, value, item=it: self._flip(item, value))
            self.item_buttons[it["barcode"]] = t
            self.col.add_widget(t)
        if len(shown) > MAX_SHOWN:
            self._note(f"{len(shown) - MAX_SHOWN} more: type in the search field to narrow the list.")
        if not shown:
            self._note("No item matches the search.")
        from kiosk.station.demo import panel_actions  # staff station: blank and barcode-only tags

        for text, action in panel_actions(self.library, self.devices):
            extra = Button(text=text, size_hint_y=None, height=dp(40))
            extra.bind(on_release=lambda _b, act=action: act())
            self.col.add_widget(extra)
        lift = Button(text="Lift everything off the pad", size_hint_y=None, height=dp(40))
        lift.bind(on_release=lambda _b: self.lift_all())
        self.col.add_widget(lift)

    def _devices(self) -> None:
        self._note("[b]Barcode scanner[/b]: type or paste a card or item barcode", 26)
        row = BoxLayout(size_hint_y=None, height=dp(34), spacing=dp(2))
        code = TextInput(hint_text="e.g. 3900000002", multiline=False, write_tab=False)
        scan = Button(text="Scan", size_hint_x=None, width=dp(70))

        def do_scan(*_a: Any) -> None:
            if code.text.strip():
                self.devices.scanner.scan(code.text.strip())
                code.text = ""

        scan.bind(on_release=do_scan)
        code.bind(on_text_validate=do_scan)
        row.add_widget(code)
        row.add_widget(scan)
        self.col.add_widget(row)
        self._note("[b]After-hours book drop[/b]: on the returns-only screen, place an item (Items page), "
                   "then drop it through the slot.  Staff mode > Night returns > Returns only now "
                   "switches a staffed kiosk to the book drop.", 70)
        drop = Button(text="Drop the pad's items through the slot", size_hint_y=None, height=dp(40))
        drop.bind(on_release=lambda _b: self.drop_through_slot())
        self.col.add_widget(drop)
        self._note("[b]Staff mode[/b]: the same as holding the library name for 3 seconds", 26)
        staff = Button(text="Open the staff PIN pad" + (f" (PIN {DEMO_STAFF_PIN})" if self._demo_pin() else ""),
                       size_hint_y=None, height=dp(40))
        staff.bind(on_release=lambda _b: self.app.enter_staff())
        self.col.add_widget(staff)
        self._note("[b]Receipt printer[/b]: the last receipt printed", 26)
        self._receipts_seen = -1
        self.col.add_widget(self.receipt)
        self._update_receipt()

    def _demo_pin(self) -> bool:
        """True when the configured staff PIN is the demo's published one (then the panel says it)."""
        if self._demo_pin_ok is None:
            pin_hash = getattr(getattr(self.settings, "staff", None), "pin_hash", "")
            try:
                from kiosk.staff.auth import verify_secret

                self._demo_pin_ok = bool(pin_hash) and verify_secret(DEMO_STAFF_PIN, pin_hash)
            except Exception:  # noqa: BLE001 - a malformed hash: just do not print a PIN
                self._demo_pin_ok = False
        return self._demo_pin_ok

    # ----------------------------------------------------------------------------- actions
    def _flip(self, item: dict, value: str) -> None:
        barcode, parts = item["barcode"], max(1, int(item.get("parts", 1) or 1))
        if value == "down" and barcode not in self.placed:
            # A multi-part set lies on the pad whole: one tag per part, as in the library.
            self.placed[barcode] = [self.devices.tag_reader.place(barcode, parts_in_item=parts, part_number=n)
                                    for n in range(1, parts + 1)]
        elif value != "down" and barcode in self.placed:
            for uid in self.placed.pop(barcode):
                self.devices.tag_reader.remove(uid)

    def lift_all(self) -> None:
        self.devices.tag_reader.clear()
        self.placed.clear()
        for b in self.item_buttons.values():
            b.state = "normal"

    def drop_through_slot(self) -> None:
        """What a night-time patron does: the item passes the light barrier and leaves the field."""
        sensor = getattr(self.devices, "slot_sensor", None)
        if sensor is None:
            return
        sensor.drop_item(0.05)
        # The item falls into the bin: it leaves the reader's field once the read window is over.
        window = getattr(getattr(self.settings, "bookdrop", None), "read_window_s", 1.5)
        Clock.schedule_once(lambda _dt: self.lift_all(), window + 0.5)

    # ----------------------------------------------------------------------------- live state
    def _poll(self, _dt: float) -> None:
        """Every second, cheap in-memory reads only: the stale-pad hint and the receipt preview."""
        text = self.stale_pad_hint()
        if text != self.hint.text:
            self.hint.text = text
            self.hint.height = dp(32) if text else 0
        self._update_receipt()

    def stale_pad_hint(self) -> str:
        try:
            on_pad = self.devices.tag_reader.inventory()
        except Exception:  # noqa: BLE001 - a simulated reader never fails; a hint is not worth a crash
            return ""
        view = getattr(self.app, "view", None)
        idle = view is None or str(getattr(view, "state", "")) in ("idle", "ended")
        if getattr(self.app, "staff_active", False):
            return ""       # staff mode: the pad is the staff station's, not a patron's leftovers
        if on_pad and idle:
            n = len(on_pad)
            # Not "not checked out": after a borrow they were, and the patron took them home.
            return (f"{n} item{'s' if n != 1 else ''} left on the pad by the last session: lift "
                    f"{'them' if n != 1 else 'it'} in Items, or the next session reads {'them' if n != 1 else 'it'}")
        return ""

    def _update_receipt(self) -> None:
        receipts = getattr(getattr(self.devices, "printer", None), "receipts", None)
        if receipts is None or len(receipts) == self._receipts_seen:
            return
        self._receipts_seen = len(receipts)
        self.receipt.text = receipt_text(receipts[-1]) if receipts else "(no receipt printed yet)"

    def refresh_library(self) -> None:
        """Read the demo library's live state on the panel's one worker thread (one SQLite
        connection for the panel's life); the rows are updated on the UI thread."""
        if self.db is None:
            return
        if self._worker is None:
            self._worker = threading.Thread(target=self._read_loop, name="simpanel-refresh", daemon=True)
            self._worker.start()
        self._wake.set()

    def _read_loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            try:
                library = self.db.export()
            except Exception as exc:  # noqa: BLE001 - the database may be busy; the next round retries
                log.debug("simulation panel: demo library not read: %s", exc)
                continue
            Clock.schedule_once(lambda _dt, lib=library: self._apply(lib))

    def _apply(self, library: dict) -> None:
        self.library = library
        for it in library.get("items", []):
            b = self.item_buttons.get(it["barcode"])
            if b is not None:
                b.text = item_label(it)

    def stop(self) -> None:
        self._tick.cancel()
        self._refresh.cancel()
        self._closed = True
        self._wake.set()


def make_panel(library_db: Any, devices: Any, width: int = 300, settings: Any = None,
               library: dict | None = None):  # noqa: ANN201
    """A factory for KioskApp(side_panel=...): returns a function building the panel widget."""

    def build(app: Any) -> SimPanel:
        panel = SimPanel(app, library_db, devices if devices is not None else app.devices,
                         settings=settings if settings is not None else app.settings, width=width,
                         library=library)
        app.bind(on_stop=lambda *_a: panel.stop())
        return panel

    return build
