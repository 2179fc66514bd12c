"""FolioIls: the kiosk's :class:`~kiosk.ils.base.Ils` over FOLIO's HTTP API (folio.md).

Calls (all through the gateway, with ``X-Okapi-Tenant`` and ``X-Okapi-Token``):
patron -> ``/users`` by barcode, ``/patron-pin/verify``, ``/manualblocks``,
``/automated-patron-blocks/<id>``, ``/circulation/loans``, ``/circulation/requests``, ``/accounts``;
item -> ``/inventory/items`` by barcode + its open loan (and, for the shelf check, a PUT of the
item with ``lastCheckIn``: :mod:`kiosk.folio.seen`); circulation -> ``/circulation/check-out-by-
barcode``, ``/check-in-by-barcode``, ``/renew-by-barcode`` with this kiosk's service point.

No doubles (folio.md §7): none of the three circulation calls is idempotent and FOLIO has no
idempotency key, so a call is never sent twice blindly.  A lost reply (sent, no answer; reset;
500/502/503/504) is settled with the item's open loan (``itemId==X and status.name==Open``):
* check-out: an open loan for this patron = done; for someone else = refused; none = it did not
  happen, and only then is the same check-out sent once more;
* check-in: no open loan = the return is done (routing from the item's status); still open = it
  did not happen, sent once more with the *same* ``checkInDate``;
* renewal: ``renewalCount`` higher or ``dueDate`` later than before = renewed; unchanged = sent once
  more.
Only that positive evidence settles; when the loans cannot be read, :class:`OutcomeUnknown` goes up
and the engine puts the row in the staff queue.  An item whose outcome stayed unknown is remembered,
and the next call for it settles first (the engine's own retry cannot double it either).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from kiosk.config_checks import is_uuid
from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.folio import cql
from kiosk.folio import records as rec
from kiosk.folio.auth import TokenManager
from kiosk.folio.http import FolioHttp, Reply
from kiosk.folio.refusals import is_renew_without_loan, missing_permission, refusal
from kiosk.folio.seen import ItemSeen
from kiosk.folio.settle import LostReplies
from kiosk.ils.base import (
    CheckinResult,
    CheckoutResult,
    Ils,
    IlsStatus,
    ItemInfo,
    Patron,
    RenewAllResult,
)
from kiosk.privacy import mask

log = logging.getLogger(__name__)

CHECK_OUT = "/circulation/check-out-by-barcode"
CHECK_IN = "/circulation/check-in-by-barcode"
RENEW = "/circulation/renew-by-barcode"
AMBIGUOUS_STATUS = (500, 502, 503, 504)
# folio.md §7: check-out runs ~20 lookups and writes in sequence; allow a generous wait before a
# circulation call is called ambiguous (reads keep [ils] timeout_s).
MIN_POST_TIMEOUT_S = 30.0
# FOLIO's /patron-pin/verify has no lock-out or rate limit (folio.md §2): the kiosk keeps its own.
# After PIN_MAX_FAILS wrong PINs for one card within PIN_WINDOW_S, that card's PIN is not checked
# (and so never accepted) at this kiosk for PIN_LOCK_S.
PIN_MAX_FAILS = 5
PIN_WINDOW_S = 900.0
PIN_LOCK_S = 900.0
PIN_LOCKED_TEXT = "Too many wrong PINs: please ask at the desk"


class FolioPermissionError(IlsUnavailable):
    """FOLIO's auth filter refused a call for want of a permission (nothing ran)."""

    def __init__(self, message: str, permission: str) -> None:
        super().__init__(message)
        self.permission = permission


class FolioIls(LostReplies, ItemSeen, Ils):
    """Thread-safe: each call borrows one pooled ``requests.Session``."""

    def __init__(self, http: FolioHttp, auth: TokenManager, service_point: str, *,
                 post_timeout_s: float | None = None, clock: Callable[[], datetime] = datetime.now) -> None:
        self.http = http
        self.auth = auth
        http.token_source = auth
        self.service_point = service_point.strip()
        self.pool_size = http.pool_size
        self.post_timeout_s = post_timeout_s if post_timeout_s is not None else max(http.timeout_s,
                                                                                    MIN_POST_TIMEOUT_S)
        self.clock = clock
        self._sp_id: str | None = self.service_point if is_uuid(self.service_point) else None
        self._sp_name = ""
        self._lock = threading.Lock()
        self._user_ids: dict[str, str] = {}        # patron barcode -> user UUID (never changes)
        self._barcodes: dict[str, str] = {}        # user UUID -> barcode
        self._unsettled: dict[tuple[str, str], dict] = {}   # (kind, item) -> what the lost call carried
        self._pin_fails: dict[str, list[float]] = {}         # user UUID -> times of wrong PINs
        self.monotonic = time.monotonic

    @classmethod
    def from_settings(cls, settings, **kw) -> FolioIls:  # noqa: ANN001 - kiosk.config.Settings
        ils = settings.ils
        http = FolioHttp(ils.url, ils.tenant, timeout_s=ils.timeout_s, pool_size=ils.pool_size,
                         tls_ca_file=ils.tls_ca_file)
        settings.ils_password()      # a missing or world-readable password file stops the start
        # ...and is read again at each login, so a changed password file needs no restart
        auth = TokenManager(http, ils.user, settings.ils_password)
        return cls(http, auth, ils.service_point, **kw)

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ plumbing
    def _denied(self, reply: Reply, what: str) -> IlsUnavailable:
        perm = missing_permission(reply.text)
        if perm:
            return FolioPermissionError(f"FOLIO refused {what}: the kiosk's FOLIO user lacks the permission "
                                        f"{perm} (docs/folio.md lists what it needs)", perm)
        return IlsUnavailable(f"FOLIO refused {what}: HTTP {reply.status} {reply.text[:160]}")

    def _get(self, path: str, params: dict | None = None, *, allow_404: bool = False) -> dict | None:
        """A read.  Safe to resend, so one lost reply is retried; a failure changes nothing there."""
        try:
            reply = self.http.call("GET", path, params=params)
        except OutcomeUnknown:
            try:
                reply = self.http.call("GET", path, params=params)
            except OutcomeUnknown as exc:
                raise IlsUnavailable(f"FOLIO GET {path}: no reply ({exc})") from exc
        if reply.status == 200:
            return reply.json_dict()
        if reply.status == 404 and allow_404:
            return None
        if reply.status in (400, 401, 403):
            raise self._denied(reply, f"GET {path}")
        if reply.status >= 500:
            raise IlsUnavailable(f"FOLIO GET {path}: HTTP {reply.status} {reply.text[:160]}")
        raise ProtocolError(f"FOLIO GET {path}: unexpected HTTP {reply.status} {reply.text[:160]}")

    def _collection(self, path: str, key: str, query: str, limit: int) -> list[dict]:
        data = self._get(path, {"query": query, "limit": str(limit)}) or {}
        rows = data.get(key)
        if not isinstance(rows, list):
            raise ProtocolError(f"FOLIO GET {path}: no {key!r} list in the reply")
        return [r for r in rows if isinstance(r, dict)]

    def _post(self, path: str, body: dict, what: str) -> Reply:
        """A circulation call: sent once.  OutcomeUnknown for a lost reply or a 5xx (which may or may
        not have reached mod-circulation, folio.md §7); the caller settles it."""
        reply = self.http.call("POST", path, body=body, timeout_s=self.post_timeout_s)
        if reply.status in (400, 401, 403) and (missing_permission(reply.text) or reply.status != 400):
            raise self._denied(reply, what)
        return reply

    def service_point_id(self) -> str:
        """The configured service point's UUID; a code is looked up once (folio.md §2)."""
        with self._lock:
            if self._sp_id:
                return self._sp_id
        rows = self._collection("/service-points", "servicepoints", cql.service_point_by_code(self.service_point), 2)
        if len(rows) != 1 or not rows[0].get("id"):
            raise IlsUnavailable(f"FOLIO has {'no' if not rows else 'more than one'} service point with code "
                                 f"{self.service_point!r} ([ils] service_point)")
        with self._lock:
            self._sp_id, self._sp_name = str(rows[0]["id"]), str(rows[0].get("name") or "")
        return self._sp_id

    def _now(self) -> datetime:
        return self.clock().replace(microsecond=0)

    # ------------------------------------------------------------------ users and items
    def _users(self, barcode: str) -> list[dict]:
        users = self._collection("/users", "users", cql.user_by_barcode(barcode), 2)
        for u in users:
            if u.get("id") and u.get("barcode"):
                with self._lock:
                    self._user_ids[str(u["barcode"])] = str(u["id"])
                    self._barcodes[str(u["id"])] = str(u["barcode"])
        return users

    def _user_id(self, barcode: str) -> str | None:
        with self._lock:
            known = self._user_ids.get(barcode)
        if known:
            return known
        users = self._users(barcode)
        return str(users[0]["id"]) if len(users) == 1 else None

    def _barcode_of(self, user_id: str) -> str:
        with self._lock:
            known = self._barcodes.get(user_id)
        if known:
            return known
        rows = self._collection("/users", "users", cql.by_id(user_id), 1)
        bc = str(rows[0].get("barcode") or "") if rows else ""
        if bc:
            with self._lock:
                self._barcodes[user_id] = bc
        return bc

    def pin_locked(self, user_id: str) -> bool:
        now = self.monotonic()
        with self._lock:
            fails = [t for t in self._pin_fails.get(user_id, ()) if now - t < max(PIN_WINDOW_S, PIN_LOCK_S)]
            self._pin_fails[user_id] = fails
            recent = [t for t in fails if now - t < PIN_WINDOW_S]
            return len(recent) >= PIN_MAX_FAILS and now - fails[-1] < PIN_LOCK_S

    def _pin_ok(self, user_id: str, pin: str) -> bool:
        """POST /patron-pin/verify: 200 = match; 422 = wrong PIN *or* none set (folio.md §2).
        FOLIO has no lock-out here, so the kiosk keeps one (PIN_MAX_FAILS): a locked card's PIN is
        not even sent."""
        if self.pin_locked(user_id):
            log.warning("PIN check of user %s refused: too many wrong PINs at this kiosk", mask(user_id))
            return False
        ok = self._verify_pin(user_id, pin)
        with self._lock:
            if ok:
                self._pin_fails.pop(user_id, None)
            else:
                self._pin_fails.setdefault(user_id, []).append(self.monotonic())
        return ok

    def _verify_pin(self, user_id: str, pin: str) -> bool:
        reply = self.http.call("POST", "/patron-pin/verify", body={"id": user_id, "pin": pin},
                               accept="text/plain")
        if reply.status in (200, 204):
            return True
        if reply.status == 422:
            return False
        if reply.status in (400, 401, 403):
            raise self._denied(reply, "the PIN check")
        raise IlsUnavailable(f"FOLIO PIN check: HTTP {reply.status} {reply.text[:160]}")

    def _item(self, barcode: str) -> dict | None:
        rows = self._collection("/inventory/items", "items", cql.item_by_barcode(barcode), 1)
        return rows[0] if rows else None

    def _open_loans(self, item_uuid: str) -> list[dict]:
        return self._collection("/circulation/loans", "loans", cql.open_loans_of_item(item_uuid), 2)

    # ------------------------------------------------------------------ status and patrons
    def status(self) -> IlsStatus:
        """Asks FOLIO every time (the engine's probe calls this to find the library back, or gone):
        with the token and the service point cached, nothing else here would touch the network."""
        self.auth.token()
        sp = self.service_point_id()
        rows = self._collection("/service-points", "servicepoints", cql.by_id(sp), 1)
        if rows and rows[0].get("name"):
            with self._lock:
                self._sp_name = str(rows[0]["name"])
        return IlsStatus(online=True, checkin_ok=True, checkout_ok=True, renewal_ok=True, offline_ok=True,
                         timeout_s=self.http.timeout_s, library_name=self._sp_name, supported="")

    def patron_information(self, patron_id: str, pin: str | None = None) -> Patron:
        users = self._users(patron_id)
        now = self._now()
        if len(users) != 1:
            if users:
                log.warning("patron %s: %d FOLIO users share this barcode", mask(patron_id), len(users))
            return rec.patron_record(patron_id, None, now=now, duplicate=len(users) > 1)
        user = users[0]
        uid = str(user.get("id") or "")
        pin_ok = self._pin_ok(uid, pin) if pin is not None else None
        if pin_ok is False:            # nothing more about the account for a wrong PIN
            wrong = rec.patron_record(patron_id, user, now=now, pin_ok=False)
            if self.pin_locked(uid):
                wrong = replace(wrong, screen_message=PIN_LOCKED_TEXT)
            return wrong
        manual = self._collection("/manualblocks", "manualblocks", cql.manual_blocks_of_user(uid), 100)
        auto = (self._get(f"/automated-patron-blocks/{uid}") or {}).get("automatedPatronBlocks") or []
        loans = self._collection("/circulation/loans", "loans", cql.open_loans_of_user(uid), 500)
        requests_ = self._collection("/circulation/requests", "requests", cql.open_requests_of_user(uid), 100)
        accounts = self._collection("/accounts", "accounts", cql.open_accounts_of_user(uid), 1000)
        return rec.patron_record(patron_id, user, now=now, pin_ok=pin_ok, manual_blocks=manual,
                                 automated_blocks=[b for b in auto if isinstance(b, dict)], loans=loans,
                                 requests=requests_, accounts=accounts)

    def end_patron_session(self, patron_id: str) -> None:
        return None          # FOLIO keeps no patron session

    def item_information(self, item_id: str) -> ItemInfo:
        item = self._item(item_id)
        if item is None:
            return rec.item_record(item_id, None, None)
        loans = self._open_loans(str(item.get("id") or ""))
        loan = loans[0] if len(loans) == 1 else None
        if len(loans) > 1:
            raise ProtocolError(f"FOLIO lists {len(loans)} open loans for item {mask(item_id)}")
        borrower = ""
        if loan is not None:
            borrower = str(rec._get(loan, "borrower", "barcode") or "") or self._barcode_of(str(loan.get("userId") or ""))
        return rec.item_record(item_id, item, loan, borrower)

    # ------------------------------------------------------------------ circulation
    def _pin_refusal(self, patron_id: str, item_id: str, pin: str | None) -> CheckoutResult | None:
        """FOLIO's check-out and renewal take no PIN: it is verified first (as edge-sip2 does)."""
        if pin is None:
            return None
        uid = self._user_id(patron_id)
        if uid is None or self._pin_ok(uid, pin):
            return None          # an unknown card is refused by the circulation call itself
        return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id, screen_message="Invalid PIN",
                              reason_key="wrong_pin")

    def checkout(self, patron_id: str, item_id: str, *, pin: str | None = None, no_block: bool = False,
                 transaction_date: datetime | None = None, nb_due_date: datetime | None = None,
                 fee_acknowledged: bool = False) -> CheckoutResult:
        refused = self._pin_refusal(patron_id, item_id, pin)
        if refused is not None:
            return refused
        body = {"itemBarcode": item_id, "userBarcode": patron_id, "servicePointId": self.service_point_id()}
        if no_block and transaction_date is not None:
            # an offline checkout replayed: the loan starts when the patron took the item (FOLIO
            # computes the due date itself; the kiosk's promised date cannot be imposed)
            body["loanDate"] = rec.format_time(min(transaction_date, self._now()))
        key = ("checkout", item_id)
        with self._lock:
            earlier = self._unsettled.get(key)
        if earlier is not None:                  # an earlier call's outcome is still unknown
            settled = self._settle_checkout(patron_id, item_id, None)
            if settled is not None:
                return settled
        for attempt in range(2):
            try:
                reply = self._post(CHECK_OUT, body, f"the check-out of item {mask(item_id)}")
                if reply.status in AMBIGUOUS_STATUS:
                    raise OutcomeUnknown(f"FOLIO check-out: HTTP {reply.status} {reply.text[:100]}")
            except OutcomeUnknown as lost:
                log.warning("check-out of item %s: no reply (%s); settling with the loans query",
                            mask(item_id), lost)
                with self._lock:
                    self._unsettled[key] = body
                settled = self._settle_checkout(patron_id, item_id, lost)
                if settled is not None:
                    return settled
                if attempt == 1:
                    raise OutcomeUnknown(f"check-out of item {mask(item_id)}: no reply twice; it has not "
                                         f"happened so far (no open loan)") from lost
                log.info("item %s has no open loan: the lost check-out did not happen; sending it again",
                         mask(item_id))
                continue
            with self._lock:
                self._unsettled.pop(key, None)
            return self._checkout_answer(reply, patron_id, item_id, resolved=attempt == 1)
        raise AssertionError("unreachable")

    def _checkout_answer(self, reply: Reply, patron_id: str, item_id: str, resolved: bool) -> CheckoutResult:
        if reply.status in (200, 201):      # 200: the loan exists, a side effect failed (folio.md §3)
            return rec.checkout_record(reply.json_dict(), patron_id, item_id, resolved=resolved)
        if reply.status == 422:
            r = refusal(reply.body)
            if r.has("on_loan_to_other"):
                # "already checked out": to this very patron it is a success (a check-out whose
                # reply was lost, or an item already on the patron's card) -- folio.md §7
                mine = self._settle_checkout(patron_id, item_id, None, quiet=True)
                if mine is not None and mine.ok:
                    return mine
            return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id, screen_message=r.text,
                                  reason_key=r.reason_key, resolved=resolved, title=self._title_of(item_id))
        raise ProtocolError(f"FOLIO check-out: unexpected HTTP {reply.status} {reply.text[:160]}")

    def _title_of(self, item_id: str) -> str:
        """FOLIO's 422 carries errors only, no item (SIP2's refusal names the title): the patron's
        "not borrowed" list should still say which book, so the title is read from inventory.  Best
        effort: a refusal is never turned into an error for want of a title."""
        try:
            item = self._item(item_id)
        except (IlsUnavailable, ProtocolError, OutcomeUnknown):
            return ""
        return str((item or {}).get("title") or "")

    def checkin(self, item_id: str, *, no_block: bool = False, transaction_date: datetime | None = None,
                return_date: datetime | None = None) -> CheckinResult:
        now = self._now()
        when = min(return_date or transaction_date or now, now)       # never a future date
        key = ("checkin", item_id)
        with self._lock:
            earlier = self._unsettled.get(key)
        body = earlier or {"itemBarcode": item_id, "servicePointId": self.service_point_id(),
                           "checkInDate": rec.format_time(when)}
        if earlier is not None:
            done = self._settle_checkin(item_id, None)
            if done is not None:
                return done
        for attempt in range(2):
            try:
                reply = self._post(CHECK_IN, body, f"the check-in of item {mask(item_id)}")
                if reply.status in AMBIGUOUS_STATUS:
                    raise OutcomeUnknown(f"FOLIO check-in: HTTP {reply.status} {reply.text[:100]}")
            except OutcomeUnknown as lost:
                log.warning("check-in of item %s: no reply (%s); settling with the loans query", mask(item_id), lost)
                with self._lock:
                    self._unsettled[key] = body     # a resend keeps the original checkInDate
                done = self._settle_checkin(item_id, lost)
                if done is not None:
                    return done
                if attempt == 1:
                    raise OutcomeUnknown(f"check-in of item {mask(item_id)}: no reply twice; the loan is "
                                         f"still open") from lost
                continue
            with self._lock:
                self._unsettled.pop(key, None)
            if reply.status == 200:
                return rec.checkin_record(reply.json_dict(), item_id)
            if reply.status == 422:
                r = refusal(reply.body)
                return CheckinResult(ok=False, item_id=item_id, screen_message=r.text, reason_key=r.reason_key)
            raise ProtocolError(f"FOLIO check-in: unexpected HTTP {reply.status} {reply.text[:160]}")
        raise AssertionError("unreachable")

    def renew(self, patron_id: str, item_id: str, *, pin: str | None = None, no_block: bool = False,
              transaction_date: datetime | None = None) -> CheckoutResult:
        refused = self._pin_refusal(patron_id, item_id, pin)
        if refused is not None:
            return refused
        try:     # the "before" state to compare with if the reply is lost (folio.md §7)
            item = self._item(item_id)
            before_loans = self._open_loans(str(item.get("id"))) if item else []
        except OutcomeUnknown as exc:
            raise IlsUnavailable(f"renewal of item {mask(item_id)} not sent: its loan could not be read") from exc
        before = before_loans[0] if len(before_loans) == 1 else None
        body = {"itemBarcode": item_id, "userBarcode": patron_id, "servicePointId": self.service_point_id()}
        for attempt in range(2):
            try:
                reply = self._post(RENEW, body, f"the renewal of item {mask(item_id)}")
                if reply.status in AMBIGUOUS_STATUS and not is_renew_without_loan(reply.status, reply.body):
                    raise OutcomeUnknown(f"FOLIO renewal: HTTP {reply.status} {reply.text[:100]}")
            except OutcomeUnknown as lost:
                log.warning("renewal of item %s: no reply (%s); settling with the loans query", mask(item_id), lost)
                settled = self._settle_renewal(patron_id, item_id, item, before, lost)
                if settled is not None:
                    return settled
                if attempt == 1:
                    raise OutcomeUnknown(f"renewal of item {mask(item_id)}: no reply twice") from lost
                continue
            return self._renew_answer(reply, patron_id, item_id, resolved=attempt == 1)
        raise AssertionError("unreachable")

    def _renew_answer(self, reply: Reply, patron_id: str, item_id: str, resolved: bool) -> CheckoutResult:
        if reply.status in (200, 201):
            return rec.checkout_record(reply.json_dict(), patron_id, item_id, resolved=resolved, renewal=True)
        if reply.status == 422 or is_renew_without_loan(reply.status, reply.body):
            r = refusal(reply.body)
            return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id, screen_message=r.text,
                                  reason_key=r.reason_key, resolved=resolved)
        raise ProtocolError(f"FOLIO renewal: unexpected HTTP {reply.status} {reply.text[:160]}")

    def renew_all(self, patron_id: str, *, pin: str | None = None) -> RenewAllResult:
        patron = self.patron_information(patron_id, pin)
        if not patron.valid or patron.pin_ok is False:
            return RenewAllResult(ok=False, screen_message=patron.screen_message or "Invalid patron")
        renewed, unrenewed = [], []
        for loan in patron.loans:
            r = self.renew(patron_id, loan.item_id)
            (renewed if r.ok else unrenewed).append(loan.item_id)
        return RenewAllResult(ok=True, renewed=tuple(renewed), unrenewed=tuple(unrenewed),
                              screen_message=f"{len(renewed)} renewed, {len(unrenewed)} not renewed")
