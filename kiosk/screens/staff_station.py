"""Staff station page: program RFID tags (conversion) and check shelves (inventory).

Renders the :class:`~kiosk.station.desk.DeskView` snapshots of a :class:`StationDesk` and forwards
scans, tags and taps to it; the desk does the reader, library-system and SQLite work on its own
worker (kiosk/station/).  Staff mode routes scanned codes and pad events here while this page is
open (``StaffMode.station_listener``).
"""

from __future__ import annotations

from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.screens.base import load_kv
from kiosk.screens.staff_base import StaffPage, TableRow, clear_and_fill
from kiosk.ui.i18n import N_, tr

MESSAGES = {
    "scan_first": N_("Scan the item's barcode, or place an item whose tag holds its barcode"),
    "looking_up": N_("Looking up the item in the library system"),
    "place_part": N_("Place the item on the pad"),
    "writing": N_("Writing the tag. Keep the item still"),
    "done": N_("Done: written and verified. Scan the next item"),
    "done_next_part": N_("Part done. Place the next part on the pad"),
    "no_tag": N_("No tag on the pad"),
    "two_tags": N_("More than one tag on the pad: leave only the item to program"),
    "tag_gone": N_("The tag left the pad: place it again"),
    "locked": N_("The tag is locked (read-only): use a new tag"),
    "other_item": N_("This tag holds another item: overwrite it?"),
    "other_part": N_("This tag holds another part of this item: overwrite it?"),
    "unknown_item": N_("The library system does not know this barcode"),
    "too_small": N_("The tag's memory is too small for this data model: use a larger tag"),
    "plan_error": N_("This item cannot be written in the configured tag data model"),
    "write_failed": N_("Writing failed after several tries: move the item and try again, or use a new tag"),
    "verify_failed": N_("The tag did not read back as written: use a new tag"),
    "already_programmed": N_("This tag is already programmed"),
    "tag_unreadable": N_("The tag data cannot be read: scan the barcode to reprogram it"),
    "library_down": N_("The library system cannot be reached"),
    "station_error": N_("Something went wrong"),
    "shelf_ready": N_("Place items or scan barcodes, shelf by shelf"),
    "shelf_ok": N_("Nothing to do for this item"),
    "needs_action": N_("This item needs action (listed below)"),
    "checked_in": N_("Checked in"),
    "checkin_refused": N_("Not checked in"),
}
OFFERS = {"check_in": N_("Check it in"), "reprogram": N_("Reprogram the tag")}
FINDINGS = {
    "not_in_library": N_("Not in the library system"),
    "checked_out": N_("Checked out: check it in"),
    "lost": N_("Marked lost: check it in"),
    "missing": N_("Marked missing: check it in"),
    "claimed_returned": N_("Claimed returned: check it in"),
    "withdrawn": N_("Withdrawn: take it off the shelf"),
    "in_transit": N_("In transit: check it in"),
    "hold_waiting": N_("Hold waiting: put it on the hold shelf"),
    "hold_requested": N_("Hold requested: pull it"),
    "other_branch": N_("Other branch: send it there"),
    "security_off": N_("Security off: secure the tag"),
    "tag_unreadable": N_("Tag unreadable: reprogram it"),
    "old_model": N_("Old tag data: reprogram it"),
}
MEDIA = {"001": N_("Book"), "002": N_("Magazine"), "003": N_("Bound journal"), "004": N_("Audio tape"),
         "005": N_("Video tape"), "006": N_("CD or DVD"), "000": N_("Other")}
WIDTHS = (0.17, 0.1, 0.24, 0.49)


class StaffStationScreen(StaffPage):
    mode = StringProperty("program")
    step = StringProperty("scan")
    message = StringProperty("")
    detail = StringProperty("")
    outcome = StringProperty("")             # "ok", "fail" or "" (colours the message)
    item_title = StringProperty("")
    item_line = StringProperty("")
    part_line = StringProperty("")
    counters = StringProperty("")
    shelf = StringProperty("1")
    shelf_counters = StringProperty("")
    typing = StringProperty("")             # "barcode" / "shelf" while the keyboard shows
    edit_text = StringProperty("")
    confirm = BooleanProperty(False)
    need_action = NumericProperty(0)
    offer = StringProperty("")              # the button text of the shelf check's offer ("" hidden)

    desk = None

    # ------------------------------------------------------------------ life cycle
    def refresh(self) -> None:
        self.typing = ""
        if self.desk is None:
            self.desk = self._make_desk()
            self.desk.open(self.mode)
            for tag in self.app.devices.tag_reader.tags:     # memory only: what the pad holds now
                self.desk.tag_present(tag)
        if self.app.staff_mode is not None:
            self.app.staff_mode.station_listener = self.desk

    def on_leave(self, *_a) -> None:
        if self.app.staff_mode is not None and self.app.staff_mode.station_listener is self.desk:
            self.app.staff_mode.station_listener = None

    def wipe(self) -> None:
        """Staff mode ended: close the desk (off the main thread) and forget what was shown."""
        desk, self.desk = self.desk, None
        staff = self.app.staff_mode
        if staff is not None and staff.station_listener is desk:
            staff.station_listener = None
        if desk is not None:
            self.app._intents.put(desk.close)
        self.mode, self.message, self.detail, self.item_title, self.item_line = "program", "", "", "", ""
        self.part_line = self.counters = self.shelf_counters = ""
        if "rows" in self.ids:
            self.ids.rows.clear_widgets()

    def _make_desk(self):  # noqa: ANN202 - a StationDesk
        from kiosk.station.desk import StationDesk
        from kiosk.ui.door import on_ui

        app = self.app

        def factory():  # noqa: ANN202 - runs on the desk's worker: SQLite and the ILS pool
            from kiosk.station.service import Station, new_session_id

            return Station(app.settings, app.devices.tag_reader, ils=app.service.ils,
                           staff_session=new_session_id("staff"))

        def cue(name: str) -> None:
            on_ui(self._cue, name)

        return StationDesk(factory, lambda view: on_ui(self.show, view), cue=cue)

    def _cue(self, name: str) -> None:
        sounds = getattr(self.app, "sounds", None)
        if sounds is not None:
            sounds.play(name)
        try:
            self.app.devices.indicators.beep({"success": "ok", "failure": "error"}.get(name, "attention"))
        except Exception:  # noqa: BLE001 - a missing buzzer never stops the station
            pass

    # ------------------------------------------------------------------ intents (taps)
    def choose(self, mode: str) -> None:
        self.mode = mode
        if self.desk is not None:
            self.desk.set_mode(mode)

    def type_text(self, what: str) -> None:
        self.typing, self.edit_text = what, ""

    def on_key(self, key: str) -> None:
        if key == "back":
            self.edit_text = self.edit_text[:-1]
        elif key == "done":
            text, what, self.typing = self.edit_text.strip(), self.typing, ""
            if text and self.desk is not None:
                if what == "shelf":
                    self.desk.set_shelf(text)
                else:
                    self.desk.scanned(text)
        elif len(self.edit_text) < 32:
            self.edit_text += key.upper() if self.typing == "shelf" else key

    # ------------------------------------------------------------------ rendering
    def show(self, view) -> None:  # noqa: ANN001 - kiosk.station.desk.DeskView
        lang = self.app.lang
        staff = self.app.staff_mode
        if staff is not None and staff.logged_in and self.desk is not None:
            staff.touched()     # scanning and placing items is work too: no idle logout mid-batch
        self.mode, self.step = view.mode, view.step
        self.confirm = view.step == "confirm"
        self.outcome = "ok" if view.ok else "fail" if view.ok is False else ""
        key = view.message
        if key == "place_part" and view.parts > 1:
            self.message = tr("Place part {part} of {parts} on the pad", lang, part=view.part, parts=view.parts)
        elif key == "done_next_part":
            self.message = tr("Part done. Place part {part} of {parts} on the pad", lang, part=view.part,
                              parts=view.parts)
        elif key in ("other_item", "other_part") and view.old_item_id:
            self.message = tr("This tag holds item {item}: overwrite it?", lang, item=view.old_item_id)
        else:
            self.message = tr(MESSAGES.get(key, key), lang)
        self.detail = view.detail if key in ("unknown_item", "already_programmed", "station_error", "library_down",
                                             "write_failed", "verify_failed", "locked", "plan_error", "too_small",
                                             "shelf_ok", "needs_action", "looking_up", "checked_in",
                                             "checkin_refused") else ""
        item = view.item
        if item is not None:
            self.item_title = item.title or item.item_id
            parts = tr("{n} parts", lang, n=item.parts) if item.parts > 1 else tr("1 part", lang)
            media = tr(MEDIA.get(item.media_type, "Other"), lang)
            self.item_line = "  \u00b7  ".join(x for x in (item.item_id, media, parts, item.home_branch) if x)
            self.part_line = tr("Tag data model {model}", lang, model=view.model) if view.model else ""
        else:
            self.item_title = self.item_line = self.part_line = ""
        self.counters = tr("Tags written: {tags}  \u00b7  Items done: {items}", lang, tags=view.tags_done,
                           items=view.items_done)
        if view.items_done > 1:
            self.counters += "  \u00b7  " + tr("{rate} items a minute", lang, rate=f"{view.rate:.0f}")
        if view.parts > 1 and view.step in ("place", "writing", "confirm"):
            self.part_line = tr("Part {part} of {parts}", lang, part=view.part, parts=view.parts) + (
                "  \u00b7  " + self.part_line if self.part_line else "")
        self.shelf = view.shelf
        self.offer = tr(OFFERS[view.offer], lang) if view.offer in OFFERS else ""
        self.need_action = view.need_action
        self.shelf_counters = tr("Checked: {seen}  \u00b7  Need action: {n}", lang, seen=view.seen,
                                 n=view.need_action)
        if view.seen > 1:
            self.shelf_counters += "  \u00b7  " + tr("{rate} items a minute", lang, rate=f"{view.shelf_rate:.0f}")
        if view.mode == "shelf" and "rows" in self.ids:
            head = [tr("Item", lang), tr("Shelf", lang), tr("Title", lang), tr("What to do", lang)]
            rows = [TableRow(head, WIDTHS, header=True, fill_role="background", height=dp(28))]
            for r in view.exceptions:
                todo = "; ".join(tr(FINDINGS.get(f.code, f.text), lang) for f in r.findings)
                row = TableRow([r.item_id or r.uid, r.shelf, r.title, todo], WIDTHS, fill_role="warn",
                               height=dp(36))
                for cell in row.children:          # the warn fill's own ink: readable in high contrast
                    cell.ink_role = "warn_ink"
                rows.append(row)
            if not view.exceptions:
                rows.append(TableRow([tr("Nothing needs action so far.", lang)], [1.0], height=dp(36)))
            clear_and_fill(self.ids.rows, rows)


load_kv(__file__)
