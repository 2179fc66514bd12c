"""Statistics: checkouts, returns, renewals and refusals per day (last 7 days) or per hour."""

from __future__ import annotations

from kivy.metrics import dp
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.screens.base import load_kv
from kiosk.screens.staff_base import Bar, StaffPage, TableRow, clear_and_fill
from kiosk.ui.i18n import format_date, tr

WIDTHS = (0.16, 0.12, 0.12, 0.12, 0.12)


class StaffStatsScreen(StaffPage):
    view_by = StringProperty("day")       # "day" or "hour"
    totals = StringProperty("")
    _result = None

    def refresh(self) -> None:
        self.console.statistics(self._loaded)

    def show(self, view_by: str) -> None:
        self.view_by = view_by
        if self._result is not None:
            self._draw()

    def _loaded(self, result) -> None:  # noqa: ANN001
        self._result = result
        self._draw()

    def _draw(self) -> None:
        r, lang, theme = self._result, self.app.lang, self.app.theme
        t = r.totals
        self.totals = "" if t is None else tr(
            "Last 7 days: {checkouts} loans, {returns} returns, {renewals} renewals, {refusals} refused",
            lang, checkouts=t.checkouts, returns=t.returns, renewals=t.renewals, refusals=t.refusals)
        first = tr("Day", lang) if self.view_by == "day" else tr("Hour", lang)
        head = [first, tr("Loans", lang), tr("Returns", lang), tr("Renewals", lang), tr("Refused", lang)]
        rows = [self._row(head, None, header=True)]
        if self.view_by == "day":
            entries = [(format_date(d.day, lang).rsplit(" ", 1)[0] if lang != "en" else d.day.strftime("%a %d %b"),
                        d.counts) for d in reversed(r.days)]
        else:
            entries = [(f"{h.hour:02d}:00", h.counts) for h in r.hours if h.counts.total or h.counts.refusals]
            if not entries:
                rows.append(TableRow([tr("Nothing recorded yet.", lang)], [1.0], height=dp(36)))
        top = max([c.total + c.refusals for _, c in entries] + [1])
        for label, c in entries:
            rows.append(self._row([label, c.checkouts, c.returns, c.renewals, c.refusals],
                                  (c.total + c.refusals) / top, theme=theme))
        clear_and_fill(self.ids.rows, rows)

    @staticmethod
    def _row(cells, fraction, header=False, theme=None):  # noqa: ANN001,ANN205
        row = BoxLayout(size_hint_y=None, height=dp(34 if not header else 30))
        row.add_widget(TableRow([str(c) for c in cells], WIDTHS, header=header,
                                fill_role="background" if header else "surface", height=row.height,
                                size_hint_x=0.8))     # room for "Verlängert", "Devoluciones"
        if fraction is not None:
            row.add_widget(Bar(fraction=fraction, colour=theme.accent, size_hint_x=0.2))
        else:
            row.add_widget(BoxLayout(size_hint_x=0.2))
        return row

    def wipe(self) -> None:
        self._result = None


load_kv(__file__)
