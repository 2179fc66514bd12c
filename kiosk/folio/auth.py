"""FOLIO tokens for the kiosk's service account (folio.md §1).

* ``POST /authn/login-with-expiry`` (201): the tokens come only as ``Set-Cookie`` headers
  (``folioAccessToken``, ``folioRefreshToken``), which are ``Secure`` -- so they are read from the
  headers here, never left to a cookie jar that would not send them over plain http.
  A 404 means the tenant does not offer it: the legacy ``/authn/login`` (a token that does not
  expire, in ``x-okapi-token``) is tried instead.
* Refresh before expiry (``REFRESH_MARGIN_S`` = 90 s, as edge-sip2; a quarter of the lifetime when
  tokens live shorter) with ``POST /authn/refresh`` and the refresh token as a cookie.
* **A refresh token is single-use**: presenting it twice revokes every refresh token of the user.
  So it is forgotten *before* it is sent; when a refresh fails in any way (even a lost reply)
  the kiosk logs in again with the password and never retries the refresh.
* Any 401 marks the access token dead (:meth:`invalidate`); :class:`kiosk.folio.http.FolioHttp`
  then sends the call once more with a new token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

from kiosk.errors import ConfigError, IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.folio.records import parse_time

log = logging.getLogger(__name__)

REFRESH_MARGIN_S = 90.0
LOGIN_FAILED = "wrong.username.or.wrong.password.or.account.blocked"


def cookies_of(set_cookie_headers: list[str]) -> dict[str, tuple[str, float | None]]:
    """name -> (value, max-age seconds or None) from raw ``Set-Cookie`` header values."""
    out: dict[str, tuple[str, float | None]] = {}
    for header in set_cookie_headers:
        jar = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        for name, morsel in jar.items():
            try:
                age = float(morsel["max-age"]) if morsel["max-age"] else None
            except ValueError:
                age = None
            out[name] = (morsel.value, age)
    return out


class TokenManager:
    """Thread-safe holder of the kiosk account's access token."""

    def __init__(self, http, user: str, password: Callable[[], str], clock: Callable[[], float] = time.time,
                 margin_s: float = REFRESH_MARGIN_S) -> None:
        self.http = http
        self.user = user
        self._password = password
        self.clock = clock
        self.margin_s = margin_s
        self._lock = threading.Lock()
        self._access: str | None = None
        self._access_expires: float | None = None     # None: does not expire (legacy token)
        self._refresh: str | None = None
        self._refresh_expires: float | None = None
        self._lifetime = 600.0
        self.legacy = False
        self.logins = 0
        self.refreshes = 0

    # ---- public --------------------------------------------------------------------------
    def token(self) -> str:
        with self._lock:
            if self._access and not self._expiring(self._access_expires):
                return self._access
            if self._refresh and not self._expiring(self._refresh_expires) and self._do_refresh():
                return self._access or ""
            self._login()
            return self._access or ""

    def invalidate(self, token: str | None) -> None:
        """That token got a 401: never use it again (a refresh, else a login, comes next)."""
        with self._lock:
            if token is None or token == self._access:
                self._access = None

    def login(self) -> None:
        """Log in now (``kiosk doctor``, the settings screen's connection test)."""
        with self._lock:
            self._login()

    # ---- internals -----------------------------------------------------------------------
    def _expiring(self, expires: float | None) -> bool:
        if expires is None:
            return False
        margin = min(self.margin_s, self._lifetime / 4)
        return expires - margin <= self.clock()

    def _take(self, reply) -> bool:
        """Keep the tokens of a login-with-expiry / refresh reply; False when there are none."""
        cookies = cookies_of(reply.set_cookies)
        access = cookies.get("folioAccessToken")
        if not access or not access[0]:
            return False
        now = self.clock()
        try:
            body = reply.json_dict() if reply.body else {}
        except ProtocolError:
            body = {}
        self._access = access[0]
        exp = parse_time(body.get("accessTokenExpiration"))
        self._access_expires = exp.timestamp() if exp else (now + access[1] if access[1] else now + 600)
        self._lifetime = max(1.0, self._access_expires - now)
        refresh = cookies.get("folioRefreshToken")
        self._refresh = refresh[0] if refresh else None
        rexp = parse_time(body.get("refreshTokenExpiration"))
        self._refresh_expires = rexp.timestamp() if rexp else (now + refresh[1] if refresh and refresh[1] else None)
        self.legacy = False
        return True

    def _do_refresh(self) -> bool:
        rt, self._refresh = self._refresh, None          # single-use: forgotten before it is sent
        try:
            reply = self.http.raw("POST", "/authn/refresh", headers={"Cookie": f"folioRefreshToken={rt}"})
        except (IlsUnavailable, OutcomeUnknown) as exc:
            log.info("FOLIO token refresh failed (%s); logging in again", exc)
            return False
        if reply.status == 201 and self._take(reply):
            self.refreshes += 1
            return True
        log.info("FOLIO token refresh refused (HTTP %d: %s); logging in again", reply.status, reply.text[:100])
        return False

    def _login(self) -> None:
        try:
            body = {"username": self.user, "password": self._password()}
        except ConfigError as exc:        # the password file went away or was opened to others
            raise IlsUnavailable(f"FOLIO login not tried: {exc}") from exc
        try:
            reply = self.http.raw("POST", "/authn/login-with-expiry", body=body)
        except OutcomeUnknown as exc:   # a lost login reply harms nothing: nothing was circulated
            raise IlsUnavailable(f"FOLIO login got no reply: {exc}") from exc
        if reply.status == 201 and self._take(reply):
            self.logins += 1
            return
        if reply.status == 404:          # tenant without refresh-token rotation: legacy login
            try:
                reply = self.http.raw("POST", "/authn/login", body=body)
            except OutcomeUnknown as exc:
                raise IlsUnavailable(f"FOLIO login got no reply: {exc}") from exc
            token = reply.headers.get("x-okapi-token") or reply.headers.get("X-Okapi-Token")
            if reply.status == 201 and not token:
                try:
                    token = reply.json_dict().get("okapiToken")
                except ProtocolError:
                    token = None
            if reply.status == 201 and token:
                self._access, self._access_expires, self._refresh = token, None, None
                self.legacy = True
                self.logins += 1
                return
        self._access = None
        raise IlsUnavailable(self._login_failure(reply))

    def _login_failure(self, reply) -> str:
        if reply.status == 422:
            return (f"FOLIO refused the login of user {self.user!r}: wrong user name or password, or the "
                    f"account is blocked ([ils] user, password_file)")
        if reply.status == 201:
            return "FOLIO login answered 201 without a token (folioAccessToken cookie missing)"
        return f"FOLIO login failed: HTTP {reply.status} {reply.text[:160]}"
