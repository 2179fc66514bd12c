"""The demo library's FOLIO face checked against FOLIO's documentation (folio.md), with plain
``requests`` -- not through our client: gateway texts, login cookies, single-use refresh tokens,
422 shapes, the renew-without-loan 500, the CQL subset and its wildcards."""

from __future__ import annotations

import pytest
import requests

from kiosk.demo_ils.folio_http import FolioDemoServer


@pytest.fixture(scope="module")
def folio(tmp_path_factory):
    srv = FolioDemoServer(tmp_path_factory.mktemp("folio") / "library.sqlite3").start()
    yield srv, srv.db.export()
    srv.stop()


def login(url, tenant="diku", password="kiosk"):
    return requests.post(url + "/authn/login-with-expiry", json={"username": "kiosk", "password": password},
                         headers={"X-Okapi-Tenant": tenant}, timeout=5)


def tokens(reply):
    out = {}
    for header in reply.raw.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        out[name] = (rest.split(";")[0], header)
    return out


def test_gateway_texts_and_token_rules(folio):     # folio.md §0, §1
    srv, _ = folio
    url = srv.url
    r = requests.get(url + "/users", timeout=5)
    assert (r.status_code, r.text) == (400, "Missing header: X-Okapi-Tenant")
    r = requests.get(url + "/users", headers={"X-Okapi-Tenant": "diku"}, timeout=5)
    assert (r.status_code, r.text) == (400, "Token missing, access requires permission: users.collection.get")
    assert r.headers["Content-Type"].startswith("text/plain")
    r = requests.get(url + "/users", headers={"X-Okapi-Tenant": "diku", "X-Okapi-Token": "forged"}, timeout=5)
    assert (r.status_code, r.text) == (401, "Invalid token")
    bad = login(url, password="wrong")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["code"] == "wrong.username.or.wrong.password.or.account.blocked"
    ok = login(url)
    assert ok.status_code == 201 and set(ok.json()) == {"accessTokenExpiration", "refreshTokenExpiration"}
    cookies = tokens(ok)
    access, header = cookies["folioAccessToken"]
    assert "Secure" in header and "HttpOnly" in header
    assert "Path=/authn" in cookies["folioRefreshToken"][1]
    r = requests.get(url + "/users", params={"limit": "1"}, headers={"X-Okapi-Tenant": "diku",
                                                                     "Cookie": f"folioAccessToken={access}"}, timeout=5)
    assert r.status_code == 200 and set(r.json()) == {"users", "totalRecords"}    # the cookie works too
    # refresh: single use; presenting it again fails and revokes every refresh token of the user
    rt = cookies["folioRefreshToken"][0]
    h = {"X-Okapi-Tenant": "diku", "Cookie": f"folioRefreshToken={rt}"}
    first = requests.post(url + "/authn/refresh", headers=h, timeout=5)
    assert first.status_code == 201 and "folioAccessToken" in tokens(first)
    again = requests.post(url + "/authn/refresh", headers=h, timeout=5)
    assert again.status_code == 422 and again.json()["errors"][0]["code"] == "token.refresh.unprocessable"
    newer = tokens(first)["folioRefreshToken"][0]
    revoked = requests.post(url + "/authn/refresh", headers={"X-Okapi-Tenant": "diku",
                                                             "Cookie": f"folioRefreshToken={newer}"}, timeout=5)
    assert revoked.status_code == 422
    assert requests.post(url + "/authn/login", json={"username": "kiosk", "password": "kiosk"},
                         headers={"X-Okapi-Tenant": "diku"}, timeout=5).status_code == 404   # not a legacy tenant


def test_refusal_shapes_and_the_renew_500(folio):  # folio.md §3, §5
    srv, export = folio
    token = tokens(login(srv.url))["folioAccessToken"][0]
    h = {"X-Okapi-Tenant": "diku", "X-Okapi-Token": token}
    blocked = next(p["card"] for p in export["patrons"] if p["status"] == "blocked")
    on_loan = next(i for i in export["items"] if i["status"] == "on_loan")
    r = requests.post(srv.url + "/circulation/check-out-by-barcode", headers=h, timeout=5,
                      json={"userBarcode": blocked, "itemBarcode": on_loan["barcode"]})
    assert r.status_code == 422
    errors = r.json()["errors"]
    messages = [e["message"] for e in errors]
    # every failure in one reply, in FOLIO's check order
    assert messages[0] == "Check out must be performed at a service point"
    assert "Patron blocked from borrowing" in messages
    assert messages[-2:] == ["Item is already checked out", "Cannot check out item that already has an open loan"]
    block = next(e for e in errors if e["message"] == "Patron blocked from borrowing")
    assert block["code"] == "USER_IS_BLOCKED_MANUALLY" and block["overridableBlock"]["name"] == "patronBlock"
    assert isinstance(block["parameters"], list) and block["parameters"][0]["key"] == "reason"
    available = next(i["barcode"] for i in export["items"] if i["status"] == "available")
    r = requests.post(srv.url + "/circulation/renew-by-barcode", headers=h, timeout=5,
                      json={"userBarcode": blocked, "itemBarcode": available})
    assert (r.status_code, r.text) == (500, f"More than one open loan for item {available}")
    r = requests.post(srv.url + "/circulation/renew-by-barcode", headers=h, timeout=5,
                      json={"userBarcode": blocked, "itemBarcode": on_loan["barcode"]})
    assert r.json()["errors"][0]["code"] == "ITEM_CHECKED_OUT_TO_DIFFERENT_USER"
    r = requests.post(srv.url + "/circulation/check-in-by-barcode", headers=h, timeout=5, json={})
    assert [e["message"] for e in r.json()["errors"]] == [
        "Checkin request must have an item barcode", "Checkin request must have a service point id",
        "Checkin request must have an check in date"]


def test_cql_exact_match_wildcards_and_escapes(folio):   # folio.md §0
    srv, export = folio
    token = tokens(login(srv.url))["folioAccessToken"][0]
    h = {"X-Okapi-Tenant": "diku", "X-Okapi-Token": token}

    def items(query, limit=1000):
        r = requests.get(srv.url + "/inventory/items", params={"query": query, "limit": str(limit)}, headers=h,
                         timeout=5)
        assert r.status_code == 200
        return r.json()

    first = export["items"][0]["barcode"]
    assert [i["barcode"] for i in items(f'barcode=="{first}"')["items"]] == [first]
    wild = items('barcode=="39*"')                            # unescaped *: a wildcard even with ==
    assert wild["totalRecords"] == len(export["items"]) > 1
    assert items('barcode=="39\\*"')["totalRecords"] == 0     # escaped: the literal text "39*"
    assert len(items('barcode=="39*"', limit=10)["items"]) == 10 and items('barcode=="39*"')["totalRecords"] > 10
    r = requests.get(srv.url + "/circulation/requests", params={"query": 'status="Open"', "limit": "100"},
                     headers=h, timeout=5)
    statuses = {q["status"] for q in r.json()["requests"]}
    assert statuses and all(s.startswith("Open - ") for s in statuses)   # "=" is a word match
