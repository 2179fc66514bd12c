"""Every SIP2 message as a small frozen record type: the codec's single table.

Field order in each class is the spec order (encode writes it; decode accepts any order).  Layouts
from the 3M SIP2 2.00 specification (message layouts, cross-checked against Koha
MsgType.pm, pysip2 and FOLIO edge-sip2).  ``fixed(width, kind)`` is positional, ``var(id, kind)``
is an identified field: "req" always written, "opt"/"yn" left out when None, "list" repeatable.

Names follow the spec's words (patron, item, institution, screen message, print line) so a
librarian reading a log or the ``kiosk sip2`` JSON recognises them.  One module per family, a
request next to its response: session, patron, circulation, items, fees_holds; the code tables
in codes.  Importing this package fills kiosk.sip2.record.MESSAGES.
"""

from __future__ import annotations

from kiosk.sip2.messages.circulation import (
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
)
from kiosk.sip2.messages.codes import (
    CIRCULATION_STATUS,
    PATRON_STATUS_FLAGS,
    SUMMARY_POSITIONS,
    SUPPORTED_MESSAGES,
)
from kiosk.sip2.messages.fees_holds import (
    FeePaidRequest,
    FeePaidResponse,
    HoldRequest,
    HoldResponse,
)
from kiosk.sip2.messages.items import (
    ItemInformationRequest,
    ItemInformationResponse,
    ItemStatusUpdateRequest,
    ItemStatusUpdateResponse,
)
from kiosk.sip2.messages.patron import (
    BlockPatronRequest,
    EndPatronSessionRequest,
    EndPatronSessionResponse,
    PatronEnableRequest,
    PatronEnableResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
)
from kiosk.sip2.messages.session import (
    AcsStatusResponse,
    LoginRequest,
    LoginResponse,
    RequestAcsResend,
    RequestScResend,
    ScStatusRequest,
)

__all__ = [
    "LoginRequest", "LoginResponse", "ScStatusRequest", "AcsStatusResponse",
    "PatronStatusRequest", "PatronStatusResponse", "PatronInformationRequest",
    "PatronInformationResponse", "CheckoutRequest", "CheckoutResponse", "CheckinRequest",
    "CheckinResponse", "RenewRequest", "RenewResponse", "RenewAllRequest", "RenewAllResponse",
    "ItemInformationRequest", "ItemInformationResponse", "EndPatronSessionRequest",
    "EndPatronSessionResponse", "FeePaidRequest", "FeePaidResponse", "HoldRequest", "HoldResponse",
    "RequestAcsResend", "RequestScResend", "BlockPatronRequest", "PatronEnableRequest",
    "PatronEnableResponse", "ItemStatusUpdateRequest", "ItemStatusUpdateResponse",
    "PATRON_STATUS_FLAGS", "SUPPORTED_MESSAGES", "CIRCULATION_STATUS", "SUMMARY_POSITIONS",
]
