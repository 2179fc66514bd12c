"""Patron-facing words for the engine's stable keys: what happened, and what to do.

The circulation engine reports reasons as keys (``kiosk.circulation.reasons``); the screens own
their wording and translations here.  Every refusal tells the patron a next step, because a
kiosk cannot answer questions (reference libraries-and-kiosks.md §4.2: "red means go to the desk").
An unknown key falls back to a generic sentence rather than showing a key.
"""

from __future__ import annotations

from kiosk.ui.i18n import N_, tr

REASONS: dict[str, tuple[str, str]] = {
    "on_hold_for_other": (N_("This item is reserved for another reader."), N_("Please leave it at the desk.")),
    "on_loan_to_other": (N_("This item is still on another reader's card."), N_("Please take it to the desk.")),
    "patron_blocked": (N_("Your card cannot borrow right now."), N_("Please ask at the desk.")),
    "card_lost": (N_("This card was reported lost."), N_("Please ask at the desk.")),
    "card_expired": (N_("Your card has expired."), N_("Please renew it at the desk.")),
    "fines": (N_("You have charges on your account."), N_("Please pay or ask at the desk.")),
    "overdue_items": (N_("You have overdue items."), N_("Please return them first, or ask at the desk.")),
    "limit_reached": (N_("You have reached your borrowing limit."),
                      N_("Return something first, or ask at the desk.")),
    "not_ours": (N_("This item does not belong to this library."), N_("Please take it to the desk.")),
    "unknown_item": (N_("We do not recognise this item."), N_("Please take it to the desk.")),
    "not_for_loan": (N_("This item cannot be borrowed here."), N_("Please ask at the desk.")),
    "fee_required": (N_("This item has a rental charge."), N_("Please borrow it at the desk.")),
    "missing_parts": (N_("Some parts of this set are missing."), N_("Place every part on the pad together.")),
    "security_failed": (N_("The item's security tag could not be updated."), N_("Please show it at the desk.")),
    "offline_not_allowed": (N_("The library system is unavailable."),
                            N_("Please try again later or ask at the desk.")),
    "offline_limit": (N_("You have borrowed the most allowed while we are offline."),
                      N_("Please ask at the desk.")),
    "renewal_limit": (N_("This item cannot be renewed again."), N_("Please return it or ask at the desk.")),
    "renewal_too_soon": (N_("It is too early to renew this item."), N_("Try again closer to the due date.")),
    "renewal_hold": (N_("Another reader is waiting for this item."), N_("Please return it by the due date.")),
    "ils_timeout": (N_("The library system did not answer in time."), N_("Please take this item to the desk.")),
    "check_at_desk": (N_("This item needs a librarian's attention."), N_("Please take it to the desk.")),
    "not_checked_out": (N_("This item was not on your card."), N_("No action needed.")),
    "library_refused": (N_("The library system refused this item."), N_("Please ask at the desk.")),
    "unknown_card": (N_("We do not recognise this card."), N_("Please check the card or ask at the desk.")),
    "wrong_pin": (N_("That PIN is not right."), N_("Please try again.")),
    "pin_required": (N_("Please enter your PIN."), ""),
    "enter_pin": (N_("Please enter your PIN."), ""),
    "offline_returns_only": (N_("Only returns are possible right now."), N_("Please borrow later or at the desk.")),
    "out_of_service": (N_("This kiosk is out of service."), N_("Please use the desk.")),
    "wrong_mode": (N_("This kiosk only takes returns right now."), N_("Please borrow at the desk.")),
    "finish_first": (N_("A session is already open on this kiosk."),
                     N_("Please finish it first, then show the other card.")),
    "offline_card_unknown": (N_("We cannot check this card while the library system is offline."),
                             N_("Please borrow at the desk.")),
    "timed_out": (N_("Your session has ended because nothing happened for a while."),
                  N_("You can start again at any time.")),
    "cancelled": (N_("Your session was cancelled."), N_("You can start again at any time.")),
    # Staff-queue reasons (journal conflicts): shown to staff in the journal pages, not to patrons.
    "unconfirmed_checkout": (N_("A checkout was recorded by the library system, but the patron was not told."),
                             N_("Check the item and the patron's account.")),
    "return_unconfirmed": (N_("A return was not confirmed; the item may still be on loan."),
                           N_("Find the item and check it in at the desk.")),
    "renewal_unconfirmed": (N_("A renewal got no answer from the library system."),
                            N_("Check the loan's due date in the library system.")),
}
GENERIC = (N_("Something went wrong."), N_("Please ask at the desk."))

# Where a returned item goes (check-in alerts).  Never names the reader who is waiting.
ALERTS: dict[str, str] = {
    "hold_here": N_("Someone is waiting for this item: please leave it at the desk."),
    "hold_elsewhere": N_("This item is going to another branch: please put it in the return bin."),
    "transfer": N_("This item is going to another branch: please put it in the return bin."),
    "other": N_("Please put this item in the return bin."),
}
ALERT_BADGE = N_("Hold")


def reason(key: str | None, lang: str) -> tuple[str, str]:
    """(what happened, what to do) in ``lang`` for a reason or message key."""
    happened, todo = REASONS.get(key or "", GENERIC)
    return tr(happened, lang), (tr(todo, lang) if todo else "")


def reason_line(key: str | None, lang: str) -> str:
    happened, todo = reason(key, lang)
    return f"{happened} {todo}".strip()


def alert_line(alert: str | None, lang: str) -> str:
    return tr(ALERTS[alert], lang) if alert in ALERTS else ""


# The after-hours returns-only screen (kiosk/screens/returns_only.py): (what happened, what to do).
RETURNS_MESSAGES: dict[str, tuple[str, str]] = {
    "staffed_mode": (N_("The library is open."), N_("Please use the screen to borrow and return.")),
    "returns_only": (N_("Returns only."), N_("Touch \u201cReturn items\u201d, then put your items in the slot one by one.")),
    "insert_item": (N_("The slot is open."), N_("Put your items in one by one.")),
    "reading_item": (N_("Reading your item..."), ""),
    "item_accepted": (N_("Thank you: item returned."), N_("You can put in the next item.")),
    "item_accepted_offline": (N_("Thank you: item received."),
                              N_("It will be checked in with today's date as soon as our system is back.")),
    "item_refused": (N_("This item could not be checked in."), N_("Staff will look at it in the morning.")),
    "item_unreadable": (N_("We could not read this item."), N_("Staff will check it in by hand; nothing else to do.")),
    "item_not_ours": (N_("This item does not seem to belong to this library."), N_("Staff will look at it.")),
    "bin_full": (N_("The return bin is full."), N_("Please come back when the library is open. Sorry!")),
    "out_of_order": (N_("The return slot is out of order."), N_("Please come back when the library is open.")),
    "library_closed_offline": (N_("Returns are not possible right now."),
                               N_("Please come back when the library is open.")),
}
