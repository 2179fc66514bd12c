"""The demo library seen through FOLIO's eyes: its records as FOLIO JSON, and mod-circulation's
validations with FOLIO's own messages, codes and parameters.  No sockets (see folio_http.py).

A *test double of FOLIO's documented behaviour*, written from /work/shared/reference/folio.md
(section numbers in the comments), not from our client: what FOLIO checks, in its order, and how
it says no.  The library's rules themselves (loan periods, limits, fines, routing) stay those of
:mod:`kiosk.demo_ils.rules`, so both faces of the demo agree about one library.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from kiosk.demo_ils import rules
from kiosk.demo_ils.db import LibraryDb

NS = uuid.UUID("6f1d6c9e-2c1b-4a53-9a57-5d3a1f0c0f11")
SERVICE_POINTS = {rules.THIS_BRANCH: "main", rules.OTHER_BRANCH: "east"}   # branch -> service point code


def uid(kind: str, key: object) -> str:
    """Stable UUIDs for the demo's rows (FOLIO identifies everything by UUID)."""
    return str(uuid.uuid5(NS, f"{kind}:{key}"))


def sp_id(branch: str) -> str:
    return uid("servicepoint", branch)


def folio_time(dt: datetime | None) -> str | None:
    """mod-circulation writes ``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` in UTC (folio.md §0)."""
    if dt is None:
        return None
    return dt.astimezone().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_folio_time(text: object) -> datetime | None:
    """What mod-circulation accepts (folio.md §0): ISO with offset, local (= UTC), or a bare date."""
    if not isinstance(text, str) or not text:
        return None
    t = text.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone().replace(tzinfo=None)


def error(message: str, params: dict | None = None, code: str | None = None, block: str | None = None) -> dict:
    """One entry of mod-circulation's 422 ``errors`` (folio.md §0; parameters are a list)."""
    e: dict = {"message": message, "parameters": [{"key": k, "value": str(v)} for k, v in (params or {}).items()]}
    if code:
        e["code"] = code
    if block:
        e["overridableBlock"] = {"name": block, "missingPermissions": [f"circulation.override-{block}.post"]}
    return e


def last_first(name: str) -> str:
    """``getPersonalName``: "Last, First" (folio.md §3, requested-by-another-patron text)."""
    parts = name.split()
    return f"{parts[-1]}, {' '.join(parts[:-1])}" if len(parts) > 1 else name


class FolioView:
    """Read the demo library as FOLIO records."""

    def __init__(self, db: LibraryDb) -> None:
        self.db = db

    # ---- ids ------------------------------------------------------------------------------
    def card_of(self, user_id: str) -> str | None:
        for row in self.db.query("SELECT card FROM patrons"):
            if uid("user", row["card"]) == user_id:
                return row["card"]
        return None

    def barcode_of(self, item_id: str) -> str | None:
        for row in self.db.query("SELECT barcode FROM items"):
            if uid("item", row["barcode"]) == item_id:
                return row["barcode"]
        return None

    # ---- records --------------------------------------------------------------------------
    def user(self, card: str) -> dict | None:
        row = self.db.patron_row(card)
        if row is None:
            return None
        first, _, last = row["name"].rpartition(" ")
        expires = datetime.combine(datetime.fromisoformat(row["expires"]).date(), rules.DUE_TIME)
        return {"id": uid("user", card), "barcode": card, "username": f"patron{card[-4:]}",
                "active": expires >= self.db.clock(), "type": "patron",
                "patronGroup": uid("group", row["category"]), "expirationDate": folio_time(expires),
                "personal": {"firstName": first or last, "lastName": last if first else "",
                             "email": row["email"] or None}}

    def item_status(self, barcode: str) -> str:
        item = self.db.item(barcode)
        loan = self.db.loan_of_item(barcode)
        holds = self.db.holds_on(barcode)
        if loan is not None:
            return "Checked out"
        return {"lost": "Declared lost", "missing": "Missing", "withdrawn": "Withdrawn"}.get(item.status) or (
            "In transit" if item.status == "in_transit" or any(h.status == "in_transit" for h in holds)
            else "Awaiting pickup" if any(h.status == "waiting" for h in holds) else "Available")

    def item(self, barcode: str) -> dict | None:
        row = self.db.item_row(barcode)
        if row is None:
            return None
        item = self.db.item(barcode)
        out = {"id": uid("item", barcode), "barcode": barcode, "title": row["title"],
               "callNumber": row["call_number"], "status": {"name": self.item_status(barcode)},
               "materialType": {"name": item.policy.label},
               "effectiveLocation": {"name": f"{rules.BRANCH_NAMES.get(row['home_branch'], '')} {row['location']}".strip()},
               "contributors": [{"name": row["author"]}],
               "numberOfPieces": str(row["parts"])}      # FOLIO's item schema: a string
        if row["transit_to"]:
            out["inTransitDestinationServicePointId"] = sp_id(row["transit_to"])
            out["inTransitDestinationServicePoint"] = {"name": rules.BRANCH_NAMES.get(row["transit_to"], "")}
        return out

    def loan(self, loan_id: int) -> dict | None:
        rows = self.db.query("SELECT * FROM loans WHERE id = ?", (loan_id,))
        if not rows:
            return None
        r = rows[0]
        item = self.db.item_row(r["barcode"])
        patron = self.db.patron_row(r["card"])
        first, _, last = (patron["name"] if patron else "").rpartition(" ")
        open_ = r["returned_at"] is None
        return {"id": uid("loan", r["id"]), "userId": uid("user", r["card"]), "itemId": uid("item", r["barcode"]),
                "status": {"name": "Open" if open_ else "Closed"},
                "action": ("renewed" if r["renewals"] else "checkedout") if open_ else "checkedin",
                "loanDate": folio_time(datetime.fromisoformat(r["issued_at"])),
                "dueDate": folio_time(datetime.fromisoformat(r["due_at"])),
                "returnDate": folio_time(datetime.fromisoformat(r["returned_at"])) if r["returned_at"] else None,
                "renewalCount": r["renewals"],
                "checkoutServicePointId": sp_id(rules.THIS_BRANCH),
                "item": {"id": uid("item", r["barcode"]), "barcode": r["barcode"],
                         "title": item["title"] if item else "",
                         "status": {"name": self.item_status(r["barcode"])},
                         "materialType": {"name": self.db.item(r["barcode"]).policy.label if item else ""}},
                "borrower": {"barcode": r["card"], "firstName": first, "lastName": last},
                "loanPolicy": {"name": "demo"}}

    def open_loans(self, card: str | None = None, barcode: str | None = None) -> list[dict]:
        sql, args = "SELECT id FROM loans WHERE returned_at IS NULL", []
        if card is not None:
            sql += " AND card = ?"
            args.append(card)
        if barcode is not None:
            sql += " AND barcode = ?"
            args.append(barcode)
        return [self.loan(r["id"]) for r in self.db.query(sql + " ORDER BY issued_at, id", tuple(args))]

    def requests_of(self, card: str) -> list[dict]:
        """Holds as FOLIO requests (status enum of folio.md §6)."""
        out = []
        for h in self.db.holds_of(card):
            item = self.db.item_row(h.barcode)
            status = {"waiting": "Open - Awaiting pickup", "in_transit": "Open - In transit"}.get(
                h.status, "Open - Not yet filled")
            out.append({"id": uid("request", h.id), "requestType": "Hold", "requestLevel": "Item", "status": status,
                        "requesterId": uid("user", card), "itemId": uid("item", h.barcode),
                        "requestDate": folio_time(h.placed_at), "pickupServicePointId": sp_id(h.pickup_branch),
                        "pickupServicePoint": {"name": rules.BRANCH_NAMES.get(h.pickup_branch, "")},
                        "item": {"barcode": h.barcode, "title": item["title"] if item else ""},
                        "fulfillmentPreference": "Hold Shelf"})
        return out

    def accounts_of(self, card: str) -> list[dict]:
        """Open fees/fines (mod-feesfines accounts; ``remaining`` is what is still owed)."""
        out = []
        for f in self.db.fines_of(card):
            amount = Decimal(f["amount"]) / 100
            out.append({"id": uid("account", f["id"]), "userId": uid("user", card), "amount": float(amount),
                        "remaining": float(Decimal(f["amount"] - f["paid"]) / 100), "status": {"name": "Open"},
                        "paymentStatus": {"name": "Outstanding" if not f["paid"] else "Paid partially"},
                        "feeFineType": f["description"], "barcode": f["barcode"]})
        return out

    def manual_blocks_of(self, card: str) -> list[dict]:
        """The demo's barred patrons as manual blocks (folio.md §2 fields; staffInformation never shown)."""
        p = self.db.patron_row(card)
        if p is None or p["status"] == "active":
            return []
        desc = "Card reported lost" if p["status"] == "lost_card" else (p["block_note"] or "Blocked by staff")
        return [{"id": uid("block", card), "userId": uid("user", card), "type": "Manual", "desc": desc,
                 "patronMessage": "Please contact the library", "staffInformation": f"demo status {p['status']}",
                 "borrowing": True, "renewals": True, "requests": True}]

    def automated_blocks_of(self, card: str) -> list[dict]:
        """mod-patron-blocks conditions from the demo's limits (sample texts, folio.md §2)."""
        p = self.db.patron(card)
        if p is None:
            return []
        cat = rules.CATEGORIES[p.category]
        out = []
        if p.loans >= cat.max_loans:
            out.append(("max-items", True, False, "Patron has reached maximum allowed number of items charged out"))
        if p.overdue >= cat.max_overdue:
            out.append(("max-overdue", True, True, "Patron has reached maximum allowed number of overdue items"))
        if p.fines > cat.max_fines:
            out.append(("max-fines", True, True, "Patron has reached maximum allowed outstanding fee/fine "
                                                 "balance for his/her patron group"))
        return [{"patronBlockConditionId": uid("condition", c), "blockBorrowing": b, "blockRenewals": r,
                 "blockRequests": False, "message": m} for c, b, r, m in out]

    # ---- validations (every failure collected, FOLIO's order) -----------------------------
    def checkout_errors(self, user_barcode: str, item_barcode: str) -> list[dict]:
        """folio.md §3: service point -> user -> manual block -> automated block -> active -> item ->
        already checked out / open loan -> item status -> requested by another -> not loanable."""
        errors: list[dict] = []
        user = self.user(user_barcode)
        if user is None:
            errors.append(error("Could not find user with matching barcode", {"userBarcode": user_barcode},
                                "USER_BARCODE_NOT_FOUND"))
        else:
            manual = [b for b in self.manual_blocks_of(user_barcode) if b["borrowing"]]
            if manual:
                errors.append(error("Patron blocked from borrowing", {"reason": ";".join(b["desc"] for b in manual)},
                                    "USER_IS_BLOCKED_MANUALLY", "patronBlock"))
            for b in self.automated_blocks_of(user_barcode):
                if b["blockBorrowing"]:
                    errors.append(error(b["message"], None, "USER_IS_BLOCKED_AUTOMATICALLY", "patronBlock"))
            if not user["active"]:
                errors.append(error("Cannot check out to inactive user", {"userBarcode": user_barcode}))
        item = self.db.item(item_barcode)
        if item is None:
            errors.append(error(f"No item with barcode {item_barcode} could be found", {"itemBarcode": item_barcode}))
            return errors
        if self.db.loan_of_item(item_barcode) is not None:
            errors.append(error("Item is already checked out", {"itemBarcode": item_barcode}))
            errors.append(error("Cannot check out item that already has an open loan", {"itemBarcode": item_barcode},
                                "ITEM_HAS_OPEN_LOAN"))
        status = self.item_status(item_barcode)
        if status in ("Declared lost", "Missing", "Withdrawn"):
            errors.append(error(f"{item.title} ({item.policy.label}) (Barcode: {item_barcode}) has the item status "
                                f"{status} and cannot be checked out", {"itemBarcode": item_barcode}))
        served = rules.first_hold(self.db.holds_on(item_barcode))
        if served is not None and served.card != user_barcode and user is not None:
            name = last_first(self.db.patron_row(user_barcode)["name"])
            errors.append(error(f"{item.title} (Barcode: {item_barcode}) cannot be checked out to user {name} "
                                f"because it has been requested by another patron", {"userBarcode": user_barcode}))
        if not item.policy.for_loan:
            errors.append(error("Item is not loanable", {"itemBarcode": item_barcode,
                                                         "loanPolicyId": uid("policy", item.media),
                                                         "loanPolicyName": item.policy.label},
                                "ITEM_NOT_LOANABLE", "itemNotLoanableBlock"))
        return errors

    def renewal_errors(self, user_barcode: str, item_barcode: str) -> tuple[list[dict], str | None]:
        """folio.md §5.  (errors, text of a 500) -- no open loan is FOLIO's 500, not a 422."""
        item = self.db.item(item_barcode)
        if item is None:
            return [error(f"No item with barcode {item_barcode} exists", {"itemBarcode": item_barcode},
                          "ITEM_BARCODE_NOT_FOUND")], None
        loan = self.db.loan_of_item(item_barcode)
        if loan is None:
            return [], f"More than one open loan for item {item_barcode}"
        if loan.card != user_barcode:
            return [error("Cannot renew item checked out to different user", {"userBarcode": user_barcode},
                          "ITEM_CHECKED_OUT_TO_DIFFERENT_USER")], None
        errors: list[dict] = []
        user = self.user(user_barcode)
        if user is not None and not user["active"]:
            errors.append(error("Cannot renew loan when user is inactive or expired", {"reason": "User is inactive."},
                                "USER_IS_INACTIVE_OR_EXPIRED"))
        manual = [b for b in self.manual_blocks_of(user_barcode) if b["renewals"]]
        if manual:
            errors.append(error("Patron blocked from renewing", {"reason": ";".join(b["desc"] for b in manual)},
                                "USER_IS_BLOCKED_MANUALLY", "patronBlock"))
        for b in self.automated_blocks_of(user_barcode):
            if b["blockRenewals"]:
                errors.append(error(b["message"], None, "USER_IS_BLOCKED_AUTOMATICALLY", "patronBlock"))
        policy = {"loanPolicyId": uid("policy", item.media), "loanPolicyName": item.policy.label}
        if any(h.card != user_barcode for h in self.db.holds_on(item_barcode)):
            errors.append(error("Items with this loan policy cannot be renewed when there is an active, pending "
                                "hold request", policy, "RENEWAL_BLOCKED_BY_HOLD_REQUEST",
                                "renewalDueDateRequiredBlock"))
        if item.policy.max_renewals == 0:
            errors.append(error("loan is not renewable", policy, "LOAN_NOT_RENEWABLE", "renewalDueDateRequiredBlock"))
        elif loan.renewals >= item.policy.max_renewals:
            errors.append(error("loan at maximum renewal number", policy, "LOAN_RENEWAL_LIMIT_REACHED",
                                "renewalBlock"))
        elif rules.due_date(item.media, self.db.clock()) <= loan.due_at:
            errors.append(error("renewal would not change the due date", policy, "RENEWAL_WOULD_NOT_CHANGE_DUE_DATE"))
        return errors, None


# ---- the CQL subset the kiosk (and edge-sip2) send: clauses joined by "and" ------------------
_CLAUSE = re.compile(r'\s*\(?\s*([A-Za-z][\w.]*)\s*(==|=|<|>)\s*"((?:[^"\\]|\\.)*)"\s*\)?\s*')


class CqlError(ValueError):
    pass


def literal(clauses: list[tuple[str, str, str]], field: str) -> str | None:
    """The exact value an ``==`` clause on ``field`` asks for, when it holds no wildcard."""
    for f, op, pattern in clauses:
        if f == field and op == "==":
            plain = re.sub(r"\\(.)", r"\1", pattern)
            if re.escape(plain) == pattern:
                return plain
    return None


def parse_cql(query: str) -> list[tuple[str, str, str]]:
    """``a=="x" and (b=="y")`` -> [(field, op, pattern)], pattern a regex honouring CQL wildcards:
    an unescaped ``*``/``?`` is a wildcard even with ``==`` (folio.md §0), ``\\x`` is a literal x."""
    clauses, pos = [], 0
    while pos < len(query):
        m = _CLAUSE.match(query, pos)
        if not m:
            raise CqlError(f"unsupported CQL near {query[pos:pos + 30]!r}")
        field, op, raw = m.groups()
        pattern, i = "", 0
        while i < len(raw):
            c = raw[i]
            if c == "\\" and i + 1 < len(raw):
                pattern += re.escape(raw[i + 1])
                i += 2
                continue
            pattern += ".*" if c == "*" else "." if c == "?" else re.escape(c)
            i += 1
        clauses.append((field, op, pattern))
        pos = m.end()
        rest = re.match(r"and\s+", query[pos:], re.IGNORECASE)
        if rest:
            pos += rest.end()
        elif pos < len(query):
            raise CqlError(f"unsupported CQL near {query[pos:pos + 30]!r}")
    return clauses


def matches(record: dict, clauses: list[tuple[str, str, str]]) -> bool:
    for field, op, pattern in clauses:
        value: object = record
        for part in field.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        text = "" if value is None else str(value)
        if op == "==" and not re.fullmatch(pattern, text, re.DOTALL):
            return False
        if op == "=" and not re.search(r"(^|\W)" + pattern + r"(\W|$)", text, re.IGNORECASE):
            return False          # a word match: status="Open" matches "Open - Awaiting pickup"
        if op in ("<", ">"):
            unescaped = re.sub(r"\\(.)", r"\1", pattern)
            if not (text < unescaped if op == "<" else text > unescaped):
                return False
    return True
