"""The HTTP shell: a pool of ``requests.Session`` objects (one per worker, keep-alive), explicit
(connect, read) timeouts and a total deadline per call, and the one place that decides what a
failed call means for the kiosk's error contract:

* nothing was sent (connection refused, DNS, TLS verification, connect timeout) -> IlsUnavailable;
* sent, and no complete reply (read timeout, reset, deadline passed)            -> OutcomeUnknown.

Status codes are left to the caller (``FolioIls``), except 401 on an authenticated call: the token
is dead (folio.md §1 "Expiry handling": a 401 comes from the auth filter, so nothing ran), a new one
is fetched and the call is sent once more.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import itertools
import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, SSLError

from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
# FOLIO's reads carry card numbers and barcodes in the query string (``/users?query=barcode==...``):
# no log line and no error message may keep it (docs: privacy).
_QUERY = re.compile(r"\?[^\s'\"]*")


def scrub_url(text: str) -> str:
    """``/users?query=barcode%3D%3D%2212345%22&limit=2`` -> ``/users?…``."""
    return _QUERY.sub("?…", text)


class _NoQueryStrings(logging.Filter):
    """urllib3 logs every request's URL at DEBUG; keep the path, drop the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and "?" in a for a in record.args):
            record.args = tuple(scrub_url(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str) and "?" in record.msg and not record.args:
            record.msg = scrub_url(record.msg)
        return True


for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_NoQueryStrings())


@dataclass
class Reply:
    """One HTTP reply, read completely."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)   # case-insensitive from requests
    set_cookies: list[str] = field(default_factory=list)
    request_id: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8") if self.body else "null")   # FOLIO writes UTF-8
        except ValueError as exc:
            raise ProtocolError(f"FOLIO sent a reply that is not JSON (HTTP {self.status}): "
                                f"{self.text[:120]!r}") from exc

    def json_dict(self) -> dict:
        data = self.json()
        if not isinstance(data, dict):
            raise ProtocolError(f"FOLIO sent {type(data).__name__} where an object was expected (HTTP {self.status})")
        return data


class FolioHttp:
    """Thread-safe: each call borrows one pooled Session for its whole exchange."""

    def __init__(self, url: str, tenant: str, *, timeout_s: float = 10.0, pool_size: int = 4,
                 tls_ca_file: str = "", connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.base = url.rstrip("/")
        self.tenant = tenant
        self.timeout_s = float(timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.pool_size = max(1, int(pool_size))
        self.verify: bool | str = tls_ca_file or True      # TLS is verified by default
        self._idle: queue.LifoQueue[requests.Session] = queue.LifoQueue()
        self._made = 0
        self._lock = threading.Lock()
        self._closed = False
        self.token_source = None            # kiosk.folio.auth.TokenManager, set by FolioIls
        # X-Okapi-Request-Id: this kiosk's prefix + a counter, so support can find a call in the
        # gateway's log (cheaper than a uuid per call)
        self._rid_prefix = os.urandom(4).hex()
        self._rid = itertools.count(1)

    # ---- sessions ------------------------------------------------------------------------
    def _new_session(self) -> requests.Session:
        s = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)   # never a silent resend
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        s.verify = self.verify
        s.trust_env = False        # no proxy or netrc surprises on an appliance
        # No cookie jar: tokens are kept by kiosk.folio.auth and sent as X-Okapi-Token.  A jar would
        # keep login's folioAccessToken cookie and send it (stale) beside the header over https.
        s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        return s

    @contextlib.contextmanager
    def _session(self) -> Iterator[requests.Session]:
        if self._closed:
            raise IlsUnavailable("FOLIO connection pool is closed")
        try:
            s = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = self._made < self.pool_size
                if grow:
                    self._made += 1
            s = self._new_session() if grow else self._idle.get()
        try:
            yield s
        finally:
            if self._closed:
                s.close()
            else:
                self._idle.put(s)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    # ---- one exchange --------------------------------------------------------------------
    def raw(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
            token: str | None = None, headers: dict | None = None, timeout_s: float | None = None,
            accept: str = "application/json") -> Reply:
        """Send one request; read the whole reply within ``timeout_s`` (the call's total deadline)."""
        total = self.timeout_s if timeout_s is None else float(timeout_s)
        deadline = time.monotonic() + total
        rid = f"{self._rid_prefix}{next(self._rid):08x}"
        h = {"X-Okapi-Tenant": self.tenant, "Accept": accept, "X-Okapi-Request-Id": rid}
        if token:
            h["X-Okapi-Token"] = token
        data = None
        if body is not None:
            h["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        h.update(headers or {})
        what = f"{method} {path}"
        with self._session() as s:
            try:
                resp = s.request(method, self.base + path, params=params, data=data, headers=h, stream=True,
                                 allow_redirects=False,
                                 timeout=(min(self.connect_timeout_s, total), max(0.001, total)))
                chunks = []
                try:
                    for chunk in resp.iter_content(65536):
                        chunks.append(chunk)
                        if time.monotonic() > deadline:
                            raise OutcomeUnknown(f"FOLIO {what}: no complete reply within {total:g} s")
                finally:
                    resp.close()
            except (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError,
                    requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
                raise IlsUnavailable(f"FOLIO {self.base} unreachable ({what}): {_short(exc)}") from exc
            except requests.exceptions.ConnectionError as exc:
                if _not_sent(exc):
                    raise IlsUnavailable(f"FOLIO {self.base} unreachable ({what}): {_short(exc)}") from exc
                raise OutcomeUnknown(f"FOLIO {what}: sent, the connection broke before a reply "
                                     f"({_short(exc)})") from exc
            except requests.exceptions.RequestException as exc:     # read timeout, broken chunks
                raise OutcomeUnknown(f"FOLIO {what}: sent, no reply in time ({_short(exc)})") from exc
        cookies = []
        raw_headers = getattr(resp.raw, "headers", None)
        if raw_headers is not None and hasattr(raw_headers, "getlist"):
            cookies = list(raw_headers.getlist("Set-Cookie"))
        elif resp.headers.get("Set-Cookie"):
            cookies = [resp.headers["Set-Cookie"]]
        return Reply(status=resp.status_code, body=b"".join(chunks), headers=resp.headers,
                     set_cookies=cookies, request_id=rid)

    def call(self, method: str, path: str, **kw: Any) -> Reply:
        """An authenticated call: a 401 means the token died, so get a new one and resend once."""
        auth = self.token_source
        if auth is None:
            return self.raw(method, path, **kw)
        token = auth.token()
        reply = self.raw(method, path, token=token, **kw)
        if reply.status == 401:
            log.info("FOLIO %s %s: 401 (%s); new token, sending once more", method, path, reply.text[:60])
            auth.invalidate(token)
            reply = self.raw(method, path, token=auth.token(), **kw)
        return reply


def _not_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """A connection that never opened (refused, no route, DNS, TLS) -- so no request left us."""
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, MaxRetryError):
        return isinstance(inner.reason, ConnectTimeoutError | SSLError)   # NewConnectionError is one
    return False


def _short(exc: Exception) -> str:
    text = scrub_url(str(exc))
    return text if len(text) < 200 else text[:200] + "..."
