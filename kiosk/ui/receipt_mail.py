"""E-mailed receipts: the same lines as the printed slip, sent by SMTP to the address on the account.

The SMTP server is ``[receipt] smtp_host`` (with its port, security and login), or else the one
staff alerts use (``[alerts] smtp_*``): most libraries have one mail relay.  Sending runs on a worker
thread and may fail (server down, address refused); the receipt screen then says so and offers a
printed receipt instead, so a failure never holds up the session.

Privacy (reference libraries-and-kiosks.md §4.6): the message carries the library's name, the date,
the items (title, due date or "returned") and the masked card number only -- never the full card
number, and no patron name (the address is on the envelope already).

It sits beside :mod:`kiosk.ui.present`, which makes the receipt's lines for the printer and the
screen alike; the receipt screen (kiosk/screens/receipt.py) only asks it to send.
"""

from __future__ import annotations

import logging
import socket
from datetime import datetime
from types import SimpleNamespace
from typing import Any

log = logging.getLogger(__name__)


def smtp_settings(settings: Any) -> tuple[SimpleNamespace, str] | None:
    """(SMTP settings, password) for receipts, or None when no SMTP server is configured."""
    from kiosk.appliance.alerts import read_password_file

    r, a = settings.receipt, getattr(settings, "alerts", None)
    timeout = r.email_timeout_s
    if r.smtp_host:
        password = (read_password_file(r.smtp_password_file, "[receipt] smtp_password_file")
                    if r.smtp_password_file else "")
        return SimpleNamespace(smtp_host=r.smtp_host, smtp_port=r.smtp_port, smtp_security=r.smtp_security,
                               smtp_user=r.smtp_user, timeout_s=timeout), password
    if a is not None and a.smtp_host:
        password = (read_password_file(a.smtp_password_file, "[alerts] smtp_password_file")
                    if a.smtp_password_file else a.smtp_password)
        return SimpleNamespace(smtp_host=a.smtp_host, smtp_port=a.smtp_port, smtp_security=a.smtp_security,
                               smtp_user=a.smtp_user, timeout_s=timeout), password
    return None


def email_configured(settings: Any) -> bool:
    """The library offers e-mail ([receipt] choices) and an SMTP server is set."""
    r, a = settings.receipt, getattr(settings, "alerts", None)
    return "email" in r.choices and bool(r.smtp_host or (a is not None and a.smtp_host))


def email_offered(settings: Any, patron: Any) -> bool:
    """E-mail is a choice for this patron: configured, and the account has an address."""
    return email_configured(settings) and patron is not None and "@" in (getattr(patron, "email", "") or "")


def sender(settings: Any) -> str:
    a = getattr(settings, "alerts", None)
    return settings.receipt.email_from or (a.email_from if a is not None else "") or f"kiosk@{socket.gethostname()}"


def compose(settings: Any, view: Any, lang: str, when: datetime | None = None):  # noqa: ANN201 - EmailMessage
    """The receipt of ``view`` (a SessionView with its patron) as an e-mail in ``lang``."""
    from email.message import EmailMessage
    from email.utils import format_datetime

    from kiosk.ui.i18n import format_date, tr
    from kiosk.ui.present import receipt_lines

    when = when or datetime.now()
    library = settings.branding.library_name
    lines = [library, f"{format_date(when, lang)} {when:%H:%M}", ""]
    lines += receipt_lines(view, lang)
    if settings.receipt.footer:
        lines += ["", settings.receipt.footer]
    msg = EmailMessage()
    msg["Subject"] = f"{tr('Receipt', lang)} \u2013 {library}"
    msg["From"] = sender(settings)
    msg["To"] = view.patron.email
    msg["Date"] = format_datetime(when.astimezone())
    msg.set_content("\n".join(lines) + "\n")
    return msg


def send_receipt(settings: Any, view: Any, lang: str, when: datetime | None = None) -> None:
    """Compose and send (blocking: call it on a worker thread).  Raises on any failure."""
    from kiosk.appliance.alerts import smtp_send

    resolved = smtp_settings(settings)
    if resolved is None:
        raise RuntimeError("no SMTP server configured for receipts ([receipt] or [alerts] smtp_host)")
    if view.patron is None or not view.patron.email:
        raise RuntimeError("the patron has no e-mail address")
    smtp, password = resolved
    smtp_send(compose(settings, view, lang, when), smtp, password)
    log.info("receipt e-mailed (%d items)", len(view.items))
