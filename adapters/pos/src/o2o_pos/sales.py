"""A sale as the POS reports it, and how it becomes an :class:`~o2o_sdk.OrderEvent`.

Both doors — the signed webhook (:mod:`o2o_pos.contract`) and the CSV upload
(:mod:`o2o_pos.csv_import`) — produce :class:`Sale` values and hand them to :func:`to_order`,
so a sale reaches ``sdk.orders.record`` in the same shape whichever way it came.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from o2o_sdk import InvalidInput, Money, OrderEvent, OrderKind, OrderLine, PickupDetails, Store

__all__ = ["PLATFORM", "Channel", "Problem", "Sale", "SaleItem", "SalePickup", "SaleProblem", "StoreDirectory", "to_order"]

#: The adapter's name: the platform of every order and the key in ``Store.external_ids``.
PLATFORM = "pos"


class Channel(enum.StrEnum):
    """Where the sale was made."""

    #: Rung up at a till in a store (an ``order_in_store`` event).
    IN_STORE = "in_store"
    #: Taken by the shop's own web shop or call centre (an ``order_online`` event).
    ONLINE = "online"


class Problem(enum.StrEnum):
    """Why a sale (or a CSV row) was not imported. Stable codes, shown in reports."""

    #: A required value is empty or absent.
    MISSING_VALUE = "missing_value"
    #: An amount is not a decimal number, or has more decimals than the currency allows.
    BAD_AMOUNT = "bad_amount"
    #: Not an ISO 4217 code like ``EUR``, or no currency at all.
    BAD_CURRENCY = "bad_currency"
    #: A quantity is not a whole number of at least 1.
    BAD_QUANTITY = "bad_quantity"
    #: A date or time that cannot be read with the configured format, or without a time zone.
    BAD_DATE = "bad_date"
    #: An items cell that does not follow the configured encoding.
    BAD_ITEMS = "bad_items"
    #: Any other malformed value (channel, email, voucher id).
    BAD_VALUE = "bad_value"
    #: The store is neither an SDK store id nor a store's POS code (``external_ids["pos"]``).
    UNKNOWN_STORE = "unknown_store"
    #: Lines of one sale disagree on a sale-level value (store, time, total, customer …).
    INCONSISTENT_SALE = "inconsistent_sale"
    #: The same sale id twice in one file (one row per sale).
    DUPLICATE_SALE = "duplicate_sale"
    #: A row whose number of cells differs from the header's.
    BAD_ROW = "bad_row"
    #: The SDK refused to record the order (the message says why).
    NOT_RECORDED = "not_recorded"


class SaleProblem(InvalidInput):
    """A sale that cannot become an order; ``problem`` says why."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message, code=problem.value)
        self.problem = problem


@attrs.frozen
class SaleItem:
    """One line of a sale."""

    sku: str
    quantity: int
    unit_price: Money | None = None
    name: str | None = None


@attrs.frozen
class SalePickup:
    """The sale is to be collected in a store (click and collect taken by the shop's own system)."""

    #: The collecting store (SDK store id or POS code); default: the sale's store.
    store: str | None = None
    pickup_at: datetime | None = None
    deadline: datetime | None = None
    note: str | None = None
    curbside: bool = False


@attrs.frozen
class Sale:
    """A completed sale, as the POS reported it (store still as the POS named it)."""

    sale_id: str
    occurred_at: datetime
    total: Money
    #: An SDK store id or the POS's own store code; ``None`` only for online sales.
    store: str | None = None
    channel: Channel = Channel.IN_STORE
    items: tuple[SaleItem, ...] = ()
    voucher_token: str | None = None
    voucher_id: str | None = None
    customer_id: str | None = None
    customer_email: str | None = None
    pickup: SalePickup | None = None
    #: The webhook event id (the delivery id); ``None`` for CSV rows.
    event_id: str | None = None
    #: Free-form data the POS attached (till, cashier …), kept in ``OrderEvent.data["metadata"]``.
    metadata: dict[str, Any] = attrs.field(factory=dict, hash=False)


class StoreDirectory:
    """Finds our store for what the POS calls it: first a store whose
    ``external_ids["pos"]`` is that code, else the store with that SDK id."""

    def __init__(self, stores: Iterable[Store]) -> None:
        self.by_id: dict[str, Store] = {}
        self.by_code: dict[str, Store] = {}
        for store in stores:
            self.by_id[store.id] = store
            code = store.external_ids.get(PLATFORM)
            if code:
                self.by_code[code] = store

    def find(self, ref: str) -> Store | None:
        """The store the POS means by ``ref``, or ``None``."""
        return self.by_code.get(ref) or self.by_id.get(ref)

    def resolve(self, ref: str, what: str = "store") -> Store:
        """Like :meth:`find`, but :class:`SaleProblem` (``unknown_store``) when there is none."""
        store = self.find(ref)
        if store is None:
            raise SaleProblem(Problem.UNKNOWN_STORE, f"{what} {ref!r} is neither a store id nor a store's POS code"
                                                     " (Store.external_ids['pos']).")  # fmt: skip
        return store


def voucher_code(token: str) -> str:
    """The token itself, also when the POS scanned the voucher's link (``…/o/<token>``)."""
    text = token.strip()
    if "://" in text:
        text = text.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return text


def to_order(sale: Sale, stores: StoreDirectory, *, source: str, data: dict[str, Any] | None = None) -> OrderEvent:
    """The order ``sdk.orders.record`` takes for ``sale``.

    ``order_id`` is the sale id, ``delivery_id`` the event id, ``store_id`` the resolved store
    (``location_id`` keeps its POS code), and the voucher token and id go into
    ``discount_codes``, where ``sdk.orders.record`` matches them to the voucher, its offer and
    its customer. Raises :class:`SaleProblem` for a store we do not know.
    """
    store: Store | None = None
    if sale.store is not None:
        store = stores.resolve(sale.store)
    elif sale.channel is Channel.IN_STORE:
        raise SaleProblem(Problem.MISSING_VALUE, "an in-store sale needs its store.")
    pickup: PickupDetails | None = None
    if sale.pickup is not None:
        p = sale.pickup
        at = stores.resolve(p.store, "pickup store") if p.store is not None else store
        if at is None:
            raise SaleProblem(Problem.MISSING_VALUE, "a pickup needs a store: give pickup.store or the sale's store.")
        pickup = PickupDetails(location_id=at.external_ids.get(PLATFORM), store_id=at.id, pickup_at=p.pickup_at,
                               deadline=p.deadline, note=p.note, curbside=p.curbside)  # fmt: skip
    codes = tuple(c for c in (voucher_code(sale.voucher_token) if sale.voucher_token else None, sale.voucher_id) if c)
    extra: dict[str, Any] = {"source": source, "channel": sale.channel.value, **(data or {})}
    if sale.event_id is not None:
        extra["event_id"] = sale.event_id
    if sale.metadata:
        extra["metadata"] = dict(sale.metadata)
    return OrderEvent(
        platform=PLATFORM,
        order_id=sale.sale_id,
        kind=OrderKind.IN_STORE if sale.channel is Channel.IN_STORE else OrderKind.ONLINE,
        occurred_at=sale.occurred_at,
        total=sale.total,
        location_id=(store.external_ids.get(PLATFORM) or sale.store) if store is not None else None,
        store_id=store.id if store is not None else None,
        customer_id=sale.customer_id,
        customer_email=sale.customer_email,
        discount_codes=codes,
        delivery_id=sale.event_id,
        data=extra,
        items=tuple(OrderLine(i.sku, i.quantity, i.name, i.unit_price) for i in sale.items),
        pickup=pickup,
    )
