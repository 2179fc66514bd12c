"""The library-system adapter named by ``[ils] protocol``: what the app and every CLI call.

Imports stay lazy: the SIP2 codec tables and ``requests`` cost tens of milliseconds, and only the
configured protocol's are paid for.
"""

from __future__ import annotations

from kiosk.ils.base import Ils


def ils_from_settings(settings) -> Ils:  # noqa: ANN001 - kiosk.config.Settings
    """A SipIls (``protocol = "sip2"``, the default) or a FolioIls (``protocol = "folio"``)."""
    if getattr(settings.ils, "protocol", "sip2") == "folio":
        from kiosk.folio.ils import FolioIls

        return FolioIls.from_settings(settings)
    from kiosk.sip2.ils import SipIls

    return SipIls.from_settings(settings)


def ils_factory(settings):  # noqa: ANN001, ANN201
    """The constructor for ``settings``' protocol (for code that takes a factory)."""
    return lambda s=settings: ils_from_settings(s)
