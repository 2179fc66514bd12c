"""CQL for the handful of queries the kiosk sends (folio.md §0 "CQL quoting and escaping").

Every value is put in double quotes with the five CQL special characters ``\\ * ? ^ "``
backslash-escaped, so a ``*`` in a barcode is not a wildcard and a ``"`` cannot end the string.
Percent-encoding of the whole query is left to ``requests`` (``params=``).

What no client can fix: mod-circulation builds its own internal queries without escaping
(``CqlQuery.exactMatch``), so barcodes holding those characters can still misbehave inside FOLIO.
"""

from __future__ import annotations

SPECIAL = '\\*?^"'


def quote(value: object) -> str:
    """A CQL string literal: ``A*1`` -> ``"A\\*1"``; ``a"b\\c`` -> ``"a\\"b\\\\c"``; None -> ``""``."""
    text = "" if value is None else str(value)
    return '"' + "".join("\\" + c if c in SPECIAL else c for c in text) + '"'


def exact(field: str, value: object) -> str:
    """``field=="value"``: an exact match on the whole field."""
    return f"{field}=={quote(value)}"


def all_of(*clauses: str) -> str:
    """Clauses joined with ``and`` (each already well-formed)."""
    return " and ".join(f"({c})" if " or " in c else c for c in clauses if c)


def user_by_barcode(barcode: str) -> str:
    return exact("barcode", barcode)


def item_by_barcode(barcode: str) -> str:
    return exact("barcode", barcode)


def open_loans_of_user(user_id: str) -> str:
    return all_of(exact("userId", user_id), exact("status.name", "Open"))


def open_loans_of_item(item_id: str) -> str:
    """folio.md §7: loan-storage knows itemId, not barcodes."""
    return all_of(exact("itemId", item_id), exact("status.name", "Open"))


def open_requests_of_user(user_id: str) -> str:
    # status="Open" is a word match: every "Open - ..." status (folio.md §0, §6)
    return all_of(exact("requesterId", user_id), 'status="Open"')


def open_accounts_of_user(user_id: str) -> str:
    return all_of(exact("userId", user_id), exact("status.name", "Open"))


def manual_blocks_of_user(user_id: str) -> str:
    return exact("userId", user_id)


def service_point_by_code(code: str) -> str:
    return exact("code", code)


def by_id(uuid: str) -> str:
    return exact("id", uuid)
