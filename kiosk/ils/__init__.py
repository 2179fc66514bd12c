"""Library-system (ILS) access: the :class:`~kiosk.ils.base.Ils` interface and its implementations."""

from kiosk.ils.base import (
    CheckinResult,
    CheckoutResult,
    Hold,
    Ils,
    IlsStatus,
    ItemInfo,
    Loan,
    Patron,
    RenewAllResult,
)

__all__ = ["CheckinResult", "CheckoutResult", "Hold", "Ils", "IlsStatus", "ItemInfo", "Loan", "Patron",
           "RenewAllResult"]
