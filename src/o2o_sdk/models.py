"""The SDK's data model: plain attrs classes with no serialization code.

(De)serialization is done by the one cattrs converter each :class:`~o2o_sdk.O2O` instance
builds (:func:`o2o_sdk.make_converter`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from .errors import InvalidInput, Refusal
from .hours import OpeningHours
from .money import Money

__all__ = [
    "AppliedDiscount",
    "Basket",
    "BasketItem",
    "Caps",
    "CheckIn",
    "CheckinMethod",
    "CheckinReason",
    "CheckinRequest",
    "CheckinResult",
    "CheckinVerdict",
    "Discount",
    "DiscountKind",
    "EventType",
    "JournalEvent",
    "Offer",
    "Redemption",
    "Reservation",
    "ReservationStatus",
    "Store",
    "TrustLevel",
    "Validation",
    "Voucher",
    "VoucherStatus",
]


def _frozen_dict() -> Any:
    """A dict field, left out of hashing (frozen classes stay hashable)."""
    return attrs.field(factory=dict, hash=False)


class DiscountKind(enum.StrEnum):
    """What an offer gives."""

    PERCENT = "percent"
    AMOUNT = "amount"
    FREE_ITEM = "free_item"


@attrs.frozen
class Discount:
    """An offer's discount: a percentage, a fixed amount, or a free item."""

    kind: DiscountKind
    percent: Decimal | None = None
    amount: Money | None = None
    sku: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind is DiscountKind.PERCENT:
            if self.percent is None or not (Decimal(0) < self.percent <= Decimal(100)):
                raise InvalidInput("A percent discount needs a percentage above 0 and at most 100.")
        elif self.kind is DiscountKind.AMOUNT:
            if self.amount is None or self.amount.minor <= 0:
                raise InvalidInput("A fixed-amount discount needs a positive amount with a currency.")
        elif not self.sku:
            raise InvalidInput("A free-item discount needs the item's SKU.")

    @classmethod
    def percent_off(cls, percent: int | str | Decimal) -> Discount:
        """``percent`` % off the basket (``Discount.percent_off(15)``)."""
        return cls(DiscountKind.PERCENT, percent=Decimal(str(percent)))

    @classmethod
    def amount_off(cls, amount: Money) -> Discount:
        """A fixed amount off the basket."""
        return cls(DiscountKind.AMOUNT, amount=amount)

    @classmethod
    def free_item(cls, sku: str) -> Discount:
        """One unit of ``sku`` free."""
        return cls(DiscountKind.FREE_ITEM, sku=sku)

    def describe(self) -> str:
        """A short human description, e.g. ``15% off``."""
        if self.kind is DiscountKind.PERCENT:
            return f"{self.percent.normalize():f}% off" if self.percent is not None else "% off"
        if self.kind is DiscountKind.AMOUNT:
            return f"{self.amount} off"
        return f"a free {self.sku}"


@attrs.frozen
class Caps:
    """Limits on an offer, enforced atomically at redeem time. ``None`` means unlimited."""

    total: int | None = None
    per_customer: int | None = None
    budget: Money | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("total", "per_customer"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InvalidInput(f"The {name.replace('_', ' ')} cap must be at least 1.")
        if self.budget is not None and self.budget.minor <= 0:
            raise InvalidInput("The budget cap must be a positive amount.")


@attrs.frozen
class Offer:
    """What a shop gives, to whom, where and when.

    ``starts_at`` / ``ends_at``: a naive datetime is wall-clock time evaluated in each store's
    own time zone (an offer "until 24 Dec 23:59" ends at local midnight everywhere); an aware
    datetime is one absolute instant for all stores.
    """

    id: str
    title: str
    discount: Discount
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    #: Eligible store ids; ``None`` means every store.
    stores: tuple[str, ...] | None = None
    caps: Caps = Caps()
    min_basket: Money | None = None
    #: Redeeming needs a verified check-in at the redeeming store ("check in to unlock").
    requires_checkin: bool = False
    active: bool = True
    created_at: datetime | None = None
    metadata: dict[str, Any] = _frozen_dict()  # noqa: RUF009


class VoucherStatus(enum.StrEnum):
    """Lifecycle of one voucher."""

    ACTIVE = "active"
    REDEEMED = "redeemed"
    REVOKED = "revoked"


@attrs.frozen
class Voucher:
    """One signed, single-use voucher for an offer."""

    id: str
    offer_id: str
    token: str
    issued_at: datetime
    expires_at: datetime
    customer_id: str | None = None
    status: VoucherStatus = VoucherStatus.ACTIVE


@attrs.frozen
class Store:
    """A physical store. ``timezone`` is an IANA name such as ``Europe/London``."""

    id: str
    name: str
    timezone: str
    latitude: float
    longitude: float
    address: str = ""
    services: tuple[str, ...] = ()
    hours: OpeningHours | None = None
    checkin_radius_m: float = 100.0
    #: Ids of this store on platforms, e.g. ``{"shopify": "gid://shopify/Location/1"}``.
    external_ids: dict[str, str] = _frozen_dict()  # noqa: RUF009
    attributes: dict[str, Any] = _frozen_dict()  # noqa: RUF009


@attrs.frozen
class BasketItem:
    """A line of the customer's basket at the till."""

    sku: str
    quantity: int
    unit_price: Money


@attrs.frozen
class Basket:
    """The basket a voucher is applied to."""

    total: Money
    items: tuple[BasketItem, ...] = ()


@attrs.frozen
class AppliedDiscount:
    """The discount that applies to a given basket.

    ``amount`` is ``None`` when no basket was given for a percent discount (the POS learns
    the percentage; the amount follows at redeem time).
    """

    kind: DiscountKind
    amount: Money | None
    percent: Decimal | None = None
    sku: str | None = None
    description: str = ""


@attrs.frozen
class Validation:
    """The result of a dry run: what would apply, or every reason it would be refused."""

    ok: bool
    voucher_id: str | None
    offer_id: str | None
    store_id: str
    customer_id: str | None = None
    discount: AppliedDiscount | None = None
    refusals: tuple[Refusal, ...] = ()


@attrs.frozen
class Redemption:
    """A committed use of a voucher at a store."""

    id: str
    voucher_id: str
    offer_id: str
    store_id: str
    customer_id: str | None
    discount: AppliedDiscount
    redeemed_at: datetime
    basket_total: Money | None = None
    idempotency_key: str | None = None
    reservation_id: str | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None


class ReservationStatus(enum.StrEnum):
    """Lifecycle of a checkout hold."""

    ACTIVE = "active"
    RELEASED = "released"
    EXPIRED = "expired"
    CONVERTED = "converted"


@attrs.frozen
class Reservation:
    """A voucher held for one checkout until ``expires_at``."""

    id: str
    voucher_id: str
    offer_id: str
    store_id: str
    customer_id: str | None
    created_at: datetime
    expires_at: datetime
    status: ReservationStatus = ReservationStatus.ACTIVE
    amount: Money | None = None


class EventType(enum.StrEnum):
    """Journal event types written by the core. Plugins may journal their own types."""

    ISSUED = "issued"
    VALIDATED = "validated"
    RESERVED = "reserved"
    RELEASED = "released"
    REDEEMED = "redeemed"
    REFUSED = "refused"
    VOIDED = "voided"
    CHECKED_IN = "checked_in"
    CHECKIN_REFUSED = "checkin_refused"
    CHECKIN_UPGRADED = "checkin_upgraded"


@attrs.frozen
class JournalEvent:
    """One appended fact. ``seq`` is assigned by storage and grows monotonically."""

    type: str
    at: datetime
    offer_id: str | None = None
    voucher_id: str | None = None
    store_id: str | None = None
    customer_id: str | None = None
    data: dict[str, Any] = _frozen_dict()  # noqa: RUF009
    seq: int | None = None


# --------------------------------------------------------------------------- check-in


class CheckinMethod(enum.StrEnum):
    """How presence at a store was verified by the built-in methods.

    A check-in's ``method`` is a plain string, so plugins add their own (``"nfc"``, ``"beacon"``).
    """

    #: The store's rotating QR code (signed, bound to the store and a time step).
    CODE = "code"
    #: A device position whose accuracy circle lies inside the store's check-in circle.
    GEOFENCE = "geofence"
    #: Staff at the till scanned the customer's voucher or member QR.
    STAFF = "staff"
    #: A printed (static) check-in QR: anyone with a photo of it can use it.
    POSTER = "poster"


class TrustLevel(enum.StrEnum):
    """How strongly a check-in proves presence, weakest first. Compare with :meth:`at_least`."""

    #: Weak evidence, e.g. a printed poster code (a photo of it works anywhere).
    LOW = "low"
    #: Verified presence: a short-lived rotating code or a precise location inside the fence.
    VERIFIED = "verified"
    #: A person at the store saw the customer (staff-assisted).
    HIGH = "high"

    @property
    def rank(self) -> int:
        """0 for ``low``, 1 for ``verified``, 2 for ``high``."""
        return list(TrustLevel).index(self)

    def at_least(self, other: TrustLevel | str) -> bool:
        """Whether this level is ``other`` or stronger."""
        return self.rank >= TrustLevel(other).rank


class CheckinReason(enum.StrEnum):
    """Why a check-in was refused: the built-in codes (plugins may use their own strings)."""

    INVALID_CODE = "invalid_code"
    CODE_EXPIRED = "code_expired"
    CODE_NOT_YET_VALID = "code_not_yet_valid"
    CODE_REUSED = "code_reused"
    WRONG_STORE = "wrong_store"
    UNKNOWN_STORE = "unknown_store"
    INVALID_SESSION = "invalid_session"
    SESSION_EXPIRED = "session_expired"
    CUSTOMER_REQUIRED = "customer_required"
    LOCATION_TOO_IMPRECISE = "location_too_imprecise"
    OUTSIDE_GEOFENCE = "outside_geofence"
    REFUSED_BY_RULE = "refused_by_rule"


@attrs.frozen
class CheckinRequest:
    """An attempt to check in, as the verification plugins see it.

    ``method`` picks the plugin (a :class:`CheckinMethod` value or a plugin's own name). Only
    the fields the method needs are set; ``data`` carries a plugin method's own evidence.
    By the time plugins see it, a session token has been verified into ``customer_id``.
    """

    method: str
    #: The store the caller expects (required for geofence and staff check-ins).
    store_id: str | None = None
    customer_id: str | None = None
    #: A signed customer session token (``sdk.checkins.session_token``), verified by the SDK.
    session: str | None = None
    #: A rotating or poster code (or its link).
    code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    #: Radius of the position's uncertainty circle, metres.
    accuracy_m: float | None = None
    #: A voucher or member token scanned at the till (or its link).
    token: str | None = None
    staff_id: str | None = None
    data: dict[str, Any] = _frozen_dict()  # noqa: RUF009


@attrs.frozen
class CheckinVerdict:
    """A verification plugin's answer: accepted (with store, customer, trust) or refused.

    ``nonce`` makes evidence single-use: a second check-in with the same nonce by the same
    customer at the same store is refused (``code_reused``) — the rotating code uses its
    time step, as RFC 6238 asks. ``evidence`` is recorded with the check-in.
    """

    ok: bool
    trust: TrustLevel = TrustLevel.LOW
    store_id: str | None = None
    customer_id: str | None = None
    reason: str | None = None
    message: str = ""
    nonce: str | None = None
    evidence: dict[str, Any] = _frozen_dict()  # noqa: RUF009

    @classmethod
    def accept(cls, store_id: str, customer_id: str | None, trust: TrustLevel, *,
               nonce: str | None = None, evidence: dict[str, Any] | None = None) -> CheckinVerdict:  # fmt: skip
        """Presence verified at ``store_id`` with ``trust``."""
        return cls(True, trust, store_id, customer_id, nonce=nonce, evidence=dict(evidence or {}))

    @classmethod
    def refuse(cls, reason: str, message: str, *, store_id: str | None = None,
               customer_id: str | None = None) -> CheckinVerdict:  # fmt: skip
        """Not verified: ``reason`` is a stable code, ``message`` a sentence for people."""
        return cls(False, store_id=store_id, customer_id=customer_id, reason=str(reason), message=message)


@attrs.frozen
class CheckIn:
    """A recorded, verified presence of a customer at a store.

    At most one exists per customer, store and window (``window_start``, in the store's own
    time zone); a stronger check-in in the same window upgrades it (``upgraded_at``).
    """

    id: str
    customer_id: str
    store_id: str
    method: str
    trust: TrustLevel
    at: datetime
    window_start: datetime
    evidence: dict[str, Any] = _frozen_dict()  # noqa: RUF009
    upgraded_at: datetime | None = None


@attrs.frozen
class CheckinResult:
    """What a check-in attempt produced: the window's check-in, and whether it is new."""

    checkin: CheckIn
    #: ``False`` when the customer had already checked in at this store in this window.
    created: bool
    #: The existing check-in was raised to a stronger trust level by this attempt.
    upgraded: bool = False
