"""``[ils] protocol = "folio"``: the cross-checks ``kiosk config check`` runs (called by kiosk.config).

Pure and cheap (no ``requests`` import): it runs on the kiosk's path to its first frame.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TENANT_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")   # Okapi tenant ids: lower case, digits, underscore


def is_uuid(text: str) -> bool:
    return bool(UUID_RE.match(text or ""))


def config_errors(sections: dict[str, Any], source: str) -> list[str]:
    ils = sections.get("ils")
    if ils is None or getattr(ils, "protocol", "sip2") != "folio":
        return []
    errors: list[str] = []
    where = f"{source}: [ils]"
    parts = urlsplit(ils.url or "")
    if not ils.url:
        errors.append(f'{where} url: expected the FOLIO gateway\'s base URL (e.g. "https://okapi.library.example") '
                      f'with protocol = "folio"; got nothing')
    elif parts.scheme not in ("http", "https") or not parts.hostname:
        errors.append(f"{where} url: expected an http:// or https:// URL with a host; got {ils.url!r}")
    elif parts.query or parts.fragment:
        errors.append(f"{where} url: expected a base URL without ?query or #fragment; got {ils.url!r}")
    if not ils.tenant:
        errors.append(f'{where} tenant: expected the FOLIO tenant id (e.g. "diku") with protocol = "folio"; '
                      f"got nothing")
    elif not TENANT_RE.match(ils.tenant):
        errors.append(f"{where} tenant: expected a tenant id of lower-case letters, digits and _; got {ils.tenant!r}")
    if not ils.user:
        errors.append(f"{where} user: expected the kiosk's FOLIO user name with protocol = \"folio\"; got nothing")
    if not ils.password and not ils.password_file:
        errors.append(f"{where} password_file: expected the FOLIO user's password (password_file, or "
                      f"password) with protocol = \"folio\"; got neither")
    sp = (ils.service_point or "").strip()
    if not sp:
        errors.append(f"{where} service_point: expected this kiosk's service point (its UUID or its code) "
                      f"with protocol = \"folio\"; got nothing")
    elif not is_uuid(sp) and not re.match(r"^\S+$", sp):
        errors.append(f"{where} service_point: expected a service-point UUID or code without spaces; got {sp!r}")
    if not ils.timeout_s > 0:
        errors.append(f"{where} timeout_s: expected a number of seconds above 0; got {ils.timeout_s!r}")
    if ils.tls_ca_file and parts.scheme != "https":
        errors.append(f"{where} tls_ca_file: expected an https:// url to verify with it; got {ils.url!r}")
    return errors
