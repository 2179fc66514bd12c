"""Plain-English fallback texts for the book drop's message and reason keys.

The screens translate ``BookDropView.message_key`` and ``DropLine.reason_key`` (see
:mod:`kiosk.afterhours`); these are the English originals, in the same (what happened, what to do)
shape as :data:`kiosk.circulation.reasons.REASONS`, for the returns-only and staff screens.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "staffed_mode": ("The library is open.", "Please use the screen to borrow and return."),
    "returns_only": ("Returns only.", "Touch \u201cReturn items\u201d, then put your items in the slot one by one."),
    "insert_item": ("The slot is open.", "Put your items in one by one."),
    "reading_item": ("Reading your item\u2026", ""),
    "item_accepted": ("Thank you: item returned.", "You can put in the next item."),
    "item_accepted_offline": ("Thank you: item received.",
                              "It will be checked in with today's date as soon as our system is back."),
    "item_refused": ("This item could not be checked in.", "Staff will look at it in the morning."),
    "item_unreadable": ("We could not read this item.", "Staff will check it in by hand; nothing else to do."),
    "item_not_ours": ("This item does not seem to belong to this library.", "Staff will look at it."),
    "bin_full": ("The return bin is full.", "Please come back when the library is open. Sorry!"),
    "out_of_order": ("The return slot is out of order.", "Please come back when the library is open."),
    "library_closed_offline": ("Returns are not possible right now.", "Please come back when the library is open."),
}

REASONS: dict[str, str] = {
    "no_tag": "an item passed the slot but no tag was read",
    "unreadable_tag": "the tag could not be decoded",
    "missing_parts": "parts of a set were missing",
    "journal_failed": "the kiosk could not write the return down",
    "routing_from_status": "check-in answer lost: routing taken from the item's status, check the slip",
}


def text(key: str | None) -> tuple[str, str]:
    """The (what happened, what to do) texts of a message key; unknown keys get a neutral text."""
    if key is None:
        return ("", "")
    return MESSAGES.get(key, ("", ""))
