"""A lost checkout reply whose resolution also fails is *unknown*, never "unavailable".

``IlsUnavailable`` promises the caller that nothing was sent; after a checkout went out that promise
no longer holds, whatever happens to the follow-up Item Information.
"""

from __future__ import annotations

import pytest

from kiosk.errors import IlsUnavailable, OutcomeUnknown
from kiosk.sip2.codec import CheckoutRequest, ItemInformationRequest, RenewRequest
from kiosk.sip2.ils import SipIls

pytestmark = pytest.mark.sip2_only("SIP2 settles a lost reply with Item Information (17); FOLIO's loans query: tests/test_crash_folio.py")


class LinkDiesAfterSend:
    """A pool whose checkout/renewal is sent and lost, then the library system goes away."""

    size = 1

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.item_info_calls = 0

    def request(self, req, safe: bool = True):  # noqa: ANN001, ANN201
        self.sent.append(type(req).__name__)
        if isinstance(req, CheckoutRequest | RenewRequest):
            raise OutcomeUnknown("no reply within 10 s")
        if isinstance(req, ItemInformationRequest):
            self.item_info_calls += 1
            raise IlsUnavailable("connection refused")
        raise AssertionError(f"unexpected {req!r}")

    def close(self) -> None:
        pass


def test_checkout_lost_then_library_unreachable_is_unknown():
    pool = LinkDiesAfterSend()
    ils = SipIls(pool, institution="DEMO")
    with pytest.raises(OutcomeUnknown):
        ils.checkout("2000000012", "30000000001")
    assert pool.sent.count("CheckoutRequest") == 1, "a lost checkout must never be resent blindly"


def test_checkout_resolution_failure_is_not_reported_as_nothing_sent():
    pool = LinkDiesAfterSend()
    ils = SipIls(pool, institution="DEMO")
    try:
        ils.checkout("2000000012", "30000000001")
    except IlsUnavailable:  # pragma: no cover - the bug this test guards against
        pytest.fail("IlsUnavailable after the checkout was sent would let the caller resend it")
    except OutcomeUnknown:
        pass
