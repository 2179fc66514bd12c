"""View -> display data: the words, icons and colour roles each row shows.  No Kivy, no I/O.

Kept apart from the screens so the mapping is testable without a window, and so a screen's
controller stays a few lines long.  Every status has an icon and a word as well as a colour.
"""

from __future__ import annotations

from kiosk.circulation.view import ENDED, IDLE, OUT_OF_SERVICE, SessionView
from kiosk.ui.i18n import N_, format_amount, format_date, tr
from kiosk.ui.texts import reason

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


# The one physical thing to do with an item, which ends every settled line (issue 14): a patron
# holding a book needs to know where it goes, not only what the library system said.
TAKE_IT = N_("Take it with you.")
LEAVE_AT_DESK = N_("Leave it at the desk.")
TAKE_TO_DESK = N_("Take it to the desk.")
RETURN_BIN = N_("Put it in the return bin.")
KEEP_ON_PAD = N_("Leave it on the pad.")
ALL_PARTS = N_("Place every part on the pad together.")


def item_instruction(line) -> tuple[str, bool]:  # noqa: ANN001 - ItemLine
    """(msgid of the physical instruction, stands out?) for one item line.

    Refusals, holds and transfers *stand out* (colour, icon and a larger instruction): those are
    the items a patron must not simply carry home or drop in the bin."""
    state, action = line.state, line.action
    if state in ("seen", "in_progress"):
        return (ALL_PARTS, True) if line.reason_key == "missing_parts" else (KEEP_ON_PAD, False)
    if state == "done":
        if action == "checkin":
            if line.alert == "hold_here":
                return LEAVE_AT_DESK, True     # staff trap it for the waiting patron; the public cannot
            return RETURN_BIN, line.alert in ("hold_elsewhere", "transfer")
        return TAKE_IT, False
    if line.reason_key == "missing_parts":
        return ALL_PARTS, True
    if line.reason_key == "not_checked_out" and action == "checkin":
        return RETURN_BIN, False
    return (LEAVE_AT_DESK if action == "checkout" else TAKE_TO_DESK), True


def item_tone(line) -> tuple[str, str]:  # noqa: ANN001 - ItemLine
    """(colour role state, icon) of a row: a returned item with a hold or a transfer is shown in
    the warning colour with the hold icon, not as a plain green success."""
    if line.state == "done" and line.action == "checkin" and line.alert in ("hold_here", "hold_elsewhere", "transfer"):
        return "needs_staff", "hold"
    return line.state, STATUS_ICON.get(line.state, "seen")


def item_status(line, lang: str) -> tuple[str, str]:  # noqa: ANN001 - ItemLine
    """(status sentence, short badge word) for one item line; the instruction is separate
    (:func:`item_instruction`), so a line never says two different things to do."""
    state, action = line.state, line.action
    if state == "seen":
        if line.reason_key:
            return reason(line.reason_key, lang)[0], ""
        return tr("Found: waiting to be processed", lang), ""
    if state == "in_progress":
        if line.reason_key == "still_waiting":      # kiosk.circulation.timers.STILL_WAITING
            return tr("Still waiting for the library system...", lang), ""
        return {"checkout": tr("Borrowing...", lang), "checkin": tr("Returning...", lang),
                "renew": tr("Renewing...", lang)}.get(action, tr("Working...", lang)), ""
    if state == "done":
        later = (" " + tr("(saved: your account will be updated later)", lang)) if line.journaled else ""
        if action == "checkin":
            if line.alert == "hold_here":
                return tr("Returned. Someone is waiting for this item.", lang) + later, tr("Hold", lang)
            if line.alert in ("hold_elsewhere", "transfer"):
                return tr("Returned. This item goes to another branch.", lang) + later, tr("Transfer", lang)
            return tr("Returned.", lang) + later, tr("Returned", lang)
        due = due_text(line, lang)
        if action == "renew":
            return (tr("Renewed until {date}", lang, date=due) if due else tr("Renewed", lang)) + later, \
                tr("Renewed", lang)
        return (tr("Due back {date}", lang, date=due) if due else tr("Borrowed", lang)) + later, \
            tr("Borrowed", lang)
    if state == "refused":
        if line.reason_key == "not_checked_out":
            return reason(line.reason_key, lang)[0], tr("Returned", lang)
        return reason(line.reason_key, lang)[0], tr("Not possible", lang)
    if state == "needs_staff":
        return reason(line.reason_key or "check_at_desk", lang)[0], tr("See desk", lang)
    return "", ""


# Every badge word an item line of a mode can end in (item_status above): the items list keeps one
# column as wide as the widest of them (kiosk/screens/items.py _badge_column).
BADGE_WORDS = {
    "borrow": ("Borrowed", "Renewed", "Not possible", "See desk"),
    "return": ("Returned", "Hold", "Transfer", "Not possible", "See desk"),
}


def badge_words(mode: str, lang: str) -> list[str]:
    """The badge words a ``mode``'s item lines can show, in ``lang``."""
    return [tr(word, lang) for word in BADGE_WORDS.get(mode, BADGE_WORDS["borrow"])]


def copy_labels(lines, lang: str) -> dict[str, str]:  # noqa: ANN001 - ItemLine or LoanLine
    """{item id: "copy …0002"} for items whose title appears more than once in ``lines``:
    two copies of "Le Petit Prince" on one list must be told apart (the barcode's end is printed
    on the label the patron can see)."""
    seen: dict[str, int] = {}
    for line in lines:
        if line.title:
            seen[line.title] = seen.get(line.title, 0) + 1
    return {line.item_id: tr("copy {code}", lang, code="…" + line.item_id[-4:])
            for line in lines if line.title and seen[line.title] > 1}


def item_rows(items, lang: str, theme=None) -> list[dict]:  # noqa: ANN001
    """RecycleView data for the items list, newest item last (the order they were placed; the items
    screen shows it newest first)."""
    rows = []
    copies = copy_labels(items, lang)
    for line in items:
        status, badge = item_status(line, lang)
        instruction, stands_out = item_instruction(line)
        tone, icon = item_tone(line)
        title = short_title(line.title) or tr("Item {barcode}", lang, barcode=line.item_id)
        if line.item_id in copies:
            title = f"{title} ({copies[line.item_id]})"
        rows.append({
            "item_id": line.item_id, "title": title,
            "status": status, "badge": badge, "state": line.state, "tone": tone,
            "instruction": tr(instruction, lang), "stands_out": stands_out, "icon": icon,
        })
    return rows


def loan_rows(patron, items, lang: str) -> list[dict]:  # noqa: ANN001
    """Account screen rows: each loan with its due date, updated by this session's renewals."""
    if patron is None:
        return []
    renewals = {i.item_id: i for i in items if i.action == "renew"}
    copies = copy_labels(patron.loans, lang)
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
        title = short_title(loan.title) or tr("Item {barcode}", lang, barcode=loan.item_id)
        if loan.item_id in copies:
            title = f"{title} ({copies[loan.item_id]})"
        rows.append({"item_id": loan.item_id, "title": title, "due": due_label,
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


def blocked_text(patron, key: str, lang: str, default_currency: str = "") -> tuple[str, str]:  # noqa: ANN001
    """(why, the one thing to do) for a patron who may not borrow: the charges with their amount,
    the overdue count, the card's state -- never just "your card cannot borrow"."""
    happened, todo = reason(key, lang)
    if patron is None:
        return happened, todo
    if key == "fines" and patron.fine_amount:
        try:
            owed = float(patron.fine_amount) > 0
        except ValueError:
            owed = True
        if owed:
            amount = format_amount(patron.fine_amount, patron.currency or default_currency, lang)
            happened = tr("You have charges of {amount} on your account.", lang, amount=amount)
    elif key == "overdue_items" and patron.overdue_count:
        happened = tr("Overdue items on your card: {n}.", lang, n=patron.overdue_count)
    elif key == "limit_reached" and (patron.loan_count or patron.loans):
        happened = tr("Items on your card: {n}. That is the most you may borrow.", lang,
                      n=patron.loan_count or len(patron.loans))
    return happened, todo


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
        # the account page's renewals: each with its new due date, as a checkout's
        lines.append(tr("Items renewed: {n}.", lang, n=len(done)) if view.mode == "account"
                     else tr("Items borrowed: {n}.", lang, n=len(done)))
        for i in done:
            lines.append(f"- {i.title or i.item_id}")
            due = due_text(i, lang)
            if due:
                lines.append("  " + tr("Due back {date}", lang, date=due))
    not_done = [i for i in view.items if i.state in ("refused", "needs_staff")
                and not (i.action == "checkin" and i.reason_key == "not_checked_out")]
    if not_done:
        if view.mode == "account":      # a refused renewal: the item stays with the patron
            lines.append(tr("Not renewed (the due date stays):", lang))
        else:
            lines.append(tr("Not borrowed - please leave these at the desk:", lang) if view.mode != "return"
                         else tr("Please take these to the desk:", lang))
        lines += [f"- {i.title or i.item_id}" for i in not_done]
    held = [i for i in view.items if i.state == "done" and i.action == "checkin" and i.alert == "hold_here"]
    if held:
        lines.append(tr("Leave these at the desk, someone is waiting for them:", lang))
        lines += [f"- {i.title or i.item_id}" for i in held]
    return lines


def left_over_heading(mode: str, lang: str) -> str:
    """The line over :func:`left_over`'s items on the goodbye screen (and in its speech)."""
    if mode == "borrow":
        return tr("Not borrowed:", lang)
    if mode == "account":
        return tr("Not renewed (the due date stays):", lang)
    return tr("Not returned:", lang)


def left_over(view, lang: str) -> list[str]:  # noqa: ANN001 - SessionView (ended)
    """Goodbye screen: the items of the session just ended that were *not* borrowed/returned
    and need the desk, each "<title>: <what to do>" (titles only, never who the patron was)."""
    out = []
    for line in view.items:
        if line.state in ("refused", "needs_staff") and line.action == "renew":
            # a loan not renewed stays with the patron until its due date: nothing for the desk
            out.append(short_title(line.title) or tr('Item {barcode}', lang, barcode=line.item_id))
        elif line.state in ("refused", "needs_staff") and line.reason_key != "not_checked_out":
            instruction, _ = item_instruction(line)
            out.append(f"{short_title(line.title) or tr('Item {barcode}', lang, barcode=line.item_id)}: "
                       f"{tr(instruction, lang)}")
    return out


def next_patron_starts(old: SessionView | None, new: SessionView) -> bool:
    """True when the screen passes from one patron to the next: the kiosk goes back to idle, or a
    card (or a Borrow/Return tap) on the goodbye screen starts a new session straight from "ended"
    without an idle view in between.  Either way the last patron's language, contrast, text size
    and speech choice must not greet the next one."""
    if new.state in (IDLE, OUT_OF_SERVICE) and new.patron is None:
        return old is None or old.state not in (IDLE, OUT_OF_SERVICE)
    return old is not None and old.state == ENDED and new.state != ENDED
