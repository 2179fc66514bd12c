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
    _last = None

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
        if self.ids.rv.data != rows:
            self.ids.rv.data = rows

    def wipe(self) -> None:
        self._last = None
        self.greeting_name = ""
        self.holds = []
        self.fines = ""
        self.looking_up = ""
        self.loan_count = 0
        self.ids.rv.data = []


load_kv(__file__)
