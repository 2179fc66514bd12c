"""What the pure session machine asks its shell to do: one small frozen record per kind of work.

:class:`~kiosk.circulation.session.Session` never talks to the library system itself; each intent
returns a list of these *effects*, and the thread-owning shell (:mod:`kiosk.circulation.service`)
carries them out on its workers.  They live apart from the machine because they are the contract
between the two: the shell dispatches on their type and needs nothing else of the machine.  Every
effect that gets an answer carries the ``session_id`` it was issued for, so a late answer can never
land in the next patron's session.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Identify:
    """Ask the library system who this card is (Patron Information); answer: ``patron_identified``."""

    session_id: int
    patron_id: str
    pin: str | None


@dataclass(frozen=True)
class Transact:
    """Check out, check in or renew one item (journaled first); answer: ``item_result``."""

    session_id: int
    item_id: str
    action: str                  # checkout / checkin / renew
    patron_id: str | None
    pin: str | None
    uids: tuple[str, ...] = ()   # RFID tag uids of every part (security bit)


@dataclass(frozen=True)
class EndPatron:
    """Tell the library system the patron's session is over (a courtesy; no answer expected)."""

    patron_id: str


@dataclass(frozen=True)
class LookUpItems:
    """Fetch title and due date (Item Information) of these loans/holds for the account screen;
    each answer: ``item_details``."""

    session_id: int
    item_ids: tuple[str, ...]


Effect = Identify | Transact | EndPatron | LookUpItems
