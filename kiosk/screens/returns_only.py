"""Returns only (after hours): the book drop's screen.  Nobody identifies; each item dropped in
the slot gets its own answer (returned / not accepted), and a full bin or a fault says so.

Renders :class:`kiosk.afterhours.bookdrop.BookDropView`; the one tap ("Return items") asks the
controller to unlock the hatch.  Items stay on screen only briefly: the next person at the slot
does not see what the previous one returned.
"""

from __future__ import annotations

from datetime import datetime

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.screens.base import KioskScreen, load_kv, speech_switch
from kiosk.ui.i18n import tr
from kiosk.ui.lists import ItemRow
from kiosk.ui.texts import RETURNS_MESSAGES

SHOW_ITEMS_S = 60           # a returned item stays on screen this long
ACCEPTED = ("journaled", "checked_in", "queued", "duplicate")
MESSAGES = RETURNS_MESSAGES      # kiosk/ui/texts.py: shared with speech (kiosk/speech/texts.py)
OPENABLE = ("ready", "door_open", "reading", "accepted", "refused")     # slot.py request_open
LINE_TEXT = {"refused": "item_refused", "unreadable": "item_unreadable", "not_ours": "item_not_ours"}


def message_role(state: str) -> str:
    return {"accepted": "ok", "refused": "fail", "bin_full": "warn", "fault": "warn",
            "offline_closed": "warn"}.get(state, "accent")


class ReturnsOnlyScreen(KioskScreen):
    state = StringProperty("ready")
    role = StringProperty("accent")        # the banner's colour role for the state
    banner_icon = StringProperty("return")
    message_key = StringProperty("returns_only")
    seconds_left = NumericProperty(-1)
    countdown_line = BooleanProperty(False)  # kv: the countdown on a line of its own (not in the tile)
    can_open = BooleanProperty(True)
    has_items = BooleanProperty(False)
    _view = None
    _ev = None
    _shown = None           # what the rows show now: (language, ((drop id, state, title), ...))

    def show_drop(self, view) -> None:  # noqa: ANN001 - BookDropView, on the main thread
        self._view = view
        self.state = view.state
        self.role = message_role(view.state)
        self.banner_icon = {"ok": "done", "fail": "refused", "warn": "needs_staff"}.get(self.role, "return")
        self.message_key = view.message_key or "returns_only"
        self.seconds_left = view.seconds_left if view.seconds_left is not None else -1
        # Enabled in every state in which the book drop takes the tap (kiosk/afterhours/slot.py
        # request_open: it unlocks, or keeps the hatch open longer): before, the button turned
        # disabled while the hatch was open or an item passed and enabled again with the answer,
        # flickering with every item of a stack.
        self.can_open = view.state in OPENABLE
        self._draw()

    def on_enter(self, *_a) -> None:
        if self._ev is None:
            self._ev = Clock.schedule_interval(lambda _dt: self._draw(), 5)

    def on_leave(self, *_a) -> None:
        if self._ev is not None:
            self._ev.cancel()
            self._ev = None

    def message(self, lang: str, key: str | None = None, skip_heading: bool = False) -> str:
        key = key or self.message_key
        happened, todo = MESSAGES.get(key, MESSAGES["returns_only"])
        if skip_heading and key == "returns_only" and todo:
            return tr(todo, lang)
        return f"{tr(happened, lang)} {tr(todo, lang) if todo else ''}".strip()

    def on_kv_post(self, base_widget) -> None:  # noqa: ANN001
        super().on_kv_post(base_widget)
        from kiosk.ui.i18n import LANGUAGE_NAMES
        from kiosk.ui.widgets import KButton

        for code in self.app.settings.kiosk.languages:
            btn = KButton(text=LANGUAGE_NAMES.get(code, code), size_key="font_s", role="plain", fixed_height=dp(52))
            btn.bind(on_release=lambda _b, c=code: self.app.set_language(c))
            self.app.bind(lang=lambda _a, lang, b=btn, c=code: setattr(b, "selected", lang == c))
            btn.selected = self.app.lang == code
            self.ids.langs.add_widget(btn)
        # the home screen's "speech on" switch: a night-time visitor may need it as much
        speech = speech_switch(self.app, size_key="font_s", fixed_height=dp(52), size_hint_x=1.6)
        if speech is not None:
            def place(*_a) -> None:
                if speech.parent is not None:
                    speech.parent.remove_widget(speech)
                (self.ids.speech_row if self.app.portrait else self.ids.langs).add_widget(speech)

            self.app.bind(portrait=place)
            place()
        self.app.theme.bind(large_text=lambda *_a: self._draw(), portrait=lambda *_a: self._draw())

    def _draw(self) -> None:
        box = self.ids.lines
        if self._view is None:
            box.clear_widgets()
            self._shown = None
            self.has_items = False
            return
        lang, now = self.app.lang, datetime.now()
        lines = [ln for ln in self._view.items if (now - ln.dropped_at).total_seconds() < SHOW_ITEMS_S][:4]
        # large text in landscape: no badge -- the icon, the status line and the banner say the
        # same, and its width broke the titles' words ("Unbekannt/es Medium") in the narrow rows
        badges = not (self.app.theme.large_text and not self.app.portrait)
        shown = (lang, badges, tuple((ln.drop_id, ln.state, ln.title) for ln in lines))
        if shown == self._shown:
            return          # the countdown ticks every second: rows rebuilt each time flickered
        self._shown = shown
        box.clear_widgets()
        for ln in lines:
            if ln.state in ACCEPTED:
                state, icon, badge, status = "done", "done", tr("Returned", lang), tr("Thank you.", lang)
            elif ln.state == "reading":
                state, icon, badge, status = "in_progress", "in_progress", "", tr("Reading your item...", lang)
            else:
                state, icon, badge = "refused", "refused", tr("Not accepted", lang)
                happened, todo = MESSAGES[LINE_TEXT.get(ln.state, "item_refused")]
                status = f"{tr(happened, lang)} {tr(todo, lang)}"
            title = ln.title or (tr("Item {id}", lang, id=ln.item_id) if ln.item_id else tr("Unknown item", lang))
            row = ItemRow(title=title, status=status, state=state, tone=state, icon=icon, badge=badge if badges else "",
                          size_hint_y=None, height=dp(72))
            # as tall as its text with a margin (a fixed 72 dp: a refusal's two lines and large
            # text touched the row's frame); the frame is drawn 3 dp inside the row (lists.kv)
            row.ids.body.bind(height=lambda body, h, r=row: setattr(r, "height", max(dp(72), h + dp(28))))
            box.add_widget(row)
        self.has_items = bool(lines)

    def wipe(self) -> None:
        self._shown = None
        if "lines" in self.ids:
            self.ids.lines.clear_widgets()
        self.has_items = False


load_kv(__file__)
