"""SIP2 code tables: what the positions and codes inside fixed fields mean (sip2.md 1.5 "Code tables").

Apart from the record types because they are read by people-facing code (the ILS adapter names a
patron's blocks, the station asks whether 19 is supported), not by the codec.
"""

from __future__ import annotations

__all__ = ["CIRCULATION_STATUS", "PATRON_STATUS_FLAGS", "SUMMARY_POSITIONS", "SUPPORTED_MESSAGES"]

# Patron status (14 chars, 'Y' = set) -- sip2.md 1.5 "Code tables".
PATRON_STATUS_FLAGS = (
    "charge privileges denied", "renewal privileges denied", "recall privileges denied",
    "hold privileges denied", "card reported lost", "too many items charged",
    "too many items overdue", "too many renewals", "too many claims of items returned",
    "too many items lost", "excessive outstanding fines", "excessive outstanding fees",
    "recall overdue", "too many items billed",
)
# BX supported messages (16 positions) -- sip2.md 1.5.
SUPPORTED_MESSAGES = (
    "patron status", "checkout", "checkin", "block patron", "acs status", "request resend",
    "login", "patron information", "end patron session", "fee paid", "item information",
    "item status update", "patron enable", "hold", "renew", "renew all",
)
# Item circulation status (18) -- sip2.md 1.5.
CIRCULATION_STATUS = {
    "01": "other", "02": "on order", "03": "available", "04": "charged",
    "05": "charged; not to be recalled until earliest recall date", "06": "in process",
    "07": "recalled", "08": "waiting on hold shelf", "09": "waiting to be re-shelved",
    "10": "in transit between library locations", "11": "claimed returned", "12": "lost",
    "13": "missing",
}
# Summary (63): position -> which item list the ACS returns.
SUMMARY_POSITIONS = {"hold": 0, "overdue": 1, "charged": 2, "fine": 3, "recall": 4, "unavailable_holds": 5}
