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
    "Discount",
    "DiscountKind",
    "EventType",
    "JournalEvent",
    "Offer",
    "Redemption",
    "Reservation",
    "ReservationStatus",
    "Store",
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
