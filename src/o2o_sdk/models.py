"""The SDK's data model: plain attrs classes with no serialization code.

(De)serialization is done by the one cattrs converter each :class:`~o2o_sdk.O2O` instance
builds (:func:`o2o_sdk.make_converter`).
"""

from __future__ import annotations

import enum
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from .errors import InvalidInput, Refusal
from .hours import OpeningHours
from .money import Money

__all__ = [
    "ApiKey",
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
    "GeoResult",
    "JournalEvent",
    "Offer",
    "OfferMirror",
    "OrderEvent",
    "OrderKind",
    "OrderLine",
    "Pickup",
    "PickupDetails",
    "PickupKind",
    "PickupSettings",
    "PickupState",
    "Redemption",
    "Reservation",
    "ReservationStatus",
    "Store",
    "TrustLevel",
    "Validation",
    "Voucher",
    "VoucherStatus",
    "Consent",
    "Contact",
    "DeliveryResult",
    "ExitCondition",
    "FollowUp",
    "FollowUpEvent",
    "FollowUpPlan",
    "FollowUpStatus",
    "FollowUpTemplate",
    "FollowupFlows",
    "FollowupSettings",
    "OutboundMessage",
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
            if self.percent is None or not self.percent.is_finite() or not (Decimal(0) < self.percent <= Decimal(100)):
                raise InvalidInput("A percent discount needs a percentage above 0 and at most 100.")
        elif self.kind is DiscountKind.AMOUNT:
            if self.amount is None or self.amount.minor <= 0:
                raise InvalidInput("A fixed-amount discount needs a positive amount with a currency.")
        elif not self.sku:
            raise InvalidInput("A free-item discount needs the item's SKU.")

    @classmethod
    def percent_off(cls, percent: int | str | Decimal) -> Discount:
        """``percent`` % off the basket (``Discount.percent_off(15)``)."""
        try:
            value = Decimal(str(percent))
        except InvalidOperation:
            raise InvalidInput(f"{percent!r} is not a percentage.") from None
        return cls(DiscountKind.PERCENT, percent=value)

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
    #: A platform order placed in a store (recorded by ``sdk.orders.record``).
    ORDER_IN_STORE = "order_in_store"
    #: A platform order placed online.
    ORDER_ONLINE = "order_online"
    #: A recorded platform order that the platform then cancelled (once per order); data has
    #: ``platform``, ``order_id``, ``kind``, ``total_minor``, ``currency`` (``None`` when
    #: unknown) and ``delivery_id``. Attributed revenue leaves such orders out.
    ORDER_CANCELLED = "order_cancelled"
    #: Pickups (``sdk.pickups``): one event per lifecycle step; data has ``pickup_id``, ``kind``, ``from``.
    PICKUP_PLACED = "pickup_placed"
    PICKUP_ACCEPTED = "pickup_accepted"
    PICKUP_READY = "pickup_ready"
    PICKUP_ARRIVED = "pickup_arrived"
    PICKUP_HANDED_OVER = "pickup_handed_over"
    PICKUP_RELEASED = "pickup_released"
    PICKUP_CANCELLED = "pickup_cancelled"
    #: A platform call following a pickup step failed (the step stands); data has ``error``.
    PICKUP_PLATFORM_FAILED = "pickup_platform_failed"


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


# --------------------------------------------------------------------------- web: API keys, geocoding


@attrs.frozen
class ApiKey:
    """A POS / staff API key as stored: its SHA-256 digest, never the key itself.

    ``store_id`` is the one store the key may act for, or ``"*"`` for an admin key that may
    act for every store (given explicitly at creation).
    """

    id: str
    store_id: str
    name: str
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    def allows(self, store_id: str) -> bool:
        """Whether this key may act for ``store_id``."""
        return self.active and (self.store_id == "*" or self.store_id == store_id)


@attrs.frozen
class GeoResult:
    """A place found for an address or postcode (hook ``o2o_geocode``)."""

    latitude: float
    longitude: float
    #: What was found, for people (e.g. ``W1D 5PL, London``).
    label: str
    #: Radius of uncertainty in metres (a postcode is precise, a city is not), if known.
    accuracy_m: float | None = None
    #: Who answered, e.g. ``stores`` for the built-in lookup of the shop's own addresses.
    source: str = ""


# --------------------------------------------------------------------------- platform orders and offer mirrors (adapters)


class OrderKind(enum.StrEnum):
    """Where a platform order was placed."""

    #: At a till in one of the shop's stores (e.g. Shopify POS): offline.
    IN_STORE = "in_store"
    #: On the shop's website or app: online.
    ONLINE = "online"


@attrs.frozen
class OrderLine:
    """One line of a platform order: what is to be collected or was bought."""

    sku: str
    quantity: int
    name: str | None = None
    unit_price: Money | None = None


@attrs.frozen
class PickupDetails:
    """The order is to be collected in a store (local pickup, click and collect, curbside).

    Adapters set it on :class:`OrderEvent` for platform orders with a pickup fulfilment;
    ``sdk.orders.record`` then creates exactly one pickup (``sdk.pickups``) for the order.
    The store is ``store_id`` if the adapter knows it, else the store whose
    ``external_ids[platform]`` is ``location_id`` (else the order's ``location_id``).
    """

    location_id: str | None = None
    store_id: str | None = None
    #: When the customer said they would come (a booked slot or the platform's pickup time).
    pickup_at: datetime | None = None
    #: Collect by then or the order is released (the platform's expiry, if it has one).
    deadline: datetime | None = None
    #: The customer's note (e.g. curbside: the car).
    note: str | None = None
    curbside: bool = False


@attrs.frozen
class OrderEvent:
    """An order reported by a platform (parsed from a verified webhook by an adapter).

    Adapters fill what the platform says; ``sdk.orders.record`` fills ``store_id`` from
    ``location_id`` (the store whose ``external_ids[platform]`` is that location) and
    ``offer_id`` / ``voucher_id`` from ``discount_codes`` (a mirrored offer's code, a voucher
    id or a voucher token) when the adapter left them empty.

    An adapter sets ``cancelled=True`` when the platform says the order was cancelled (by the
    customer or the merchant, on the platform): ``sdk.orders.record`` then records nothing and
    cancels the order's pickup, if it has one that has not ended.
    """

    platform: str
    #: The platform's id of the order (dedupe key with ``platform``).
    order_id: str
    kind: OrderKind
    occurred_at: datetime
    total: Money | None = None
    #: The platform's id of the store location (in-store orders).
    location_id: str | None = None
    store_id: str | None = None
    #: The platform's id of the customer.
    customer_id: str | None = None
    customer_email: str | None = None
    discount_codes: tuple[str, ...] = ()
    offer_id: str | None = None
    voucher_id: str | None = None
    #: The platform's id of this delivery or event (dedupe key with ``platform``): redeliveries share it.
    delivery_id: str | None = None
    data: dict[str, Any] = _frozen_dict()  # noqa: RUF009
    #: The order's lines (needed for pickups and inventory holds; optional otherwise).
    items: tuple[OrderLine, ...] = ()
    #: Set when the order is to be collected in store.
    pickup: PickupDetails | None = None
    #: The platform cancelled the order (WooCommerce ``cancelled`` / ``refunded`` / ``failed``,
    #: a Square order or pickup fulfilment ``CANCELED`` …). Such an order is not recorded (an
    #: order recorded before keeps its row and journal event as they were), so stored orders
    #: read back with ``False``; its pickup, if one was created and has not ended, is cancelled
    #: with reason ``cancelled_on_<platform>``, without telling the platform back.
    cancelled: bool = False


@attrs.frozen
class OfferMirror:
    """An offer mirrored as a platform discount code, with the platform's usage count."""

    offer_id: str
    platform: str
    #: The platform's id of the discount (e.g. ``gid://shopify/DiscountCodeNode/1``).
    discount_id: str
    code: str
    created_at: datetime
    usage_count: int = 0
    synced_at: datetime | None = None


# --------------------------------------------------------------------------- follow-ups


class FollowUpStatus(enum.StrEnum):
    """Lifecycle of one follow-up in the outbox."""

    #: Waiting for its due time.
    PENDING = "pending"
    #: Held by a worker until its lease ends (then any worker may claim it again).
    CLAIMED = "claimed"
    #: The channel accepted it (recorded once in the send ledger).
    SENT = "sent"
    #: Given up: a permanent error, or the last of ``max_attempts`` failed (``last_error`` says why).
    DEAD = "dead"
    #: Cancelled by the shop (``sdk.followups.cancel``) or by an unsubscribe.
    CANCELLED = "cancelled"
    #: Not sent by policy at send time: an exit condition, no consent, suppressed, no address, cap.
    SKIPPED = "skipped"


class FollowUpEvent(enum.StrEnum):
    """Journal event types of the follow-up engine (the last two are planning triggers from the scan)."""

    SENT = "followup_sent"
    DEAD = "followup_dead"
    SKIPPED = "followup_skipped"
    UNSUBSCRIBED = "unsubscribed"
    #: Synthetic (never stored): a customer's active voucher expires within the notice period.
    VOUCHER_EXPIRING = "voucher_expiring"
    #: Synthetic (never stored): a customer's last visit is older than the win-back period.
    NO_VISIT = "no_visit"


class ExitCondition(enum.StrEnum):
    """Built-in exit conditions, checked immediately before each send."""

    #: The follow-up's voucher has been redeemed.
    VOUCHER_REDEEMED = "voucher_redeemed"
    #: The customer redeemed any voucher after the trigger.
    REDEEMED_SINCE = "redeemed_since"
    #: The customer placed an online order after the trigger.
    ORDERED_ONLINE_SINCE = "ordered_online_since"
    #: The customer visited a store (checked in, redeemed, bought in store) after the trigger.
    VISITED_SINCE = "visited_since"


@attrs.frozen
class FollowUpPlan:
    """What a planning plugin (hook ``o2o_plan_followups``) asks to be sent.

    The follow-up is due at ``send_at`` if given, else at the trigger event's time plus
    ``delay``. ``dedupe_key`` is unique in the outbox: planning the same key again is a no-op.
    ``offer_id``: a voucher for this offer is issued to the customer when the follow-up is
    first attempted (its link is ``$voucher_url`` in templates). ``transactional`` messages
    (a pickup pass, a receipt) ignore quiet hours, caps and marketing consent — never
    suppression.
    """

    flow: str
    channel: str
    template: str
    customer_id: str
    dedupe_key: str
    delay: timedelta = timedelta(0)
    send_at: datetime | None = None
    exit_on: tuple[str, ...] = ()
    offer_id: str | None = None
    voucher_id: str | None = None
    transactional: bool = False
    #: Template variables (values are turned into text).
    data: dict[str, Any] = _frozen_dict()  # noqa: RUF009


@attrs.frozen
class FollowUp:
    """One follow-up in the durable outbox."""

    id: str
    dedupe_key: str
    flow: str
    channel: str
    template: str
    customer_id: str
    status: FollowUpStatus
    #: When it is due; while claimed, when the claim's lease ends.
    due_at: datetime
    created_at: datetime
    #: The time of the event that triggered it ("since" of exit conditions).
    trigger_at: datetime
    #: Passed to the channel on every attempt, so the receiver can drop duplicates.
    idempotency_key: str
    attempts: int = 0
    max_attempts: int = 8
    exit_on: tuple[str, ...] = ()
    offer_id: str | None = None
    voucher_id: str | None = None
    transactional: bool = False
    data: dict[str, Any] = _frozen_dict()  # noqa: RUF009
    #: Journal seq of the trigger (``None`` for scan triggers and follow-ups added in code).
    source_seq: int | None = None
    lease_until: datetime | None = None
    worker_id: str | None = None
    #: The last error, or why it was skipped or cancelled.
    last_error: str | None = None
    sent_at: datetime | None = None
    finished_at: datetime | None = None
    provider_id: str | None = None


@attrs.frozen
class FollowUpTemplate:
    """A message template (``string.Template`` syntax: ``$name`` / ``${name}``).

    SMS and webhook channels use ``text``; email uses ``subject``, ``text`` and ``html``. In
    ``html``, values are HTML-escaped except variables whose name ends in ``_html``.
    """

    name: str
    subject: str
    text: str
    html: str | None = None


@attrs.frozen
class Consent:
    """A customer's answer for one channel, with when and where it was given."""

    granted: bool
    at: datetime
    source: str = ""


@attrs.frozen
class Contact:
    """How to reach a customer: addresses, time zone (quiet hours) and consent per channel."""

    customer_id: str
    timezone: str = "UTC"
    email: str | None = None
    phone: str | None = None
    name: str = ""
    consents: dict[str, Consent] = _frozen_dict()  # noqa: RUF009
    #: Last visit seen in the journal (check-in, redemption, in-store order): drives win-back.
    last_visit_at: datetime | None = None

    def consented(self, channel: str) -> bool:
        """Whether the customer currently agrees to messages on ``channel``."""
        consent = self.consents.get(channel)
        return consent is not None and consent.granted


@attrs.frozen
class OutboundMessage:
    """A rendered follow-up as a channel receives it."""

    followup_id: str
    channel: str
    #: The address from the channel (email address, phone number, URL …).
    to: str
    subject: str
    text: str
    html: str | None = None
    customer_id: str | None = None
    flow: str = ""
    #: Extra headers; emails carry ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058).
    headers: dict[str, str] = _frozen_dict()  # noqa: RUF009
    unsubscribe_url: str | None = None
    #: The template variables the message was rendered with.
    variables: dict[str, str] = _frozen_dict()  # noqa: RUF009


@attrs.frozen
class DeliveryResult:
    """A channel's receipt: the provider's message id, if it gave one."""

    provider_id: str | None = None
    detail: str = ""


@attrs.frozen
class FollowupFlows:
    """The default flows (plugin ``followup_flows``), configured in code through
    ``Config(followups=FollowupSettings(flows=FollowupFlows(...)))``."""

    #: The channel every default flow uses.
    channel: str = "email"
    #: Thank-you with a feedback survey link after a visit (check-in, redemption, in-store order).
    thank_you: bool = True
    thank_you_delay: timedelta = timedelta(hours=2)
    #: Survey link; default ``<base_url>/feedback``.
    survey_url: str | None = None
    #: After a redemption, a new voucher of this offer for the next visit (``None``: off).
    next_visit_offer_id: str | None = None
    next_visit_delay: timedelta = timedelta(days=3)
    #: Remind customers of an unused voucher this long before it expires (``None``: off).
    expiry_notice: timedelta | None = timedelta(days=3)
    #: Win-back after this long without a visit (``None``: off), optionally with a voucher.
    winback_after: timedelta | None = timedelta(days=45)
    winback_offer_id: str | None = None


def _positive(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise InvalidInput(f"The follow-up setting {attribute.name} must be at least 1.")


@attrs.frozen
class FollowupSettings:
    """Policy of the follow-up engine (``Config.followups``)."""

    #: Local (recipient's time zone) times between which nothing non-transactional is sent:
    #: ``(start, end)``, e.g. 21:00-08:00 (US marketing texts: 08:00-21:00 only). ``None``: off.
    quiet_hours: tuple[time, time] | None = (time(21, 0), time(8, 0))
    #: Non-transactional sends per customer per rolling 24 h / 7 days (``None``: no cap).
    cap_per_day: int | None = attrs.field(default=2, validator=_positive)
    cap_per_week: int | None = attrs.field(default=5, validator=_positive)
    #: ``postpone`` a capped follow-up until the window frees (Mautic), or ``skip`` it (Klaviyo).
    cap_policy: str = attrs.field(default="postpone", validator=attrs.validators.in_(("postpone", "skip")))
    max_attempts: int = attrs.field(default=8, validator=_positive)
    #: Retry delay: base x 2^(attempt-1), capped, with jitter (half fixed, half random).
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=1)
    #: How long a claim lasts; a killed worker's rows are claimable again after it.
    lease: timedelta = timedelta(seconds=60)
    batch_size: int = attrs.field(default=50, validator=_positive)
    #: Time zone of contacts that do not give one.
    default_timezone: str = "UTC"
    #: Plans already this late when planned (old journal history) are dropped.
    stale_after: timedelta = timedelta(days=7)
    flows: FollowupFlows = FollowupFlows()


# --------------------------------------------------------------------------- pickups and reservations (click and collect)


class PickupKind(enum.StrEnum):
    """What the customer comes to the store for."""

    #: Ordered (and usually paid) online; collected at the counter.
    ORDER = "order"
    #: Items held to try on; bought or not at the counter.
    RESERVATION = "reservation"


class PickupState(enum.StrEnum):
    """Lifecycle of a pickup. ``HANDED_OVER``, ``RELEASED`` and ``CANCELLED`` are final.

    placed -> accepted -> ready -> arrived -> handed_over; ready or arrived -> released
    (not collected by the deadline); anything not final -> cancelled. ``arrived`` may also
    come before ``ready`` (the customer is early).
    """

    PLACED = "placed"
    ACCEPTED = "accepted"
    READY = "ready"
    ARRIVED = "arrived"
    HANDED_OVER = "handed_over"
    RELEASED = "released"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """Handed over, released or cancelled: the pickup has ended and no step follows."""
        return self in (PickupState.HANDED_OVER, PickupState.RELEASED, PickupState.CANCELLED)


@attrs.frozen
class Pickup:
    """An order or reservation to be collected at a store."""

    id: str
    kind: PickupKind
    store_id: str
    state: PickupState
    created_at: datetime
    updated_at: datetime
    customer_id: str | None = None
    customer_email: str | None = None
    items: tuple[OrderLine, ...] = ()
    #: Collect by then, or the pickup is released.
    deadline: datetime | None = None
    #: Start of the booked slot, if any.
    slot_start: datetime | None = None
    #: The platform order it came from (``platform``, ``order_id``), if any.
    platform: str | None = None
    order_id: str | None = None
    total: Money | None = None
    #: The customer's note at arrival (curbside: parking spot, car).
    arrival_note: str | None = None
    curbside: bool = False
    #: Reservations: whether the customer bought at the counter (``None`` until handed over).
    bought: bool | None = None
    #: The platform's reference of an inventory hold, or ``"sdk"`` for the SDK's own hold.
    hold_ref: str | None = None
    #: When it was marked ready, the customer arrived, and when it ended (handed over, released, cancelled).
    ready_at: datetime | None = None
    arrived_at: datetime | None = None
    finished_at: datetime | None = None
    #: How the customer announced arrival: ``link``, ``checkin:code``, ``checkin:geofence``, ``staff`` …
    arrival_method: str | None = None
    #: Why it was cancelled or released.
    reason: str | None = None
    #: Bumped on every transition (optimistic concurrency).
    version: int = 1
    data: dict[str, Any] = _frozen_dict()  # noqa: RUF009


@attrs.frozen
class PickupSettings:
    """Defaults of ``sdk.pickups``, set in code through ``Config(pickups=PickupSettings(...))``.

    A store overrides slot length and capacity with ``Store.attributes["pickup_slot_minutes"]``
    and ``["pickup_slot_capacity"]``.
    """

    #: Length of a pickup slot.
    slot_minutes: int = 15
    #: Pickups per slot and store.
    slot_capacity: int = 4
    #: Earliest bookable slot start after now (preparation time).
    slot_lead_time: timedelta = timedelta(minutes=30)
    #: An order must be collected this long after it is ready, unless the platform set a deadline.
    collect_within: timedelta = timedelta(days=3)
    #: Items of a reservation are held this long.
    reservation_hold: timedelta = timedelta(hours=48)
    #: Remind the customer this long before the deadline (``None``: no reminder).
    reminder_before: timedelta | None = timedelta(hours=12)
    #: Channel of the customer's pickup messages (pass, reminder, thanks, win-back).
    channel: str = "email"
    #: Offer of the voucher sent to customers who did not collect (``None``: a message only).
    winback_offer_id: str | None = None
    #: An in-store order by the customer at the reservation's store within this time after
    #: arrival is attributed to the reservation (try-on -> bought).
    tryon_window: timedelta = timedelta(hours=4)
