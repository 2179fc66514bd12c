"""FolioIls against replies shaped as FOLIO's documentation and code say, which the demo library's
FOLIO face does not produce (folio.md §1, §3): a 200 for a check-out, the legacy login, a failed
token refresh, CQL escaping, cookies without ``Secure``.  The demo library's own shapes are in
tests/test_folio_ils.py.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.test_folio_ils import make_ils


class Scripted:
    """A loopback HTTP server answering from a script: (method, path) -> [(status, headers, body)]."""

    def __init__(self, script):
        self.script = {k: list(v) for k, v in script.items()}
        self.seen = []
        self.queries = []
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _go(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                path = self.path.split("?")[0]
                outer.seen.append((self.command, path, dict(self.headers), body))
                outer.queries.append(self.path)
                replies = outer.script.get((self.command, path)) or [(404, {}, "Not found")]
                status, headers, out = replies.pop(0) if len(replies) > 1 else replies[0]
                data = out.encode() if isinstance(out, str) else json.dumps(out).encode()
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            do_GET = do_POST = _go

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


SP = "3a40852d-49fd-4df2-a1f9-6e2641a6e91f"
COOKIES = [("Set-Cookie", "folioAccessToken=AT1; Max-Age=600; Path=/okapi; Secure; HttpOnly; SameSite=None"),
           ("Set-Cookie", "folioRefreshToken=RT1; Max-Age=604800; Path=/okapi/authn; Secure; HttpOnly")]
LOGIN = (201, COOKIES, {"accessTokenExpiration": "2099-01-01T00:00:00Z",
                        "refreshTokenExpiration": "2099-01-08T00:00:00Z"})


def test_checkout_200_is_success_and_secure_cookies_work_over_plain_http():
    loan = {"id": "l1", "dueDate": "2026-03-22T23:59:59.000Z", "status": {"name": "Open"},
            "item": {"barcode": "I1", "title": "Solaris"}}
    s = Scripted({("POST", "/authn/login-with-expiry"): [LOGIN],
                  ("POST", "/circulation/check-out-by-barcode"): [(200, [], loan)]})
    ils = make_ils(s.url, sp=SP)
    try:
        r = ils.checkout("P1", "I1")
        assert r.ok and r.title == "Solaris" and r.due == "2026-03-22T23:59:59.000Z"
        method, path, headers, body = s.seen[-1]
        assert headers["X-Okapi-Token"] == "AT1" and headers["X-Okapi-Tenant"] == "diku"
        assert json.loads(body) == {"itemBarcode": "I1", "userBarcode": "P1", "servicePointId": SP}
    finally:
        ils.close()
        s.close()


def test_legacy_login_where_login_with_expiry_is_404_and_401_resends_once():
    s = Scripted({("POST", "/authn/login-with-expiry"): [(404, [], "Not found")],
                  ("POST", "/authn/login"): [(201, [("x-okapi-token", "LEGACY")], {"okapiToken": "LEGACY"})],
                  ("GET", "/inventory/items"): [(401, [("Content-Type", "text/plain")], "Invalid token"),
                                                (200, [], {"items": [], "totalRecords": 0})]})
    ils = make_ils(s.url, sp=SP)
    try:
        assert not ils.item_information("I1").known
        assert ils.auth.legacy and ils.auth.logins == 2              # the 401 killed the token: log in again
        assert [x[1] for x in s.seen].count("/inventory/items") == 2
    finally:
        ils.close()
        s.close()


def test_failed_refresh_falls_back_to_login_never_a_second_refresh():
    expiring = (201, COOKIES, {"accessTokenExpiration": "2000-01-01T00:00:00Z",
                               "refreshTokenExpiration": "2099-01-08T00:00:00Z"})
    s = Scripted({("POST", "/authn/login-with-expiry"): [expiring, LOGIN],
                  ("POST", "/authn/refresh"): [(422, [], {"errors": [{"message": "Authorization server unable to "
                                                          "process token refresh request",
                                                          "code": "token.refresh.unprocessable"}]})],
                  ("GET", "/inventory/items"): [(200, [], {"items": [], "totalRecords": 0})]})
    ils = make_ils(s.url, sp=SP)
    try:
        ils.auth.login()
        ils.item_information("I1")
        paths = [x[1] for x in s.seen]
        assert paths.count("/authn/refresh") == 1 and paths.count("/authn/login-with-expiry") == 2
        refresh = next(x for x in s.seen if x[1] == "/authn/refresh")
        assert refresh[2]["Cookie"] == "folioRefreshToken=RT1"        # the refresh token, not the access one
    finally:
        ils.close()
        s.close()


def test_barcodes_are_cql_escaped_on_the_wire():
    s = Scripted({("POST", "/authn/login-with-expiry"): [LOGIN],
                  ("GET", "/users"): [(200, [], {"users": [], "totalRecords": 0})]})
    ils = make_ils(s.url, sp=SP)
    try:
        assert not ils.patron_information('A*1"').valid
    finally:
        ils.close()
        s.close()
    from urllib.parse import parse_qs, urlsplit
    (query,) = [parse_qs(urlsplit(q).query) for q in s.queries if q.startswith("/users")]
    assert query["query"] == ['barcode=="A\\*1\\""'] and query["limit"] == ["2"]


def test_tokens_travel_only_as_the_header_never_as_a_stale_cookie():
    # a gateway whose cookies lack "Secure" (a plain-http test set-up): the session must not keep
    # them, or an expired folioAccessToken cookie would ride beside the fresh X-Okapi-Token
    plain = [("Set-Cookie", "folioAccessToken=AT1; Max-Age=600; Path=/; HttpOnly"),
             ("Set-Cookie", "folioRefreshToken=RT1; Max-Age=604800; Path=/authn; HttpOnly")]
    s = Scripted({("POST", "/authn/login-with-expiry"): [(201, plain, {"accessTokenExpiration": "2099-01-01T00:00:00Z"})],
                  ("GET", "/inventory/items"): [(200, [], {"items": [], "totalRecords": 0})]})
    ils = make_ils(s.url, sp=SP)
    try:
        ils.item_information("I1")
        ils.item_information("I2")
        gets = [x for x in s.seen if x[1] == "/inventory/items"]
        assert len(gets) == 2 and all("Cookie" not in h and h["X-Okapi-Token"] == "AT1" for _, _, h, _ in gets)
    finally:
        ils.close()
        s.close()
