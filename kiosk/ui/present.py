"""View -> display data: the words, icons and colour roles each row shows.  No Kivy, no I/O.

Kept apart from the screens so the mapping is testable without a window, and so a screen's
controller stays a few lines long.  Every status has an icon and a word as well as a colour.
"""

from __future__ import annotations

from kiosk.ui.i18n import format_amount, format_date, tr
from kiosk.ui.texts import alert_line, reason, reason_line

TITLE_MAX = 60      # characters of a title shown in a row (long subtitles are cut, not wrapped 3 times)

STATUS_ICON = {"seen": "seen", "in_progress": "in_progress", "done": "done", "refused": "refused",
               "needs_staff": "needs_staff"}


def first_name(name: str) -> str:
    """Greet by first name only: others in the lobby can read the screen.

    SIP2 names are often "Surname, Given" (Koha), else "Given Surname"."""
    name = (name or "").strip()
    if "," in name:
        given = name.split(",", 1)[1].strip()
        return given.split()[0] if given else ""
    return name.split()[0] if name else ""


def short_title(title: str) -> str:
    """Cut a long title at a word boundary with an ellipsis.  (Done here, not with Kivy's
    ``shorten``, which costs up to a second of main-thread time per label on a slow machine.)"""
    if len(title) <= TITLE_MAX:
        return title
    cut = title[:TITLE_MAX].rsplit(" ", 1)[0].rstrip(" :;,.-")
    return cut + "…"


def due_text(line, lang: str) -> str:  # noqa: ANN001 - ItemLine or LoanLine
    if getattr(line, "due_date", None) is not None:
        return format_date(line.due_date, lang)
    return getattr(line, "due", "") or ""


def item_status(line, lang: str) -> tuple[str, str]:  # noqa: ANN001 - ItemLine
    """(status sentence, short badge word) for one item line."""
    state, action = line.state, line.action
    if state == "seen":
        if line.reason_key:
            return reason_line(line.reason_key, lang), ""
        return tr("Found: waiting to be processed", lang), ""
    if state == "in_progress":
        return {"checkout": tr("Borrowing...", lang), "checkin": tr("Returning...", lang),
                "renew": tr("Renewing...", lang)}.get(action, tr("Working...", lang)), ""
    if state == "done":
        later = (" " + tr("(saved: your account will be updated later)", lang)) if line.journaled else ""
        if action == "checkin":
            text = tr("Returned.", lang)
            alert = alert_line(line.alert, lang)
            badge = tr("Hold", lang) if line.alert == "hold_here" else tr("Returned", lang)
            return (f"{text} {alert}".strip() + later), badge
        due = due_text(line, lang)
        if action == "renew":
            return (tr("Renewed until {date}", lang, date=due) if due else tr("Renewed", lang)) + later, \
                tr("Renewed", lang)
        return (tr("Due back {date}", lang, date=due) if due else tr("Borrowed", lang)) + later, \
            tr("Borrowed", lang)
    if state == "refused":
        return reason_line(line.reason_key, lang), tr("Not possible", lang)
    if state == "needs_staff":
        return reason_line(line.reason_key or "check_at_desk", lang), tr("See desk", lang)
    return "", ""


def item_rows(items, lang: str, theme) -> list[dict]:  # noqa: ANN001
    """RecycleView data for the items list, newest item last (the order they were placed)."""
    rows = []
    for line in items:
        status, badge = item_status(line, lang)
        rows.append({
            "item_id": line.item_id, "title": short_title(line.title) or tr("Item {barcode}", lang, barcode=line.item_id),
            "status": status, "badge": badge, "state": line.state,
            "icon": STATUS_ICON.get(line.state, "seen"),
        })
    return rows


def loan_rows(patron, items, lang: str) -> list[dict]:  # noqa: ANN001
    """Account screen rows: each loan with its due date, updated by this session's renewals."""
    if patron is None:
        return []
    renewals = {i.item_id: i for i in items if i.action == "renew"}
    rows = []
    for loan in patron.loans:
        status, due, icon = "", due_text(loan, lang), ("clock" if loan.overdue else "")
        overdue = loan.overdue
        renewal = renewals.get(loan.item_id)
        can_renew = patron.can_renew
        if renewal is not None:
            if renewal.state == "in_progress":
                status, icon = tr("Renewing...", lang), "in_progress"
            elif renewal.state == "done":
                due = due_text(renewal, lang) or due
                status, icon, overdue, can_renew = tr("Renewed", lang), "done", False, False
            elif renewal.state in ("refused", "needs_staff"):
                status, icon = reason(renewal.reason_key, lang)[0], "refused"
                can_renew = False
        due_label = (tr("Overdue since {date}", lang, date=due) if overdue
                     else tr("Due back {date}", lang, date=due)) if due else ""
        rows.append({"item_id": loan.item_id, "title": short_title(loan.title) or tr("Item {barcode}", lang, barcode=loan.item_id), "due": due_label,
                     "status": status, "overdue": overdue, "can_renew": can_renew, "icon": icon})
    return rows


def lookup_hint(patron, lang: str) -> str:  # noqa: ANN001 - PatronSummary
    """A line under the loans while their titles and due dates are still being looked up ("" after).

    The account opens with the barcodes the library system listed; each title arrives from its own
    item lookup, so for a moment rows read "Item 3901..." -- the patron is told that more is coming."""
    if patron is None or not patron.details_pending:
        return ""
    return tr("Looking up titles and due dates...", lang)


def hold_titles(patron, lang: str) -> list[str]:  # noqa: ANN001 - PatronSummary
    """Ready holds by title; "Item <barcode>" while (or if) the title could not be looked up."""
    if patron is None:
        return []
    lines = getattr(patron, "holds_ready_items", ()) or ()
    if lines:
        return [short_title(h.title) or tr("Item {barcode}", lang, barcode=h.item_id) for h in lines]
    return [short_title(t) for t in patron.holds_ready]


def fines_text(patron, lang: str, default_currency: str = "") -> str:  # noqa: ANN001
    if patron is None or not patron.fine_amount:
        return tr("No charges", lang)
    try:
        if float(patron.fine_amount) == 0:
            return tr("No charges", lang)
    except ValueError:
        pass
    return tr("Charges: {amount}", lang,
              amount=format_amount(patron.fine_amount, patron.currency or default_currency, lang))


def counts(items) -> dict[str, int]:  # noqa: ANN001
    out = {"done": 0, "refused": 0, "needs_staff": 0, "working": 0}
    for line in items:
        if line.state == "done":
            out["done"] += 1
        elif line.state == "refused":
            out["refused"] += 1
        elif line.state == "needs_staff":
            out["needs_staff"] += 1
        else:
            out["working"] += 1
    return out


def receipt_lines(view, lang: str) -> list[str]:  # noqa: ANN001 - SessionView
    """The lines of a receipt in the patron's language.  No patron name (receipts get left in
    books, reference libraries-and-kiosks.md §4.6): only the masked card number."""
    lines: list[str] = []
    if view.patron is not None and view.patron.masked_id:
        lines.append(tr("Card: {card}", lang, card=view.patron.masked_id))
    done = [i for i in view.items if i.state == "done"]
    if view.mode == "return":
        lines.append(tr("Items returned: {n}.", lang, n=len(done)))
        lines += [f"- {i.title or i.item_id}" for i in done]
    else:
        lines.append(tr("Items borrowed: {n}.", lang, n=len(done)))
        for i in done:
            lines.append(f"- {i.title or i.item_id}")
            due = due_text(i, lang)
            if due:
                lines.append("  " + tr("Due back {date}", lang, date=due))
    not_done = [i for i in view.items if i.state in ("refused", "needs_staff")]
    if not_done:
        lines.append(tr("Please take these to the desk:", lang))
        lines += [f"- {i.title or i.item_id}" for i in not_done]
    return lines
