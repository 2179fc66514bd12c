"""What the kiosk says, screen by screen and item by item (pure: no Kivy, no I/O).

Every sentence goes through the patron catalogs (``tr``), most of them the very texts the screen
shows, so speech and screen never disagree and a new language needs no extra work beyond the few
sentences only speech has (where the card reader is, how to continue).  Privacy: a patron's name
is said only with ``personal=True`` (``[speech] speak_personal_data``); card numbers, PIN digits
and amounts owed by someone else are never part of any sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.ui.i18n import N_, tr
from kiosk.ui.present import (
    blocked_text,
    counts,
    fines_text,
    first_name,
    item_instruction,
    item_status,
    left_over,
    left_over_heading,
    short_title,
)
from kiosk.ui.texts import RETURNS_MESSAGES, reason, reason_line

# Where a device is, for a patron who cannot see the pictogram ([guide] in the config).
WHERE_READER = {
    "below": N_("The card reader is below the screen."), "left": N_("The card reader is left of the screen."),
    "right": N_("The card reader is right of the screen."), "above": N_("The card reader is above the screen."),
}
WHERE_PAD = {
    "below": N_("The pad for your items is below the screen."),
    "left": N_("The pad for your items is left of the screen."),
    "right": N_("The pad for your items is right of the screen."),
    "above": N_("The pad for your items is above the screen."),
}
WHERE_SLOT = {
    "below": N_("The return slot is below the screen."), "left": N_("The return slot is left of the screen."),
    "right": N_("The return slot is right of the screen."), "above": N_("The return slot is above the screen."),
}


@dataclass(frozen=True)
class Guide:
    """Where things are on this kiosk model (``[guide]``): below, left, right, above or none."""

    card_reader: str = "below"
    item_pad: str = "below"
    return_slot: str = "below"


def sentences(*parts: str) -> str:
    """Join texts into sentences: each ends with a full stop unless it already ends a sentence."""
    out = []
    for p in parts:
        p = (p or "").strip()
        if not p:
            continue
        out.append(p if p[-1] in ".!?:…" else p + ".")
    return " ".join(out)


def item_text(line, lang: str) -> str:  # noqa: ANN001 - ItemLine
    """One item result: its title, what happened, and the one physical thing to do."""
    status, _badge = item_status(line, lang)
    instruction, _ = item_instruction(line)
    title = short_title(line.title) or tr("Unknown item", lang)
    return sentences(title, status, tr(instruction, lang))


def screen_text(screen: str, view, lang: str, *, personal: bool = False, guide: Guide = Guide(),  # noqa: ANN001, B008
                currency: str = "", warning_s: int = -1, returns_key: str = "") -> str:
    """The instruction for ``screen`` showing ``view`` (a SessionView; ``None`` where a screen
    shows no session), in ``lang``."""
    if warning_s >= 0:
        return sentences(tr("Are you still there?", lang),
                         tr("For your privacy, this session ends in {n} seconds.", lang, n=warning_s),
                         tr("Tap More time to continue.", lang))
    if screen == "home":
        return sentences(tr("Choose what you would like to do, or tap your library card.", lang),
                         tr("The buttons are Borrow, Return and My account.", lang),
                         tr(WHERE_READER[guide.card_reader], lang) if guide.card_reader in WHERE_READER else "")
    if screen == "identify":
        if view is not None and view.message_key and view.message_key not in ("enter_pin", "pin_required"):
            said = reason_line(view.message_key, lang)
            if view.needs_pin:
                return sentences(said, tr("Use the keypad, then press OK.", lang))
            return said
        if view is not None and view.needs_pin:
            return sentences(tr("Enter your PIN", lang), tr("Use the keypad, then press OK.", lang),
                             tr("Your PIN is not spoken.", lang))
        return sentences(tr("Tap or scan your library card", lang),
                         tr(WHERE_READER[guide.card_reader], lang) if guide.card_reader in WHERE_READER else "",
                         tr("Or type your card number on the keypad.", lang))
    if screen == "items":
        mode = (view.mode if view is not None else None) or "borrow"
        patron = view.patron if view is not None else None
        hello = tr("Hello, {name}", lang, name=first_name(patron.name)) if (personal and patron and patron.name) else ""
        if mode == "borrow" and patron is not None and not patron.can_checkout:
            keys = [k for k in patron.block_keys if k != "patron_blocked"]
            key = keys[0] if keys else (view.message_key if view.message_key else "patron_blocked")
            why, todo = blocked_text(patron, key, lang, currency)
            return sentences(hello, why, todo, tr("Press Done to finish.", lang))
        return sentences(hello, tr("Borrow", lang) if mode == "borrow" else tr("Return", lang),
                         tr("Place your items on the pad.", lang),
                         tr(WHERE_PAD[guide.item_pad], lang) if guide.item_pad in WHERE_PAD else "",
                         tr("Each item is read out when it is done.", lang),
                         tr("When you are done, press Finish.", lang))
    if screen == "account":
        patron = view.patron if view is not None else None
        if patron is None:
            return tr("My account", lang)
        n = len(patron.loans) or patron.loan_count
        hello = tr("Hello, {name}", lang, name=first_name(patron.name)) if (personal and patron.name) else ""
        return sentences(hello, tr("My account", lang),
                         tr("Your loans: {n}", lang, n=n) if n else tr("You have nothing on loan.", lang),
                         tr("Ready for pickup: {n}", lang, n=len(patron.holds_ready)),
                         fines_text(patron, lang, currency),
                         tr("Press Done to finish.", lang))
    if screen == "receipt":
        done = counts(view.items)["done"] if view is not None else 0
        mode = (view.mode if view is not None else None) or "borrow"
        return sentences(tr("Items borrowed: {n}.", lang, n=done) if mode == "borrow"
                         else tr("Items renewed: {n}.", lang, n=done) if mode == "account"
                         else tr("Items returned: {n}.", lang, n=done),
                         tr("Would you like a receipt?", lang),
                         tr("The choices are Print, Email and No receipt.", lang))
    if screen == "goodbye":
        mode = (view.mode if view is not None else None) or ""
        done = counts(view.items)["done"] if view is not None else 0
        if mode == "borrow" and done:
            farewell = tr("Please take your items and your card.", lang)
        elif mode == "return" and done:
            farewell = tr("Your items are back with the library.", lang)
        else:
            farewell = tr("See you soon.", lang)
        left = left_over(view, lang) if view is not None else []
        heading = left_over_heading(mode, lang) if left else ""
        return sentences(tr("Thank you!", lang), farewell, heading, *left)
    if screen == "out_of_service":
        return sentences(tr("This kiosk is out of service", lang), tr("Please use the desk or another kiosk.", lang))
    if screen == "returns_only":
        happened, todo = RETURNS_MESSAGES.get(returns_key or "returns_only", RETURNS_MESSAGES["returns_only"])
        return sentences(tr(happened, lang), tr(todo, lang) if todo else "",
                         tr(WHERE_SLOT[guide.return_slot], lang) if guide.return_slot in WHERE_SLOT else "",
                         tr("No library card needed.", lang) if (returns_key or "returns_only") == "returns_only"
                         else "")
    return ""


def speech_switched(on: bool, lang: str) -> str:
    return tr("Speech is on.", lang) if on else tr("Speech is off.", lang)


def reason_spoken(key: str, lang: str) -> str:
    happened, todo = reason(key, lang)
    return sentences(happened, todo)
