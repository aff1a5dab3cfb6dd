"""o2o-sdk: join a shop's online and offline channels — and back.

The public API is what this module exports; everything else is private.
"""

from .checkin import CheckinRefused, IssueOnCheckin, RotatingCode
from .clock import Clock, FrozenClock, SystemClock
from .config import Config
from .converter import make_converter
from .errors import (
    ConfigurationError,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    O2OError,
    PluginError,
    Reason,
    RedemptionRefused,
    Refusal,
    StorageError,
    TokenError,
)
from .geo import BBox
from .hookspecs import hookimpl
from .hours import Closure, HoursStatus, Interval, OpeningHours
from .locator import ImportReport, StoreMatch, StoreQuery, SyncReport
from .models import (
    AppliedDiscount,
    Basket,
    BasketItem,
    Caps,
    CheckIn,
    CheckinMethod,
    CheckinReason,
    CheckinRequest,
    CheckinResult,
    CheckinVerdict,
    Discount,
    DiscountKind,
    EventType,
    JournalEvent,
    Offer,
    Redemption,
    Reservation,
    ReservationStatus,
    Store,
    TrustLevel,
    Validation,
    Voucher,
    VoucherStatus,
)
from .money import Money, parse_money
from .rules import Adjust, RedemptionContext, Refuse
from .sdk import O2O
from .tokens import KeyringSigner, SigningKey, TokenSigner

__version__ = "0.1.0"

__all__ = [
    "O2O",
    "Adjust",
    "AppliedDiscount",
    "BBox",
    "Basket",
    "BasketItem",
    "Caps",
    "CheckIn",
    "CheckinMethod",
    "CheckinReason",
    "CheckinRefused",
    "CheckinRequest",
    "CheckinResult",
    "CheckinVerdict",
    "Clock",
    "Closure",
    "Config",
    "ConfigurationError",
    "Discount",
    "DiscountKind",
    "EventType",
    "FrozenClock",
    "HoursStatus",
    "IdempotencyConflict",
    "ImportReport",
    "Interval",
    "InvalidInput",
    "IssueOnCheckin",
    "JournalEvent",
    "KeyringSigner",
    "Money",
    "NotFound",
    "O2OError",
    "Offer",
    "OpeningHours",
    "PluginError",
    "Reason",
    "RedemptionContext",
    "Redemption",
    "RedemptionRefused",
    "Refusal",
    "Refuse",
    "Reservation",
    "ReservationStatus",
    "RotatingCode",
    "SigningKey",
    "StorageError",
    "Store",
    "StoreMatch",
    "StoreQuery",
    "SyncReport",
    "SystemClock",
    "TokenError",
    "TokenSigner",
    "TrustLevel",
    "Validation",
    "Voucher",
    "VoucherStatus",
    "__version__",
    "hookimpl",
    "make_converter",
    "parse_money",
]
