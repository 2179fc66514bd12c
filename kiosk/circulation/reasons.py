"""Turn the library system's answers into stable reason keys a patron understands.

Library systems say no in their own words (Koha's AF texts, SIP2 patron-status flags, check-in
alert types).  The screens must say *what happened and what to do* in the patron's language, so the
engine maps every answer to a small set of stable keys here; the screens translate the keys and
staff still see the library's own text (``reason_text``).  Pure functions, no I/O.

Sources: patron status flags and alert types from sip2.md §1.5; Koha AF texts from sip2.md §2.
"""

from __future__ import annotations

from kiosk.ils.base import CheckinResult, CheckoutResult, Patron

# key -> (what happened, what to do): English fallbacks; the screens own the translations.
REASONS: dict[str, tuple[str, str]] = {
    "on_hold_for_other": ("This item is reserved for another reader.", "Please leave it at the desk."),
    "on_loan_to_other": ("This item is still on another reader's card.", "Please take it to the desk."),
    "patron_blocked": ("Your card cannot borrow right now.", "Please ask at the desk."),
    "card_lost": ("This card was reported lost.", "Please ask at the desk."),
    "card_expired": ("Your card has expired.", "Please renew it at the desk."),
    "fines": ("You have charges on your account.", "Please pay or ask at the desk."),
    "overdue_items": ("You have overdue items.", "Please return them first, or ask at the desk."),
    "limit_reached": ("You have reached your borrowing limit.", "Return something first, or ask at the desk."),
    "not_ours": ("This item does not belong to this library.", "Please take it to the desk."),
    "unknown_item": ("We do not recognise this item.", "Please take it to the desk."),
    "not_for_loan": ("This item cannot be borrowed here.", "Please ask at the desk."),
    "fee_required": ("This item has a rental charge.", "Please borrow it at the desk."),
    "missing_parts": ("Some parts of this set are missing.", "Place every part on the pad together."),
    "security_failed": ("The item's security tag could not be updated.", "Please show it at the desk."),
    "offline_not_allowed": ("The library system is unavailable.", "Please try again later or ask at the desk."),
    "offline_limit": ("You have borrowed the most allowed while we are offline.", "Please ask at the desk."),
    "renewal_limit": ("This item cannot be renewed again.", "Please return it or ask at the desk."),
    "renewal_too_soon": ("It is too early to renew this item.", "Try again closer to the due date."),
    "renewal_hold": ("Another reader is waiting for this item.", "Please return it by the due date."),
    "ils_timeout": ("The library system did not answer in time.", "Please take this item to the desk."),
    "check_at_desk": ("This item needs a librarian's attention.", "Please take it to the desk."),
    "not_checked_out": ("This item was not on your card.", "No action needed."),
    "library_refused": ("The library system refused this item.", "Please ask at the desk."),
    "unknown_card": ("We do not recognise this card.", "Please check the card or ask at the desk."),
    "wrong_pin": ("That PIN is not right.", "Please try again."),
    "pin_required": ("Please enter your PIN.", ""),
    "offline_returns_only": ("Only returns are possible right now.", "Please borrow later or at the desk."),
    "out_of_service": ("This kiosk is out of service.", "Please use the desk."),
    "wrong_mode": ("This kiosk only takes returns right now.", "Please borrow at the desk."),
    "finish_first": ("Another reader's session is still open.", "Please finish or cancel it first."),
    "offline_card_unknown": ("We cannot check this card while offline.", "Please borrow at the desk."),
    "timed_out": ("Your session ended after a while without activity.", ""),
    "cancelled": ("Your session was cancelled.", ""),
    # staff-queue reasons (journal conflicts; shown to staff, not patrons)
    "unconfirmed_checkout": ("A checkout happened although the patron was not told so.",
                             "Check the item and the patron's account."),
    "return_unconfirmed": ("A return was not confirmed and the item is still on loan.",
                           "Find the item and check it in."),
    "renewal_unconfirmed": ("A renewal got no answer.", "Check the loan's due date."),
}

# SIP2 patron status flags (sip2.md §1.5 "Patron status", as kiosk.ils names them) -> key.
_BLOCK_FLAGS: tuple[tuple[str, str], ...] = (
    ("card reported lost", "card_lost"),
    ("excessive outstanding fines", "fines"),
    ("excessive outstanding fees", "fines"),
    ("too many items charged", "limit_reached"),
    ("too many items overdue", "overdue_items"),
    ("too many items lost", "patron_blocked"),
    ("too many items billed", "fines"),
    ("recall overdue", "overdue_items"),
    ("charge privileges denied", "patron_blocked"),
)

# Koha AF texts and similar (sip2.md §2), matched case-insensitively as substrings, first match wins.
_AF_TEXTS: tuple[tuple[str, str], ...] = (
    ("reserved for another", "on_hold_for_other"),
    ("on hold for another", "on_hold_for_other"),
    ("hold for another", "on_hold_for_other"),
    ("checked out to another", "on_loan_to_other"),
    ("charged to another", "on_loan_to_other"),
    ("maximum renewals", "renewal_limit"),
    ("too_many", "renewal_limit"),
    ("too many renewals", "renewal_limit"),
    ("outstanding holds", "renewal_hold"),
    ("on_reserve", "renewal_hold"),
    ("too_soon", "renewal_too_soon"),
    ("too soon", "renewal_too_soon"),
    ("invalid item", "unknown_item"),
    ("unknown item", "unknown_item"),
    ("item not found", "unknown_item"),
    ("invalid patron", "unknown_card"),
    ("invalid cardnumber", "unknown_card"),
    ("expired", "card_expired"),
    # "lost" alone is not the patron's card: "Item is marked lost" (the demo library, Koha's lost
    # item) told a patron with a valid card "This card was reported lost".  The card only when
    # the text says so; a patron with too many lost items is blocked; otherwise a lost item.
    ("card reported lost", "card_lost"),
    ("card was reported lost", "card_lost"),
    ("card has been reported lost", "card_lost"),
    ("lost card", "card_lost"),
    ("card lost", "card_lost"),
    ("items lost", "patron_blocked"),
    ("lost", "check_at_desk"),
    ("fine", "fines"),
    ("fee", "fines"),
    ("debarred", "patron_blocked"),
    ("blocked", "patron_blocked"),
    ("restrict", "patron_blocked"),
    ("too many", "limit_reached"),
    ("limit", "limit_reached"),
    ("cannot be checked out", "not_for_loan"),
    ("not for loan", "not_for_loan"),
    ("not ours", "not_ours"),
    ("another library", "not_ours"),
)


def key_from_text(text: str, default: str = "library_refused") -> str:
    """The reason key for a library system's free-text message (AF)."""
    low = (text or "").lower()
    for needle, key in _AF_TEXTS:
        if needle in low:
            return key
    return default


def patron_block_keys(patron: Patron) -> tuple[str, ...]:
    """Keys for the patron's set status flags, most specific first, without duplicates."""
    keys: list[str] = []
    flags = [b.lower() for b in patron.blocks]
    for flag, key in _BLOCK_FLAGS:
        if any(flag in f for f in flags) and key not in keys:
            keys.append(key)
    return tuple(keys)


def checkout_refusal_key(patron: Patron | None) -> str:
    """Why a patron may not borrow at all (checked before anything is sent)."""
    if patron is None:
        return "patron_blocked"
    keys = patron_block_keys(patron)
    specific = [k for k in keys if k != "patron_blocked"]
    if specific:
        return specific[0]
    if patron.screen_message:
        return key_from_text(patron.screen_message, "patron_blocked")
    return "patron_blocked"


def checkout_reason(result: CheckoutResult) -> str:
    """The key for a refused checkout or renewal."""
    if result.reason_key:     # the adapter mapped the library's own code (FOLIO)
        return result.reason_key
    if result.fee_amount and not result.ok and "fee" in result.screen_message.lower():
        return "fee_required"
    return key_from_text(result.screen_message)


def checkin_alert(result: CheckinResult) -> str | None:
    """Routing for a returned item from the CV alert type (sip2.md §1.5; Koha 98/99 -> other)."""
    return {"01": "hold_here", "02": "hold_elsewhere", "03": "hold_elsewhere", "04": "transfer",
            "98": "other", "99": "other"}.get(result.alert_type, "other" if result.alert else None)


def checkin_reason(result: CheckinResult) -> tuple[str, str | None]:
    """(item state, reason key) for a check-in reply.

    ``not checked out`` is a success for a return (the item is in).  Alert type 99 (bad barcode,
    withdrawn, lost and blocked) sends the item to staff; holds and transfers are done, with a route.
    """
    if not result.ok and result.reason_key:     # the adapter mapped the library's own code (FOLIO)
        return ("refused" if result.reason_key == "unknown_item" else "needs_staff"), result.reason_key
    if result.ok or result.not_on_loan:
        if result.alert_type in ("98", "99"):
            return "needs_staff", "check_at_desk"
        return "done", None
    key = key_from_text(result.screen_message, "check_at_desk")
    if key == "unknown_item":
        return "refused", key
    return "needs_staff", key
