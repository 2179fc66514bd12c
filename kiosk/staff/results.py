"""The answers the staff console hands the staff pages: plain, frozen records (no Kivy, no threads).

:class:`~kiosk.staff.console.StaffConsole` does the work on its worker threads; what comes back to
the pages (on Kivy's thread, through ``post``) is one of these.  They are apart from the console so
that a page, or a test of one, can read what it is given without the console's threads, devices
and library-system connection, and so that the privacy rule of the journal listing -- staff see
masked card numbers only -- sits next to the record it shapes (:func:`masked_entry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.appliance.privacy import mask


@dataclass(frozen=True)
class SaveResult:
    ok: bool
    error: str = ""                          # ConfigError text (names the key and what was expected)
    changed: tuple[str, ...] = ()
    restart_needed: bool = False


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    detail: str = ""
    # The same answer for the staff pages to show in the kiosk's language: an N_() msgid of the
    # staff catalog and its {fields}.  Empty for free text (an exception's message) shown as it is.
    msgid: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    def words(self, lang: str) -> str:
        """``detail`` in ``lang`` (``detail`` itself when there is no msgid)."""
        from kiosk.ui.i18n import tr

        return tr(self.msgid, lang, **self.fields) if self.msgid else self.detail


@dataclass(frozen=True)
class Readings:
    """Live readings for the diagnostics page (no patron data: the card number is masked)."""

    last_card: str = ""
    last_card_at: datetime | None = None
    tags: tuple[str, ...] = ()               # item ids on the pad (or "uid: why unreadable")
    printer: str = ""


@dataclass(frozen=True)
class JournalEntry:
    id: int
    kind: str
    item_id: str
    patron: str                              # always masked
    state: str
    when: str
    reason_key: str | None = None
    reason_text: str = ""
    title: str = ""
    # An offline checkout's due dates (ISO "YYYY-MM-DD", "" when none): the one the kiosk promised
    # the patron, and the library system's once the replay confirmed the loan (it may differ: the
    # library's loan rules win).  Staff resolving the queue tell the patron which one holds.
    promised_due: str = ""
    library_due: str = ""


@dataclass(frozen=True)
class JournalListing:
    pending: tuple[JournalEntry, ...] = ()
    staff: tuple[JournalEntry, ...] = ()


@dataclass(frozen=True)
class StatsResult:
    days: tuple = ()                         # kiosk.staff.stats.DayStats, oldest first
    hours: tuple = ()                        # kiosk.staff.stats.HourStats, 0..23
    totals: Any = None                       # kiosk.staff.stats.Counts
    reasons: dict = field(default_factory=dict)


def masked_entry(row: Any) -> JournalEntry:
    """A journal row as staff see it: the card number masked (the journal masks only settled rows)."""
    patron = row.patron_id or ""
    if patron and not patron.startswith("*"):
        patron = mask(patron)
    promised, library = due_dates(row)
    if getattr(row, "clock_untrusted", False) and row.state != "staff":   # kiosk.appliance.clock (issue 18 item 4)
        reason_key, reason_text = "clock_untrusted", ""
    else:
        reason_key, reason_text = row.reason_key, row.reason_text or ""
    return JournalEntry(row.id, row.kind, row.item_id, patron, row.state, row.txn_date.replace("T", " ")[:16],
                        reason_key, reason_text, row.title or "", promised_due=promised, library_due=library)


def due_dates(row: Any) -> tuple[str, str]:
    """(promised, the library's) due dates of a journal row, as ISO dates; "" where there is none.
    Only a checkout has them; the library's only once the replay confirmed it (state "synced")."""
    from kiosk.circulation.replay import promised_due

    if row.kind != "checkout":
        return "", ""
    promised = (promised_due(row) or "")[:10]
    library = ((row.due_date or "")[:10] or (row.due or "")) if row.state == "synced" else ""
    return promised, library
