"""o2o-sdk: join a shop's online and offline channels — and back.

The public API is what this module exports; everything else is private.
"""

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
from .hookspecs import hookimpl
from .hours import OpeningHours
from .models import (
    AppliedDiscount,
    Basket,
    BasketItem,
    Caps,
    Discount,
    DiscountKind,
    EventType,
    JournalEvent,
    Offer,
    Redemption,
    Reservation,
    ReservationStatus,
    Store,
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
    "Basket",
    "BasketItem",
    "Caps",
    "Clock",
    "Config",
    "ConfigurationError",
    "Discount",
    "DiscountKind",
    "EventType",
    "FrozenClock",
    "IdempotencyConflict",
    "InvalidInput",
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
    "SigningKey",
    "StorageError",
    "Store",
    "SystemClock",
    "TokenError",
    "TokenSigner",
    "Validation",
    "Voucher",
    "VoucherStatus",
    "__version__",
    "hookimpl",
    "make_converter",
    "parse_money",
]
