"""Offline journal and staff queue: what waits to be sent, what needs a person; sync now,
resolve with a note.  Card numbers are masked; no names are ever stored or shown."""

from __future__ import annotations

from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from kiosk.screens.base import load_kv
from kiosk.screens.staff_base import NoteRow, StaffPage, TableRow, clear_and_fill
from kiosk.ui.i18n import N_, tr
from kiosk.ui.texts import REASONS
from kiosk.ui.widgets import KButton

# Nouns, not the patron screens' "Return" button (a verb there; the patron catalog wins on a shared msgid).
KINDS = {"checkout": N_("Loan"), "checkin": N_("Check-in"), "renew": N_("Renewal")}
STAFF_REASONS = {
    "unconfirmed_checkout": N_("Loan not confirmed: check the patron's account"),
    "return_unconfirmed": N_("Return not confirmed: check the item in by hand"),
    "renewal_unconfirmed": N_("Renewal not confirmed: check the due date"),
    "clock_untrusted": N_("Sent without its date (the kiosk's clock was not set): check the dates"),
}
# The pending rows' journal states (kiosk.circulation.journal) in words, not the database's keys.
STATES = {"queued": N_("Queued"), "replaying": N_("Being sent"), "unknown": N_("Outcome unknown")}
NOTES = (N_("Checked at the desk"), N_("Fixed in the library system"), N_("Item not found"))
# Needs staff: When, What, Item, Card, Due date on the row; under it the problem in words and the
# Resolve button (beside the five cells, the button left them too narrow: every cell was cut short).
WIDTHS = (0.18, 0.16, 0.22, 0.18, 0.26)
# Waiting to be sent: the same, and the state
PENDING_WIDTHS = (0.16, 0.13, 0.19, 0.16, 0.22, 0.14)
RESOLVE_W = 136      # dp: "Erledigen" in large text


def short_date(iso: str, lang: str) -> str:
    """An ISO date as the staff's language writes it short ("12/24/26", "24.12.26"); other text as it is."""
    from datetime import date

    try:
        day = date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    from babel import Locale
    from babel.dates import format_date

    return format_date(day, format="short", locale=Locale.parse(lang))


def when_words(when: str, lang: str, today: str) -> str:
    """"HH:MM" for today's entries, the day and the time for older ones ("12/5 19:32", "5.12. 19:32";
    with the year when it is not this one): an entry waiting since yesterday must not read as today's."""
    if when[:10] == today:
        return when[11:]
    from datetime import date

    try:
        day = date.fromisoformat(when[:10])
    except ValueError:
        return when
    if when[:4] != today[:4]:
        return f"{short_date(when[:10], lang)} {when[11:]}"
    from babel import Locale
    from babel.dates import format_skeleton

    return f"{format_skeleton('dM', day, locale=Locale.parse(lang))} {when[11:]}"


def due_words(entry, lang: str) -> str:  # noqa: ANN001 - kiosk.staff.results.JournalEntry
    """The due date of an offline checkout: the one promised to the patron, and once replayed the
    library system's (with the promised one beside it when they differ).  Empty for other kinds."""
    promised, library = entry.promised_due, entry.library_due
    if library and promised and library != promised:
        return tr("{date} (promised: {promised})", lang, date=short_date(library, lang),
                  promised=short_date(promised, lang))
    if library:
        return short_date(library, lang)
    if promised:
        return tr("{date} (promised)", lang, date=short_date(promised, lang))
    return ""


def reason_words(key: str | None, text: str, lang: str) -> str:
    if key in STAFF_REASONS:
        words = tr(STAFF_REASONS[key], lang)
    elif key in REASONS:
        words = tr(REASONS[key][0], lang)
    else:
        words = key or ""
    return f"{words} ({text})" if text else words


class StaffJournalScreen(StaffPage):
    pending_n = NumericProperty(0)
    staff_n = NumericProperty(0)
    resolving = NumericProperty(0)       # journal id waiting for a note (0: none)
    result = StringProperty("")
    syncing = BooleanProperty(False)

    def refresh(self) -> None:
        self.resolving = 0
        self.console.journal_listing(self._listed)

    def _listed(self, listing) -> None:  # noqa: ANN001
        from datetime import date

        lang, today = self.app.lang, date.today().isoformat()
        self.pending_n, self.staff_n = len(listing.pending), len(listing.staff)
        head = [tr("When", lang), tr("What", lang), tr("Item", lang), tr("Card", lang), tr("Due date", lang)]
        rows: list = [TableRow(head, WIDTHS, header=True, fill_role="background", height=dp(30))]
        for n, e in enumerate(listing.staff):
            if n:
                rows.append(Widget(size_hint_y=None, height=dp(8)))      # one entry: its row and its problem
            rows.append(TableRow([when_words(e.when, lang, today), tr(KINDS.get(e.kind, e.kind), lang), e.item_id,
                                  e.patron, due_words(e, lang)], WIDTHS, fill_role="warn", height=dp(40)))
            problem = reason_words(e.reason_key, e.reason_text, lang)
            text = tr("{title}: {problem}", lang, title=e.title, problem=problem) if e.title else problem
            rows.append(self._problem_row(text, e.id, lang))
        if not listing.staff:
            rows.append(TableRow([tr("Nothing needs staff.", lang)], [1.0], height=dp(36)))
        clear_and_fill(self.ids.staff_rows, rows)
        prow = [TableRow(head + [tr("State", lang)], PENDING_WIDTHS, header=True, fill_role="background",
                         height=dp(30))]
        for e in listing.pending:
            state = tr(STATES[e.state], lang) if e.state in STATES else e.state
            prow.append(TableRow([when_words(e.when, lang, today), tr(KINDS.get(e.kind, e.kind), lang), e.item_id,
                                  e.patron, due_words(e, lang), state], PENDING_WIDTHS, height=dp(36)))
        if not listing.pending:
            prow.append(TableRow([tr("Nothing is waiting to be sent.", lang)], [1.0], height=dp(36)))
        clear_and_fill(self.ids.pending_rows, prow)

    def _problem_row(self, text: str, txn: int, lang: str) -> BoxLayout:
        """The problem of a staff-queue entry in words (wrapping, never cut) and its Resolve button."""
        box = BoxLayout(size_hint_y=None, height=dp(54), spacing=dp(6))
        note = NoteRow(text=text, indent=0.02)
        note.size_hint_y = 1
        note.ids.note.pos_hint = {"center_y": .5}
        note.ids.note.bind(height=lambda _w, h: setattr(box, "height", max(dp(54), h + dp(14))))
        btn = KButton(text=tr("Resolve", lang), role="plain", size_key="font_s", size_hint_x=None,
                      width=dp(RESOLVE_W), fixed_height=dp(48), pos_hint={"center_y": .5})
        btn.bind(on_release=lambda _b: setattr(self, "resolving", txn))
        box.add_widget(note)
        box.add_widget(btn)
        return box

    def notes(self) -> tuple[str, ...]:
        return NOTES

    def resolve(self, note: str) -> None:
        txn, self.resolving = self.resolving, 0
        self.console.resolve(txn, tr(note, self.app.lang), self._resolved)

    def _resolved(self, result) -> None:  # noqa: ANN001
        self.result = tr("Resolved.", self.app.lang) if result.ok else result.detail
        self.console.journal_listing(self._listed)

    def sync(self) -> None:
        self.syncing = True
        self.result = tr("Sending...", self.app.lang)
        self.console.sync_now(self._synced)

    def _synced(self, result) -> None:  # noqa: ANN001
        self.syncing = False
        self.result = result.words(self.app.lang)
        self.console.journal_listing(self._listed)

    def wipe(self) -> None:
        self.resolving = 0
        self.result = ""
        for name in ("staff_rows", "pending_rows"):
            if name in self.ids:
                self.ids[name].clear_widgets()


load_kv(__file__)
