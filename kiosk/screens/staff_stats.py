"""Statistics: checkouts, returns, renewals and refusals per day (last 7 days) or per hour."""

from __future__ import annotations

from kivy.metrics import dp
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.screens.base import load_kv
from kiosk.screens.staff_base import Bar, StaffPage, TableRow, clear_and_fill
from kiosk.ui.i18n import format_date, ntr, tr

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
        self.totals = "" if t is None else tr("Last 7 days:", lang) + " " + ", ".join((
            ntr("{n} loan", "{n} loans", t.checkouts, lang), ntr("{n} return", "{n} returns", t.returns, lang),
            ntr("{n} renewal", "{n} renewals", t.renewals, lang),
            ntr("{n} refusal", "{n} refusals", t.refusals, lang)))
        first = tr("Day", lang) if self.view_by == "day" else tr("Hour", lang)
        head = [first, tr("Loans", lang), tr("Returns", lang), tr("Renewals", lang), tr("Refused", lang)]
        # the bar's own axis label: what its length counts (all of a row's transactions)
        rows = [self._row(head, None, header=True, bar_label=tr("All transactions", lang))]
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
    def _row(cells, fraction, header=False, theme=None, bar_label=""):  # noqa: ANN001,ANN205
        row = BoxLayout(size_hint_y=None, height=dp(34 if not header else 30))
        row.add_widget(TableRow([str(c) for c in cells], WIDTHS, header=header,
                                fill_role="background" if header else "surface", height=row.height,
                                size_hint_x=0.8))     # room for "Verlängert", "Devoluciones"
        if fraction is not None:
            row.add_widget(Bar(fraction=fraction, colour=theme.accent, size_hint_x=0.2))
        elif bar_label:
            row.add_widget(TableRow([bar_label], [1.0], header=True, fill_role="background", height=row.height,
                                    size_hint_x=0.2))
        else:
            row.add_widget(BoxLayout(size_hint_x=0.2))
        return row

    def wipe(self) -> None:
        self._result = None


load_kv(__file__)
