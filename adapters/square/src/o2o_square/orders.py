"""Square orders as the SDK's :class:`~o2o_sdk.OrderEvent`, and pickup fulfilment updates.

Which orders are online: an order with a ``PICKUP`` fulfilment was placed online to be
collected in store (it gets :class:`~o2o_sdk.PickupDetails`); one with a ``SHIPMENT`` or
``DELIVERY`` fulfilment, or whose ``source.name`` is one of the configured online sources, was
placed online. Every other order was rung up at a location: an in-store purchase there.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from o2o_sdk import (
    InvalidInput,
    Money,
    OrderEvent,
    OrderKind,
    OrderLine,
    PickupDetails,
    PickupState,
    WebhookRejected,
)

__all__ = [
    "FULFILLMENT_STATE",
    "FINAL_FULFILLMENT_STATES",
    "ONLINE_FULFILLMENTS",
    "fulfillment_update",
    "is_cancelled",
    "order_event",
    "pickup_fulfillment",
    "variation_ids",
]

#: Fulfilment types that mean the order was placed online.
ONLINE_FULFILLMENTS = frozenset({"PICKUP", "SHIPMENT", "DELIVERY"})
#: The pickup fulfilment state each SDK pickup state becomes (states not listed: Square has no notion of them).
FULFILLMENT_STATE: dict[PickupState, str] = {
    PickupState.ACCEPTED: "RESERVED",
    PickupState.READY: "PREPARED",
    PickupState.HANDED_OVER: "COMPLETED",
    PickupState.RELEASED: "CANCELED",
    PickupState.CANCELLED: "CANCELED",
}
FINAL_FULFILLMENT_STATES = frozenset({"COMPLETED", "CANCELED", "FAILED"})


def _malformed(message: str) -> WebhookRejected:
    return WebhookRejected(f"Square webhook: {message}", code="malformed_payload")


def _time(value: object, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise _malformed(f"{what} {value!r} is not an RFC 3339 time.") from None
    if parsed.tzinfo is None:
        raise _malformed(f"{what} {value!r} has no time zone.")
    return parsed


def _money(value: object, what: str) -> Money | None:
    if not isinstance(value, Mapping) or value.get("amount") is None:
        return None
    amount, currency = value.get("amount"), value.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        raise _malformed(f"{what} is not an amount in minor units with a currency.")
    try:
        return Money(amount, currency)
    except InvalidInput as exc:
        raise _malformed(f"{what}: {exc.message}") from None


def _list(order: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = order.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _malformed(f"the order's {key} is not a list.")
    return [v for v in value if isinstance(v, dict)]


def pickup_fulfillment(order: Mapping[str, Any]) -> dict[str, Any] | None:
    """The order's first ``PICKUP`` fulfilment, if any."""
    return next((f for f in _list(order, "fulfillments") if f.get("type") == "PICKUP"), None)


#: ``PICKUP`` fulfilment states that end it uncollected: cancelled, or ``FAILED`` ("failed to
#: be completed, but not explicitly canceled").
UNCOLLECTED_FULFILLMENT_STATES = frozenset({"CANCELED", "FAILED"})


def is_cancelled(order: Mapping[str, Any]) -> bool:
    """Whether the order will not be collected: the order is ``CANCELED``, or its ``PICKUP``
    fulfilment is ``CANCELED`` or ``FAILED`` (an order can stay ``OPEN`` with its pickup ended)."""
    if order.get("state") == "CANCELED":
        return True
    fulfillment = pickup_fulfillment(order)
    return fulfillment is not None and fulfillment.get("state") in UNCOLLECTED_FULFILLMENT_STATES


def variation_ids(order: Mapping[str, Any]) -> list[str]:
    """Catalog ids of the order's line items (item variations), in order, without repeats."""
    seen: dict[str, None] = {}
    for line in _list(order, "line_items"):
        if line.get("catalog_object_id"):
            seen.setdefault(str(line["catalog_object_id"]))
    return list(seen)


def _quantity(value: object, name: str) -> int:
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        raise _malformed(f"line item {name!r} has the quantity {value!r}.") from None
    if not quantity.is_finite():
        raise _malformed(f"line item {name!r} has the quantity {value!r}.")
    return max(1, math.ceil(quantity))  # 0.5 kg is one thing to collect


def _lines(order: Mapping[str, Any], skus: Mapping[str, str]) -> tuple[OrderLine, ...]:
    out = []
    for line in _list(order, "line_items"):
        name = line.get("name") or line.get("variation_name")
        catalog_id = line.get("catalog_object_id")
        sku = skus.get(str(catalog_id)) if catalog_id else None
        sku = sku or (str(catalog_id) if catalog_id else None) or (str(name) if name else None) or str(line.get("uid") or "item")
        label = " ".join(str(p) for p in (line.get("name"), line.get("variation_name")) if p) or None
        out.append(OrderLine(sku, _quantity(line.get("quantity", "1"), str(name or sku)), label,
                             _money(line.get("base_price_money"), f"line item {sku} price")))  # fmt: skip
    return tuple(out)


def _codes(order: Mapping[str, Any]) -> tuple[str, ...]:
    """Names and catalog ids of the discounts applied, in order, without repeats."""
    seen: dict[str, None] = {}
    for discount in _list(order, "discounts"):
        for key in ("name", "catalog_object_id"):
            value = discount.get(key)
            if isinstance(value, str) and value.strip():
                seen.setdefault(value.strip())
    return tuple(seen)


def _recipient(order: Mapping[str, Any]) -> dict[str, Any]:
    for f in _list(order, "fulfillments"):
        details = f.get("pickup_details") or f.get("shipment_details") or f.get("delivery_details") or {}
        recipient = details.get("recipient") if isinstance(details, dict) else None
        if isinstance(recipient, dict) and (recipient.get("email_address") or recipient.get("customer_id")):
            return recipient
    return {}


def _pickup(order: Mapping[str, Any], fulfillment: Mapping[str, Any]) -> PickupDetails:
    details = fulfillment.get("pickup_details") or {}
    if not isinstance(details, dict):
        raise _malformed("the pickup fulfilment's pickup_details is not an object.")
    curbside = details.get("is_curbside_pickup") is True
    note = details.get("note") or None
    car = (details.get("curbside_pickup_details") or {}).get("curbside_details") if curbside else None
    return PickupDetails(
        location_id=str(order["location_id"]),
        pickup_at=_time(details.get("pickup_at"), "pickup_at"),
        deadline=_time(details.get("expires_at"), "expires_at"),
        note=str(note or car) if (note or car) else None,
        curbside=curbside,
    )


def order_event(order: Any, *, delivery_id: str | None, skus: Mapping[str, str] | None = None,
                online_sources: Collection[str] = (), data: Mapping[str, Any] | None = None) -> OrderEvent:  # fmt: skip
    """A Square ``Order`` as an :class:`~o2o_sdk.OrderEvent`.

    ``skus`` maps item-variation ids to SKUs (a line without one keeps its catalog id, else its
    name, as ``OrderLine.sku``); ``cancelled`` says :func:`is_cancelled`. Raises
    :class:`~o2o_sdk.WebhookRejected` (``malformed_payload``) when the order lacks its id,
    location, creation time or total.
    """
    if not isinstance(order, dict):
        raise _malformed("the order is not a JSON object.")
    missing = [k for k in ("id", "location_id", "created_at", "total_money") if order.get(k) in (None, "")]
    if missing:
        raise _malformed(f"the order lacks {', '.join(missing)}.")
    occurred_at = _time(order["created_at"], "created_at")
    total = _money(order["total_money"], "total_money")
    if occurred_at is None or total is None:
        raise _malformed("the order's created_at or total_money is empty.")
    types = [str(f.get("type")) for f in _list(order, "fulfillments")]
    source = (order.get("source") or {}).get("name") if isinstance(order.get("source"), dict) else None
    pickup_fulfilment = pickup_fulfillment(order)
    online = bool(ONLINE_FULFILLMENTS & set(types)) or (source is not None and source in online_sources)
    recipient = _recipient(order)
    return OrderEvent(
        platform="square",
        order_id=str(order["id"]),
        kind=OrderKind.ONLINE if online else OrderKind.IN_STORE,
        occurred_at=occurred_at,
        total=total,
        location_id=None if online else str(order["location_id"]),
        customer_id=str(order.get("customer_id") or recipient.get("customer_id") or "") or None,
        customer_email=str(recipient["email_address"]) if recipient.get("email_address") else None,
        discount_codes=_codes(order),
        delivery_id=delivery_id,
        items=_lines(order, skus or {}),
        pickup=_pickup(order, pickup_fulfilment) if pickup_fulfilment is not None else None,
        cancelled=is_cancelled(order),
        data={
            **(data or {}), "location_id": order["location_id"], "state": order.get("state"), "source": source,
            "fulfillment_types": types, "version": order.get("version"),
        },
    )  # fmt: skip


def fulfillment_update(order: Mapping[str, Any], fulfillment: Mapping[str, Any], state: str, *,
                       idempotency_key: str, cancel_reason: str | None = None) -> dict[str, Any]:  # fmt: skip
    """``UpdateOrderRequest`` moving one fulfilment to ``state``: a sparse order with the
    location, the current ``version`` (Square refuses a stale one) and the fulfilment's ``uid``."""
    change: dict[str, Any] = {"uid": fulfillment["uid"], "state": state}
    if state == "CANCELED" and cancel_reason:
        change["pickup_details"] = {"cancel_reason": cancel_reason[:100]}
    return {
        "idempotency_key": idempotency_key,
        "order": {"location_id": order["location_id"], "version": order["version"], "fulfillments": [change]},
    }
