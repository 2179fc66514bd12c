"""The demo library's FOLIO face: the HTTP subset a self-check kiosk uses, on loopback, over the
same SQLite library and rules as the SIP2 face (``kiosk demo-ils --http-port N``).

A double of FOLIO's *documented* behaviour (/work/shared/reference/folio.md, sections cited):
* §0 gateway: ``X-Okapi-Tenant`` required (400 ``Missing header: X-Okapi-Tenant``); no token ->
  400 ``Token missing, access requires permission: <perm>``; a bad or expired token -> 401
  ``Invalid token``; another tenant's token -> 403 ``Invalid token``; a missing permission -> 403
  ``Access for user '<u>' (<id>) requires permission: <perm>`` -- all text/plain.
* §1 auth: ``/authn/login-with-expiry`` (201, tokens only as ``Secure; HttpOnly`` cookies),
  ``/authn/refresh`` (single-use refresh tokens; reuse revokes all of the user's), legacy
  ``/authn/login`` only when ``legacy_login`` (else 404 ``Not found``); tokens expire.
* §2-§6 reads with the CQL subset (``==`` exact with wildcards, ``=`` word match, ``and``)
  (:mod:`kiosk.demo_ils.folio_reads`), and the PIN check and three circulation POSTs with
  mod-circulation's 422 shapes and texts, 200/201, and the renew-without-loan 500
  (:mod:`kiosk.demo_ils.folio_circulation`); ``PUT /inventory/items/{id}`` with ``_version``
  locking (409) for the station's shelf check (:mod:`kiosk.demo_ils.folio_items`).
This module is the gateway in front of them: tenant, tokens and permissions checked in FOLIO's
order, the route table, the replies on the wire, and the faults.
Faults for the tests (§7's ambiguous outcomes): :meth:`FolioDemoServer.fail_next` -- act, then
drop the connection or answer 502/504, or drop before acting.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import socket
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from kiosk.demo_ils import rules
from kiosk.demo_ils.db import LibraryDb
from kiosk.demo_ils.folio_circulation import write
from kiosk.demo_ils.folio_items import put_item
from kiosk.demo_ils.folio_model import CqlError, FolioView, folio_time, uid
from kiosk.demo_ils.folio_reads import read
from kiosk.demo_ils.library import Library

log = logging.getLogger(__name__)

# route -> the permission its module descriptor asks for (folio.md §1 "Permissions")
PERMISSIONS = {
    ("GET", "/users"): "users.collection.get",
    ("POST", "/patron-pin/verify"): "patron-pin.validate",
    ("GET", "/manualblocks"): "manualblocks.collection.get",
    ("GET", "/automated-patron-blocks"): "patron-blocks.automated-patron-blocks.collection.get",
    ("GET", "/circulation/loans"): "circulation.loans.collection.get",
    ("GET", "/circulation/requests"): "circulation.requests.collection.get",
    ("GET", "/accounts"): "accounts.collection.get",
    ("GET", "/service-points"): "inventory-storage.service-points.collection.get",
    ("GET", "/inventory/items"): "inventory.items.collection.get",
    ("PUT", "/inventory/items/{id}"): "inventory.items.item.put",
    ("POST", "/circulation/check-out-by-barcode"): "circulation.check-out-by-barcode.post",
    ("POST", "/circulation/check-in-by-barcode"): "circulation.check-in-by-barcode.post",
    ("POST", "/circulation/renew-by-barcode"): "circulation.renew-by-barcode.post",
}
ALL_PERMISSIONS = frozenset(PERMISSIONS.values())


class FolioDemoServer:
    """``start()`` returns once listening; ``url`` is the gateway base URL to configure."""

    def __init__(self, db: LibraryDb | str | Path, host: str = "127.0.0.1", port: int = 0, *, tenant: str = "diku",
                 user: str = "kiosk", password: str = "kiosk", access_ttl_s: float = 600.0,
                 refresh_ttl_s: float = 604800.0, legacy_login: bool = False, latency_ms: int = 0,
                 permissions: frozenset[str] | set[str] = ALL_PERMISSIONS, branch: str = rules.THIS_BRANCH,
                 reset: bool = False) -> None:
        self.own_db = not isinstance(db, LibraryDb)
        self.db = LibraryDb(db) if self.own_db else db
        if self.own_db:
            self.db.seed(reset=reset)
        self.view = FolioView(self.db)
        self.library = Library(self.db, branch=branch)
        self.branch = branch
        self.host, self._port = host, port
        self.tenant, self.user, self.password = tenant, user, password
        self.user_id = uid("kiosk-user", user)
        self.access_ttl_s, self.refresh_ttl_s = access_ttl_s, refresh_ttl_s
        self.legacy_login = legacy_login
        self.latency_s = max(0, latency_ms) / 1000.0
        self.permissions = set(permissions)
        self._lock = threading.Lock()
        self._access: dict[str, tuple[str, float]] = {}          # token -> (tenant, expires)
        self._refresh: dict[str, tuple[float, bool]] = {}        # token -> (expires, used)
        self._faults: list[list] = []                           # [method, path, mode, count]
        self.calls: list[tuple[str, str, int]] = []              # (method, path, status) answered
        self.received: list[tuple[str, str]] = []                # (method, path) of every request
        self._httpd: ThreadingHTTPServer | None = None
        self._conns: set[socket.socket] = set()                  # open keep-alive connections
        self._thread: threading.Thread | None = None

    # ---- control --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FolioDemoServer:
        handler = type("Handler", (_Handler,), {"app": self})
        self._httpd = ThreadingHTTPServer((self.host, self._port), handler)
        self._httpd.daemon_threads = True
        self._port = self._httpd.server_address[1]     # a restart after stop() comes back on the same port
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="demo-folio-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Idempotent: a test or the tour may have stopped the library already."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        # A stopped library answers nobody: keep-alive connections it served go down with it (as
        # the SIP2 server's do), or a pooled client would keep talking to a "down" library.
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.own_db:
            self.db.close()

    def __enter__(self) -> FolioDemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, method: str, path: str, mode: str, count: int = 1) -> None:
        """The next ``count`` calls of ``method path``: ``drop_after`` (act, close without a reply),
        ``drop_before`` (close without acting), ``502_after``/``504_after`` (act, then the gateway
        error), ``slow_after:S`` (act, answer S seconds later), ``conflict`` (item PUT only: someone
        else saves the item first, so the request's ``_version`` is stale -> 409)."""
        with self._lock:
            self._faults.append([method, path, mode, count])

    def expire_access_tokens(self) -> None:
        """Every access token expires now (as after ten idle minutes): the next call gets 401."""
        with self._lock:
            self._access = {t: (ten, 0.0) for t, (ten, _) in self._access.items()}

    def _fault(self, method: str, path: str) -> str | None:
        with self._lock:
            for f in self._faults:
                if f[0] == method and f[1] == path and f[3] > 0:
                    f[3] -= 1
                    return f[2]
        return None

    # ---- auth (folio.md §1) ---------------------------------------------------------------
    def _issue(self, tenant: str) -> tuple[list[str], dict]:
        now = time.time()
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        with self._lock:
            self._access[access] = (tenant, now + self.access_ttl_s)
            self._refresh[refresh] = (now + self.refresh_ttl_s, False)
        cookies = [f"folioAccessToken={access}; Max-Age={int(self.access_ttl_s)}; Path=/; Secure; HttpOnly; "
                   f"SameSite=Lax",
                   f"folioRefreshToken={refresh}; Max-Age={int(self.refresh_ttl_s)}; Path=/authn; Secure; "
                   f"HttpOnly; SameSite=Lax"]
        body = {"accessTokenExpiration": folio_time(datetime.fromtimestamp(now + self.access_ttl_s)),
                "refreshTokenExpiration": folio_time(datetime.fromtimestamp(now + self.refresh_ttl_s))}
        return cookies, body

    def refresh(self, token: str | None, tenant: str) -> tuple[list[str], dict] | None:
        with self._lock:
            entry = self._refresh.get(token or "")
            if entry is None or entry[1] or entry[0] < time.time():
                # a reused, unknown or expired refresh token revokes every refresh token of the user
                self._refresh = {t: (exp, True) for t, (exp, _) in self._refresh.items()}
                return None
            self._refresh[token] = (entry[0], True)
        return self._issue(tenant)

    def check_token(self, token: str | None, tenant: str) -> tuple[int, str] | None:
        with self._lock:
            entry = self._access.get(token or "")
        if entry is None or entry[1] < time.time():
            return 401, "Invalid token"
        if entry[0] != tenant:
            return 403, "Invalid token"
        return None


class _Handler(BaseHTTPRequestHandler):
    app: FolioDemoServer
    protocol_version = "HTTP/1.1"       # keep-alive, as a gateway does
    # headers and body go out in two writes: without TCP_NODELAY, Nagle holds the body until the
    # client's delayed ACK (~40 ms a reply on Linux loopback)
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with self.app._lock:
            self.app._conns.add(self.connection)

    def finish(self) -> None:
        with self.app._lock:
            self.app._conns.discard(self.connection)
        super().finish()

    def log_message(self, fmt: str, *args: object) -> None:    # quiet; the tests read app.calls
        # the request line's query string holds card numbers: path only (privacy)
        log.debug("folio demo: " + fmt, *(re.sub(r"\?\S*", "?…", a) if isinstance(a, str) else a for a in args))

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    # ---- replies --------------------------------------------------------------------------
    def _send(self, status: int, body: object = None, *, text: str | None = None,
              cookies: list[str] = (), headers: dict | None = None) -> None:
        if text is not None:
            data, ctype = text.encode(), "text/plain"
        elif body is None:
            data, ctype = b"", None
        else:
            data, ctype = json.dumps(body).encode(), "application/json"
        # Noted before the reply leaves: a client holding the reply may look at the calls at once
        # (noted after the write, the test of a single service-point lookup once saw none).
        self.app.calls.append((self.command, urlsplit(self.path).path, status))
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for c in cookies:
            self.send_header("Set-Cookie", c)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _handle(self, method: str) -> None:
        app = self.app
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        app.received.append((method, path))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if app.latency_s:
            time.sleep(app.latency_s)
        tenant = self.headers.get("X-Okapi-Tenant")
        if not tenant:
            return self._send(400, text="Missing header: X-Okapi-Tenant")
        if tenant != app.tenant:
            return self._send(400, text=f"No such Tenant {tenant}")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._send(400, text="Bad request: the body is not JSON")
        if path.startswith("/authn/"):
            return self._auth(path, body)
        route = "/automated-patron-blocks" if path.startswith("/automated-patron-blocks/") else path
        if method == "PUT" and path.startswith("/inventory/items/"):
            route = "/inventory/items/{id}"
        perm = PERMISSIONS.get((method, route))
        if perm is None:
            return self._send(404, text="Not found")
        token = self.headers.get("X-Okapi-Token") or self._cookie("folioAccessToken")
        if not token:
            return self._send(400, text=f"Token missing, access requires permission: {perm}")
        bad = app.check_token(token, tenant)
        if bad:
            return self._send(bad[0], text=bad[1])
        if perm not in app.permissions:
            return self._send(403, text=f"Access for user '{app.user}' ({app.user_id}) requires permission: {perm}")
        fault = app._fault(method, route)
        if fault == "drop_before":
            return self._drop()
        try:
            if method == "PUT":
                status, out, text, headers = put_item(app, path.rsplit("/", 1)[1],
                                                      body if isinstance(body, dict) else {},
                                                      conflict=fault == "conflict")
            else:
                status, out, text, headers = (read(app, route, path, query) if method == "GET"
                                              else write(app, route, body if isinstance(body, dict) else {}))
        except CqlError as exc:
            status, out, text, headers = 400, None, str(exc), None
        if fault == "drop_after":
            return self._drop()
        if fault in ("502_after", "504_after"):
            return self._send(int(fault[:3]), text="Bad Gateway" if fault[:3] == "502" else "Gateway Timeout")
        if fault and fault.startswith("slow_after:"):
            time.sleep(float(fault.split(":", 1)[1]))
        self._send(status, out, text=text, headers=headers)

    def _cookie(self, name: str) -> str | None:
        for part in (self.headers.get("Cookie") or "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == name:
                return v
        return None

    def _auth(self, path: str, body: object) -> None:
        app = self.app
        if path == "/authn/login-with-expiry":
            if not isinstance(body, dict) or body.get("username") != app.user or body.get("password") != app.password:
                return self._send(422, {"errors": [{"message": "Wrong username or wrong password or account blocked",
                                                    "code": "wrong.username.or.wrong.password.or.account.blocked",
                                                    "type": "error"}]})
            cookies, out = app._issue(self.headers["X-Okapi-Tenant"])
            return self._send(201, out, cookies=cookies)
        if path == "/authn/refresh":
            token = self._cookie("folioRefreshToken")
            if not token:
                return self._send(400, {"errors": [{"message": "Bad request", "code": "token.parse.failure"}]})
            issued = app.refresh(token, self.headers["X-Okapi-Tenant"])
            if issued is None:
                return self._send(422, {"errors": [{"message": "Authorization server unable to process token "
                                                               "refresh request", "code": "token.refresh.unprocessable"}]})
            return self._send(201, issued[1], cookies=issued[0])
        if path == "/authn/login" and app.legacy_login:
            if not isinstance(body, dict) or body.get("username") != app.user or body.get("password") != app.password:
                return self._send(422, {"errors": [{"message": "Wrong username or wrong password or account blocked",
                                                    "code": "wrong.username.or.wrong.password.or.account.blocked"}]})
            token = secrets.token_hex(16)
            with app._lock:
                app._access[token] = (self.headers["X-Okapi-Tenant"], float("inf"))
            return self._send(201, {"okapiToken": token}, headers={"x-okapi-token": token})
        return self._send(404, text="Not found")
