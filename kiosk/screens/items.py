"""Items: the live list of a borrow or return session, one row per item the moment it is seen."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import BooleanProperty, DictProperty, NumericProperty, StringProperty

from kiosk.screens.base import KioskScreen, load_kv
from kiosk.ui import (
    lists,  # noqa: F401  (ItemRow, used by items.kv)
    pacing,
)
from kiosk.ui.present import blocked_text, counts, first_name, item_rows
from kiosk.ui.texts import REASONS

# New rows shown per frame.  Each new row on screen costs its kv rules, ~8 box layouts and 3-4
# text renders (~3 ms on this x86 machine, ~10 ms on a Raspberry Pi 4 core): a stack read at once
# put 3 of them in one frame -- the busiest of a checkout on a Pi's CPU (issue 19).  At one a
# frame the items appear one after another (0.7 s for 20 at 30 fps), as on commercial kiosks.
NEW_ROWS_PER_FRAME = 1
# The newest item is the top row (NEWEST_FIRST): the row a patron just put down appears where the
# eye already is, and nothing on the list moves.  With the newest at the bottom, every new row
# moved every row above it (Kivy's vertical RecycleBoxLayout places rows from its top edge, so a
# taller list shifts them all): their canvas and box layouts ran again and the list scrolled --
# ~30 % of the kv rule evaluations and box layouts of a 20-item stack (issue 19).


class ItemsScreen(KioskScreen):
    mode = StringProperty("borrow")
    greeting_name = StringProperty("")
    tally = DictProperty({"done": 0, "refused": 0, "needs_staff": 0, "working": 0})
    has_items = BooleanProperty(False)
    busy = BooleanProperty(False)
    blocked_key = StringProperty("")    # why this patron may not borrow ("fines", "card_expired"...)
    notice_key = StringProperty("")     # a message for this session ("finish_first")
    more_above = BooleanProperty(False)  # rows out of sight: the list shows "more" cues
    more_below = BooleanProperty(False)
    cue_height = NumericProperty(0)      # the "more" cues' height (kv: grows with the type)
    cue_strip = NumericProperty(0)       # room kept under the list for the cues while it overflows
    blocked_why = StringProperty("")
    blocked_todo = StringProperty("")
    _last = None
    _fed_frame = -1                      # the frame that last got a new row (NEW_ROWS_PER_FRAME)
    _refreshed: tuple = ()               # what the rows were last built from (refresh)
    _rows_waiting = False                # rows of a stack still to come, one a frame

    def __init__(self, **kw) -> None:  # noqa: ANN003
        # Row heights follow the type scale and the list's width.  A theme switch or a resize
        # asks for one refresh before the next frame (it came three times in the frame of a
        # large-text switch: the theme, the re-render and the width); a render does it at once.
        self.refresh_soon = Clock.create_trigger(self.refresh, -1)
        # ... and after a theme switch, in the frame after the switch's own (kiosk/ui/pacing.py)
        self.refresh_next_frame = Clock.create_trigger(self.refresh, 0)
        super().__init__(**kw)

    def on_kv_post(self, base_widget) -> None:  # noqa: ANN001
        super().on_kv_post(base_widget)
        from kiosk.ui.lists import KeyedRowAdapter

        self.ids.rv.view_adapter = KeyedRowAdapter(key="item_id")
        self.ids.rv.wait_for = (self.refresh_soon,)     # a width change builds the rows again: once
        self.app.theme.bind(button_revision=self.refresh_next_frame)   # the rows: a switch's last stage
        from kiosk.ui.lists import watch_scroll

        watch_scroll(self.ids.rv, self)

    def render(self, view) -> None:  # noqa: ANN001
        if view.state not in ("identified", "working", "receipt"):
            self.wipe()              # the session is over: nothing of it stays in the widgets
            return
        self._last = view
        self.mode = view.mode or "borrow"
        self.greeting_name = first_name(view.patron.name) if view.patron else ""
        self.tally = counts(view.items)
        self.has_items = bool(view.items)
        self.busy = bool(view.busy) or self.tally["working"] > 0
        patron = view.patron
        self.blocked_key = ""
        if patron is not None and self.mode == "borrow" and not patron.can_checkout:
            specific = [k for k in patron.block_keys if k != "patron_blocked"]
            self.blocked_key = specific[0] if specific else (view.message_key if view.message_key in REASONS
                                                             else "patron_blocked")
        self.notice_key = "finish_first" if view.message_key == "finish_first" else ""
        self.refresh()

    def refresh(self, *_a) -> None:
        self.refresh_soon.cancel()
        self.refresh_next_frame.cancel()
        if pacing.switching():                  # a theme switch's stages fill these frames: rows after
            self.refresh_next_frame()
            return
        view = self._last
        # what the rows are built from: their colours are the kv rules' (a contrast switch builds
        # nothing here); their heights follow the type scale, whose last stage is button_revision
        inputs = (id(view), self.ids.rv.width, self.app.lang, self.blocked_key, self.app.theme.button_revision)
        if inputs == self._refreshed and (not self._rows_waiting or self._fed_frame == Clock.frames):
            # Asked again with nothing new (a render, the rows' trigger and a width change landed
            # in one long frame: three times, on a Pi-class CPU): the rows are already right -- or
            # this frame has had its new row of a stack and the next one comes next frame.
            if self._rows_waiting:
                self.refresh_next_frame()
            return
        self._refreshed, self._rows_waiting = inputs, False
        if view is not None and self.blocked_key:
            self.blocked_why, self.blocked_todo = blocked_text(
                view.patron, self.blocked_key, self.app.lang, self.app.settings.branding.currency)
        else:
            self.blocked_why = self.blocked_todo = ""
        rows = item_rows(view.items, self.app.lang) if view is not None else []
        rv = self.ids.rv
        shown = {r["item_id"] for r in rv.data}
        fresh = [r["item_id"] for r in rows if r["item_id"] not in shown]
        room = NEW_ROWS_PER_FRAME if self._fed_frame != Clock.frames else 0   # a render and a
        if len(fresh) > room:                                                  # refresh may share a frame
            # A stack read at once: its rows come in one a frame, not all in one frame
            allowed = shown.union(fresh[:room])
            rows = [r for r in rows if r["item_id"] in allowed]
            self._rows_waiting = True
            self.refresh_next_frame()
        if fresh and room:
            self._fed_frame = Clock.frames
        badge_width = self._badge_column(rows)
        for row in rows:
            row["height"] = self._row_height(row, rv.width)
            row["badge_width"] = badge_width
        rows.reverse()                          # NEWEST_FIRST
        if rv.data != rows:
            rv.data = rows
            Clock.schedule_once(self._show_newest, 0)   # the frame after: its layout has the new row

    def _badge_column(self, rows: list[dict]) -> float:
        """One width for every row's badge: the widest word this mode's lines can end in ("Not
        possible" as well as "Borrowed"), and any other on the list.  A badge as wide as its own
        word was 0 while the library system worked, so the title and the status sentence were laid
        out again, at a narrower width, the moment it appeared; a column as wide as the words on
        the list widened when the first refusal came, and every row shown was laid out again in
        that frame -- 13 label layouts at once (issue 19)."""
        from kivy.metrics import dp

        from kiosk.ui.present import badge_words
        from kiosk.ui.textfit import word_width

        size = self.app.theme.font_s
        words = set(badge_words(self.mode, self.app.lang)) | {r["badge"] for r in rows if r.get("badge")}
        return max(word_width(w, size, True) for w in words) + dp(20)

    def _row_height(self, row: dict, width: float) -> float:
        """Room for the title and the status sentence, estimated from their length (a row of a
        RecycleView cannot measure itself; an average glyph is ~0.55 em wide in Roboto)."""
        import math

        from kivy.metrics import dp

        theme = self.app.theme
        text_w = max(100.0, width - dp(44) - dp(150))       # icon, paddings, badge
        def lines(text: str, size: float, bold: bool) -> int:
            per_line = max(8, int(text_w / (size * (0.6 if bold else 0.55))))
            return max(1, math.ceil(len(text) / per_line))
        instruction_size = theme.font_m if row.get("stands_out") else theme.font_s
        body = lines(row["title"], theme.font_m, True) * theme.font_m * 1.25 \
            + (lines(row["status"], theme.font_s, False) * theme.font_s * 1.25 if row["status"] else 0) \
            + (lines(row.get("instruction", ""), instruction_size, bool(row.get("stands_out")))
               * instruction_size * 1.25 if row.get("instruction") else 0)
        return max(dp(64), body + dp(22))

    def page(self, direction: int) -> None:
        from kiosk.ui.lists import page

        page(self.ids.rv, direction)

    def _show_newest(self, _dt) -> None:  # noqa: ANN001
        """Keep the newest item (the top row) in sight once the list is taller than the screen."""
        rv = self.ids.rv
        if rv.children and rv.children[0].height > rv.height:
            rv.scroll_y = 1

    def wipe(self) -> None:
        self._last = None
        self._refreshed = ()
        self.greeting_name = ""
        self.ids.rv.data = []
        self.ids.rv.scroll_y = 1             # the next patron's list starts at the top
        self.has_items = False
        self.blocked_key = self.notice_key = self.blocked_why = self.blocked_todo = ""


load_kv(__file__)
