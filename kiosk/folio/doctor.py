"""``kiosk doctor`` and the settings screen's connection test for ``[ils] protocol = "folio"``.

Checks, in order, what a kiosk needs: the gateway answers; the kiosk's user logs in
(/authn/login-with-expiry, or the legacy /authn/login); the service point exists; and the user
holds every permission the kiosk uses (folio.md §1 "Permissions").  Permissions are probed
without changing anything: reads with ``limit=0``, and the circulation POSTs with an empty body,
which the auth filter refuses with 403 *before* the module sees it when the permission is missing,
and mod-circulation otherwise refuses as invalid (422) without writing.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError

# (method, path, permission) -- what FolioIls calls (folio.md §1-§6)
PROBES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/users", "users.collection.get"),
    ("GET", "/inventory/items", "inventory.items.collection.get"),
    ("GET", "/circulation/loans", "circulation.loans.collection.get"),
    ("GET", "/circulation/requests", "circulation.requests.collection.get"),
    ("GET", "/accounts", "accounts.collection.get"),
    ("GET", "/manualblocks", "manualblocks.collection.get"),
    ("POST", "/patron-pin/verify", "patron-pin.validate"),
    ("POST", "/circulation/check-out-by-barcode", "circulation.check-out-by-barcode.post"),
    ("POST", "/circulation/check-in-by-barcode", "circulation.check-in-by-barcode.post"),
    ("POST", "/circulation/renew-by-barcode", "circulation.renew-by-barcode.post"),
)


@dataclass(frozen=True)
class LinkCheck:
    ok: bool
    detail: str
    hint: str = ""
    missing: tuple[str, ...] = ()
    short: str = ""          # the problem in a line, for the settings screen (which shows the URL)


def check_link(settings) -> LinkCheck:  # noqa: ANN001 - kiosk.config.Settings
    from kiosk.folio.ils import FolioIls
    from kiosk.folio.refusals import missing_permission

    where = settings.ils.url
    ils = FolioIls.from_settings(settings)
    try:
        try:
            ils.auth.login()
        except IlsUnavailable as exc:
            return LinkCheck(False, f"{where}: {exc}",
                             "check [ils] url, tenant, user and password_file; the gateway must be reachable",
                             short=str(exc))
        how = "legacy token" if ils.auth.legacy else "token expires, refreshed automatically"
        try:
            sp = ils.service_point_id()
        except (IlsUnavailable, ProtocolError) as exc:
            return LinkCheck(False, f"{where}: logged in as {settings.ils.user}, but {exc}",
                             "set [ils] service_point to the UUID or code of this kiosk's service point",
                             short=str(exc))
        missing = []
        for method, path, perm in PROBES:
            try:
                reply = (ils.http.call("GET", path, params={"limit": "0"}) if method == "GET"
                         else ils.http.call("POST", path, body={}))
            except (IlsUnavailable, OutcomeUnknown) as exc:
                return LinkCheck(False, f"{where}: {method} {path}: {exc}", "check the network and the gateway",
                                 short=str(exc))
            if reply.status in (400, 403) and missing_permission(reply.text) == perm:
                missing.append(perm)
        if missing:
            return LinkCheck(False, f"{where}: logged in; the kiosk's FOLIO user lacks {len(missing)} "
                             f"permission(s): {', '.join(missing)}",
                             f"grant {', '.join(missing)} to FOLIO user {settings.ils.user} (docs/folio.md)",
                             tuple(missing), short=f"FOLIO user {settings.ils.user} lacks {', '.join(missing)}")
        name = f" {ils._sp_name}" if ils._sp_name else ""
        return LinkCheck(True, f"{where} tenant {settings.ils.tenant}: logged in as {settings.ils.user} ({how}); "
                         f"service point{name} {sp}; permissions complete")
    finally:
        ils.close()
