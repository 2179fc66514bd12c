"""My account: loans with due dates (renew one or all), holds ready for pickup, charges."""

from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty

from kiosk.screens.base import KioskScreen, load_kv
from kiosk.ui import lists  # noqa: F401  (LoanRow, used by account.kv)
from kiosk.ui.present import fines_text, first_name, hold_titles, loan_rows, lookup_hint


class AccountScreen(KioskScreen):
    greeting_name = StringProperty("")
    holds = ListProperty([])
    fines = StringProperty("")
    loan_count = NumericProperty(0)
    can_renew = BooleanProperty(False)
    busy = BooleanProperty(False)
    looking_up = StringProperty("")     # "Looking up titles..." while account details stream in
    more_above = BooleanProperty(False)  # rows out of sight: the list shows "more" cues
    more_below = BooleanProperty(False)
    cue_height = NumericProperty(0)      # the "more" cues' height (kv: grows with the type)
    cue_strip = NumericProperty(0)       # room kept under the list for the cues while it overflows
    _last = None
    _order: tuple | list = ()           # item ids in the order first shown (see refresh)
    _order_final = False                # ... once the due dates are known (or a renewal started)

    def on_kv_post(self, base_widget) -> None:  # noqa: ANN001
        super().on_kv_post(base_widget)
        from kiosk.ui.lists import watch_scroll

        watch_scroll(self.ids.rv, self)
        self.app.theme.bind(revision=self.refresh)      # row heights follow the type scale

    def page(self, direction: int) -> None:
        from kiosk.ui.lists import page

        page(self.ids.rv, direction)

    def render(self, view) -> None:  # noqa: ANN001
        self._last = view
        patron = view.patron
        if patron is None:
            self.wipe()
            return
        self.greeting_name = first_name(patron.name)
        self.loan_count = len(patron.loans) or patron.loan_count
        self.can_renew = patron.can_renew and bool(patron.loans)
        self.busy = bool(view.busy)
        self.refresh()

    def refresh(self, *_a) -> None:
        view = self._last
        if view is None or view.patron is None:
            return
        lang = self.app.lang
        self.fines = fines_text(view.patron, lang, self.app.settings.branding.currency)
        self.holds = hold_titles(view.patron, lang)
        self.looking_up = lookup_hint(view.patron, lang)
        rows = loan_rows(view.patron, view.items, lang)
        # The order the patron first saw stays put: a renewal moves a loan's due date, and the
        # engine's "overdue first, then by due date" would otherwise move the row under the finger.
        # "First saw" is once the due dates are known: frozen while they were still being looked
        # up, the list kept the library system's barcode order (Dec 14, Dec 28, Dec 8...).
        if not self._order_final:
            self._order = ()
            self._order_final = not view.patron.details_pending or any(i.action == "renew" for i in view.items)
        known = set(self._order)
        order = self._order = list(self._order) + [r["item_id"] for r in rows if r["item_id"] not in known]
        rank = {item_id: i for i, item_id in enumerate(order)}
        rows.sort(key=lambda r: rank[r["item_id"]])
        # Every row gets the height of the tallest: a list of rows of one height reads as a list
        # (QA: measured heights differing by a few pixels looked like a rendering fault).
        width = self.ids.rv.width
        renew = self._renew_width(lang)
        height = max((self._row_height(row, width, renew) for row in rows), default=0)
        for row in rows:
            row["height"] = height
            row["renew_width"] = renew
        if self.ids.rv.data != rows:
            self.ids.rv.data = rows

    def _renew_width(self, lang: str) -> float:
        """The Renew button as wide as its word needs (German "Verlängern" in portrait large text
        broke inside the word in the fixed 180 dp), and never narrower than before."""
        from kivy.core.text import Label as CoreLabel
        from kivy.metrics import dp

        from kiosk.ui.i18n import tr

        theme = self.app.theme
        word = CoreLabel(font_size=theme.font_m, bold=True).get_extents(tr("Renew", lang))[0]
        return max(dp(180) if theme.large_text else dp(150), word + dp(28) + dp(12))   # KButton padding

    def _row_height(self, row: dict, width: float, renew: float) -> float:
        """Room for the wrapped title and the due line (a RecycleView row cannot measure itself):
        Kivy lays the texts out at the row's real text width (``render()`` without ``real`` lays
        out lines and draws no texture), so a title that fits one line gets one line."""
        from kivy.core.text import Label as CoreLabel
        from kivy.metrics import dp

        theme = self.app.theme
        # lists.kv LoanRow: padding 12 + 12, spacing 10, the Renew button; the due line's icon 22 + 6
        text_w = max(100.0, width - dp(24) - dp(10) - renew)

        def height(text: str, size: float, bold: bool, w: float) -> float:
            if not text:
                return 0.0
            label = CoreLabel(text=text, font_size=size, bold=bold, text_size=(w, None))
            label.resolve_font_name()
            return float(label.render()[1])

        due = "  ·  ".join(t for t in (row["due"], row["status"]) if t)
        title_h = height(row["title"], theme.font_m, True, text_w)
        due_h = max(dp(24), height(due, theme.font_s, bool(row["overdue"]),
                                   text_w - dp(6) - (dp(22) if row.get("icon") else 0)))
        return max(dp(60), title_h + due_h + dp(22))

    def wipe(self) -> None:
        self._last = None
        self.greeting_name = ""
        self.holds = []
        self.fines = ""
        self.looking_up = ""
        self.loan_count = 0
        self._order, self._order_final = (), False
        self.ids.rv.data = []
        self.ids.rv.scroll_y = 1             # the next patron's list starts at the top


load_kv(__file__)
