"""FolioIls: the kiosk's :class:`~kiosk.ils.base.Ils` over FOLIO's HTTP API (folio.md).

Calls (all through the gateway, with ``X-Okapi-Tenant`` and ``X-Okapi-Token``):
patron -> ``/users`` by barcode, ``/patron-pin/verify``, ``/manualblocks``,
``/automated-patron-blocks/<id>``, ``/circulation/loans``, ``/circulation/requests``, ``/accounts``;
item -> ``/inventory/items`` by barcode + its open loan (and, for the shelf check, a PUT of the
item with ``lastCheckIn``: :mod:`kiosk.folio.seen`); circulation -> ``/circulation/check-out-by-
barcode``, ``/check-in-by-barcode``, ``/renew-by-barcode`` with this kiosk's service point.

This module holds the class, its reads (patrons, items, the service point) and the one place that
turns a read's HTTP status into the :mod:`kiosk.ils.base` error contract.  The rest is mixed in:
:mod:`kiosk.folio.circulation` (the three circulation calls, never sent twice blindly, settled
with :mod:`kiosk.folio.settle` when a reply is lost), :mod:`kiosk.folio.pins` (the PIN check and
the kiosk's own lock-out, which FOLIO lacks) and :mod:`kiosk.folio.seen` (the shelf check).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from kiosk.appliance.privacy import mask
from kiosk.config.checks import is_uuid
from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.folio import cql
from kiosk.folio import records as rec
from kiosk.folio.auth import TokenManager
from kiosk.folio.circulation import MIN_POST_TIMEOUT_S, Circulation
from kiosk.folio.http import FolioHttp, Reply
from kiosk.folio.pins import PIN_LOCKED_TEXT, PatronPins
from kiosk.folio.refusals import missing_permission
from kiosk.folio.seen import ItemSeen
from kiosk.ils.base import Ils, IlsStatus, ItemInfo, Patron

log = logging.getLogger(__name__)


class FolioPermissionError(IlsUnavailable):
    """FOLIO's auth filter refused a call for want of a permission (nothing ran)."""

    def __init__(self, message: str, permission: str) -> None:
        super().__init__(message)
        self.permission = permission


class FolioIls(Circulation, PatronPins, ItemSeen, Ils):
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
