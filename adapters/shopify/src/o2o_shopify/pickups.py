"""Local-pickup orders: which orders may be pickups, and their fulfillment orders.

Shopify's REST order payload (the ``orders/*`` webhooks) does not say reliably that an order is
to be collected: its shipping line names the pickup location like any rate. The authoritative
answer is the order's fulfillment orders (Admin GraphQL): a ``deliveryMethod.methodType`` of
``PICK_UP`` at the ``assignedLocation``. :func:`may_be_pickup` decides from the payload whether
that question is worth asking; :func:`fulfillment_orders` reads the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import attrs

from o2o_sdk import OrderLine
from o2o_sdk.http import PlatformError, PlatformNotFound

__all__ = [
    "DONE_STATUSES",
    "PICKUP_METHOD",
    "PICKUP_WORDS",
    "FulfillmentOrder",
    "fulfillment_orders",
    "may_be_pickup",
    "pickup_lines",
]

log = logging.getLogger("o2o_shopify")

#: ``DeliveryMethodType`` of a local pickup (the schema's spelling, not ``PICKUP``).
PICKUP_METHOD = "PICK_UP"
#: ``FulfillmentOrderStatus`` values after which nothing is left to prepare or hand over.
DONE_STATUSES = frozenset({"CLOSED", "CANCELLED", "INCOMPLETE"})
#: Words of a shipping line's code, title or delivery category that suggest a pickup.
PICKUP_WORDS = ("pickup", "pick up", "pick-up", "collect")


@attrs.frozen
class FulfillmentOrder:
    """One of an order's fulfillment orders, as far as pickups need it."""

    id: str
    status: str
    method: str | None
    location_id: str | None
    location_name: str | None = None
    lines: tuple[OrderLine, ...] = ()

    @property
    def is_pickup(self) -> bool:
        return self.method == PICKUP_METHOD

    @property
    def done(self) -> bool:
        """Fulfilled (picked up), cancelled or closed as incomplete: nothing left to do."""
        return self.status in DONE_STATUSES


def _text(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def may_be_pickup(payload: Mapping[str, Any]) -> bool:
    """Whether a REST order payload may be a local-pickup order (then its fulfillment orders are
    asked): a shipping line whose code, title or delivery category speaks of pickup, or physical
    items (``requires_shipping``) without a shipping address — Shopify's checkout asks no address
    for a pickup. A shipment (an address and an ordinary rate) and a digital order are not."""
    lines = payload.get("shipping_lines")
    for line in lines if isinstance(lines, list) else []:
        if not isinstance(line, dict):
            continue
        words = " ".join(_text(line.get(k)) for k in ("code", "title", "delivery_category"))
        if any(w in words for w in PICKUP_WORDS):
            return True
    items = payload.get("line_items")
    physical = isinstance(items, list) and any(
        isinstance(li, dict) and li.get("requires_shipping") is True for li in items
    )
    address = payload.get("shipping_address")
    has_address = isinstance(address, dict) and any(address.get(k) for k in ("address1", "city", "zip"))
    return physical and not has_address


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _bad(message: str) -> PlatformError:
    return PlatformError(f"Shopify: {message}", platform="shopify", code="platform_bad_answer")


def _lines(node: Mapping[str, Any]) -> tuple[OrderLine, ...]:
    conn = _obj(node.get("lineItems"))
    if (conn.get("pageInfo") or {}).get("hasNextPage"):
        log.warning(
            "shopify fulfillment order %s has more lines than one page; the rest are not listed", node.get("id")
        )
    out: list[OrderLine] = []
    lines = conn.get("nodes")
    for line in lines if isinstance(lines, list) else []:
        if not isinstance(line, dict):
            continue
        order_line = _obj(line.get("lineItem"))
        quantity = line.get("totalQuantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            continue
        name = order_line.get("name") or line.get("productTitle")
        sku = line.get("sku") or order_line.get("sku") or name or line.get("id")
        if not sku:
            continue
        out.append(OrderLine(str(sku), quantity, str(name) if name else None))
    return tuple(out)


def fulfillment_orders(data: Mapping[str, Any], order_id: str) -> list[FulfillmentOrder]:
    """The fulfillment orders in an ``O2OOrderFulfillmentOrders`` answer. Raises
    :class:`~o2o_sdk.http.PlatformError`: ``unknown_order`` when Shopify has no such order,
    ``platform_bad_answer`` for an answer of another shape."""
    order = data.get("order")
    if order is None:
        raise PlatformNotFound(f"Shopify has no order {order_id} (or the access token may not read it).", platform="shopify",
                               status=200, code="unknown_order")  # fmt: skip
    if not isinstance(order, dict):
        raise _bad("the order is not an object.")
    conn = order.get("fulfillmentOrders")
    if not isinstance(conn, dict) or not isinstance(conn.get("nodes"), list):
        raise _bad("the order's fulfillmentOrders are missing.")
    out: list[FulfillmentOrder] = []
    for node in conn["nodes"]:
        if not isinstance(node, dict) or not node.get("id"):
            raise _bad("a fulfillment order has no id.")
        assigned = _obj(node.get("assignedLocation"))
        location = _obj(assigned.get("location"))
        method = _obj(node.get("deliveryMethod"))
        out.append(FulfillmentOrder(
            id=str(node["id"]), status=str(node.get("status") or ""),
            method=str(method["methodType"]) if method.get("methodType") else None,
            location_id=str(location["id"]) if location.get("id") else None,
            location_name=str(assigned["name"]) if assigned.get("name") else None, lines=_lines(node),
        ))  # fmt: skip
    return out


def pickup_lines(orders: list[FulfillmentOrder]) -> tuple[OrderLine, ...]:
    """The lines of these fulfillment orders, one per SKU (quantities added)."""
    merged: dict[str, OrderLine] = {}
    for fo in orders:
        for line in fo.lines:
            known = merged.get(line.sku)
            merged[line.sku] = line if known is None else attrs.evolve(known, quantity=known.quantity + line.quantity)
    return tuple(merged.values())
