"""The book drop's morning report for staff: every return of the night with its outcome, holds
to shelve, transfers, items that need staff, and the slot's controls (bin emptied, reset a fault,
returns-only now / back to the schedule).  Same data as ``kiosk report returns``."""

from __future__ import annotations

from datetime import datetime

from kivy.metrics import dp
from kivy.properties import BooleanProperty, StringProperty

from kiosk.screens.base import load_kv
from kiosk.screens.staff_base import StaffPage, TableRow, clear_and_fill
from kiosk.ui.i18n import N_, format_date, format_time, ntr, tr

OUTCOMES = {
    "checked_in": N_("checked in"), "queued": N_("waiting for the library system"),
    "journaled": N_("waiting for the library system"), "refused": N_("refused"),
    "unreadable": N_("no readable tag"), "not_ours": N_("not our item"),
    "duplicate": N_("read again (already returned)"), "reading": N_("being read"),
}
ROUTING = {"hold_here": N_("hold: shelve for pickup"), "hold_elsewhere": N_("hold at another branch: send"),
           "transfer": N_("transfer: send home"), "other": N_("see the library system")}


def _item(ln) -> str:  # noqa: ANN001
    return ln.item_id or (f"({ln.uid})" if ln.uid else "\u2014")


def _when(iso: str, lang: str, with_date: bool = False) -> str:
    """A drop's local time (the drop log stores local ISO times) as the staff's language writes it."""
    try:
        when = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return (iso or "").replace("T", " ")[:16]
    if when.tzinfo is not None:
        when = when.astimezone()                      # this kiosk's local time
    text = format_time(when, lang)
    return f"{format_date(when, lang)} {text}" if with_date else text


def _routing(ln, lang: str) -> str:  # noqa: ANN001
    parts = [tr(ROUTING[ln.alert], lang)] if ln.alert in ROUTING else []
    if ln.sort_bin:
        parts.append(tr("bin {bin}", lang, bin=ln.sort_bin))
    if ln.destination:
        parts.append(tr("to {branch}", lang, branch=ln.destination))
    return ", ".join(parts)


class MorningReportScreen(StaffPage):
    summary = StringProperty("")
    status = StringProperty("")
    returns_only = BooleanProperty(False)
    overridden = BooleanProperty(False)
    fault = BooleanProperty(False)
    running = BooleanProperty(False)        # a book drop controller is running

    def refresh(self) -> None:
        drop = self.staff.bookdrop
        self.running = drop is not None
        if drop is not None:
            self.show_drop(drop.view())
        self.console.morning_report(self._loaded)

    def show_drop(self, view) -> None:  # noqa: ANN001 - BookDropView
        lang = self.app.lang
        self.returns_only = bool(view.mode and view.mode.returns_only)
        self.overridden = bool(view.mode and view.mode.reason == "staff")
        self.fault = bool(view.fault)
        cap = f"/{view.bin_capacity}" if view.bin_capacity else ""
        bits = [tr("Returns only", lang) if self.returns_only else tr("Staffed", lang),
                tr("bin {n}", lang, n=f"{view.bin_count}{cap}")]
        if view.bin_full:
            bits.append(tr("bin full", lang))
        if view.fault:
            bits.append(tr("fault: {why}", lang, why=view.fault))
        if view.pending_sync:
            bits.append(tr("{n} waiting to be sent", lang, n=view.pending_sync))
        self.status = "  \u00b7  ".join(bits)

    def _loaded(self, report) -> None:  # noqa: ANN001 - NightReport or None
        lang = self.app.lang
        rows = []
        if report is None:
            self.summary = tr("The book drop has not run on this kiosk yet.", lang)
            clear_and_fill(self.ids.rows, rows)
            return
        c = report.counts
        self.summary = tr("Since {since}:", lang, since=_when(report.since, lang, with_date=True)) + " " + ", ".join((
            ntr("{n} return", "{n} returns", c["drops"], lang),
            ntr("{n} checked in", "{n} checked in", c["checked_in"], lang),
            ntr("{n} waiting", "{n} waiting", c["waiting"], lang),
            ntr("{n} needs staff", "{n} need staff", len(report.failures), lang)))
        time_h, item_h, title_h = tr("Time", lang), tr("Item", lang), tr("Title", lang)

        def section(title: str, lines, cells, widths, heads) -> None:  # noqa: ANN001
            if not lines:
                return
            rows.append(TableRow([f"{title} ({len(lines)})"], [1.0], header=True, fill_role="background",
                                 height=dp(32)))
            rows.append(TableRow(heads, widths, header=True, fill_role="background", height=dp(28)))
            for ln in lines:
                rows.append(TableRow(cells(ln), widths, height=dp(36)))

        def at(ln) -> str:  # noqa: ANN001
            return _when(ln.dropped_at, lang)

        section(tr("Holds to shelve", lang), report.holds,
                lambda ln: [at(ln), _item(ln), ln.title, tr("bin {bin}", lang, bin=ln.sort_bin)
                            if ln.sort_bin else ""], (0.12, 0.2, 0.48, 0.2), [time_h, item_h, title_h, tr("Bin", lang)])
        section(tr("Transfers", lang), report.transfers,
                lambda ln: [at(ln), _item(ln), ln.title, tr("to {branch}", lang, branch=ln.destination)],
                (0.12, 0.2, 0.48, 0.2), [time_h, item_h, title_h, tr("Send to", lang)])
        section(tr("Needs staff", lang), report.failures,
                lambda ln: [at(ln), _item(ln), ln.title,
                            tr(OUTCOMES.get(ln.outcome, ln.outcome), lang)], (0.12, 0.2, 0.38, 0.3),
                [time_h, item_h, title_h, tr("Outcome", lang)])
        section(tr("Waiting for the library system", lang), report.pending,
                lambda ln: [at(ln), _item(ln), ln.title], (0.12, 0.2, 0.68), [time_h, item_h, title_h])
        section(tr("All returns", lang), report.returns,
                lambda ln: [at(ln), _item(ln), ln.title, tr(OUTCOMES.get(ln.outcome, ln.outcome), lang),
                            _routing(ln, lang)], (0.12, 0.18, 0.3, 0.18, 0.22),
                [time_h, item_h, title_h, tr("Outcome", lang), tr("Where it goes", lang)])
        if not report.returns:
            rows.append(TableRow([tr("No returns since then.", lang)], [1.0], height=dp(36)))
        clear_and_fill(self.ids.rows, rows)

    def override(self) -> None:
        self.staff.set_override(None if self.overridden else ("staffed" if self.returns_only else "returns"))
        self.running = True

    def bin_emptied(self) -> None:
        self.staff.bin_emptied()

    def reset_fault(self) -> None:
        self.staff.reset_fault()

    def wipe(self) -> None:
        if "rows" in self.ids:
            self.ids.rows.clear_widgets()


load_kv(__file__)
