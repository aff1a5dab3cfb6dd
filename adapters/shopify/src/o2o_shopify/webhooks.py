"""Shopify webhooks: verify ``X-Shopify-Hmac-Sha256`` over the raw body, parse orders."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from o2o_sdk import InvalidInput, Money, OrderEvent, OrderKind, WebhookRejected, WebhookRequest
from o2o_sdk.http import Secret

from .pickups import may_be_pickup

__all__ = ["ORDER_TOPICS", "location_gid", "parse_order", "sign", "verify_signature"]

#: Topics that carry an order: new, changed (a redelivered or changed order is recorded once) or
#: cancelled (``cancelled_at`` set: the SDK cancels the order's pickup).
ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/cancelled"})


def sign(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value for ``body`` (base64 of HMAC-SHA256)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode("ascii")


def verify_signature(body: bytes, header: str | None, secrets: Sequence[Secret]) -> bool:
    """Whether ``header`` signs the raw ``body`` with one of ``secrets`` (all compared in constant time)."""
    if not header or not secrets:
        return False
    try:
        given = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    ok = False
    for secret in secrets:  # no early exit: the time taken does not tell which secret matched
        expected = hmac.new(secret.value.encode(), body, hashlib.sha256).digest()
        ok |= hmac.compare_digest(expected, given)
    return ok


def location_gid(location_id: object) -> str:
    """A location's global id from a REST id (``123`` -> ``gid://shopify/Location/123``)."""
    text = str(location_id)
    return text if text.startswith("gid://") else f"gid://shopify/Location/{text}"


def _gid(kind: str, value: object) -> str:
    text = str(value)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


def _malformed(message: str) -> WebhookRejected:
    return WebhookRejected(f"Shopify webhook: {message}", code="malformed_payload")


def parse_order(request: WebhookRequest, payload: Any, delivery_id: str | None, shop_domain: str) -> OrderEvent:
    """An ``orders/create``, ``orders/updated`` or ``orders/cancelled`` payload (REST Order
    shape) as an :class:`~o2o_sdk.OrderEvent`; ``cancelled`` when ``cancelled_at`` is set (the
    merchant or the customer cancelled it on Shopify).

    ``source_name == "pos"`` with a ``location_id`` is an in-store order at that location;
    anything else is online. ``data["may_be_pickup"]`` says whether an online order may be a
    local pickup (see :func:`~o2o_shopify.pickups.may_be_pickup`); the adapter then asks
    Shopify for its fulfillment orders.
    """
    if not isinstance(payload, dict):
        raise _malformed("the body is not a JSON object.")
    missing = [k for k in ("id", "created_at", "currency", "total_price") if payload.get(k) in (None, "")]
    if missing:
        raise _malformed(f"the order lacks {', '.join(missing)}.")
    try:
        occurred_at = datetime.fromisoformat(str(payload["created_at"]))
        total = Money.of(str(payload["total_price"]), str(payload["currency"]))
    except (ValueError, InvalidInput) as exc:
        raise _malformed(f"unreadable created_at or total: {exc}.") from None
    if occurred_at.tzinfo is None:
        raise _malformed("created_at has no time zone.")
    location = payload.get("location_id")
    in_store = payload.get("source_name") == "pos" and location not in (None, "")
    raw_customer = payload.get("customer")
    customer: dict[str, Any] = raw_customer if isinstance(raw_customer, dict) else {}
    codes = payload.get("discount_codes") or []
    if not isinstance(codes, list):
        raise _malformed("discount_codes is not a list.")
    return OrderEvent(
        platform="shopify",
        order_id=str(payload.get("admin_graphql_api_id") or _gid("Order", payload["id"])),
        kind=OrderKind.IN_STORE if in_store else OrderKind.ONLINE,
        occurred_at=occurred_at,
        total=total,
        location_id=location_gid(location) if in_store else None,
        customer_id=_gid("Customer", customer["id"]) if customer.get("id") else None,
        customer_email=customer.get("email") or payload.get("email") or None,
        discount_codes=tuple(str(c["code"]) for c in codes if isinstance(c, dict) and c.get("code")),
        delivery_id=delivery_id,
        cancelled=payload.get("cancelled_at") not in (None, ""),
        data={
            "shop": shop_domain, "topic": request.header("x-shopify-topic"), "source_name": payload.get("source_name"),
            "name": payload.get("name"), "legacy_order_id": payload["id"],
            "may_be_pickup": not in_store and may_be_pickup(payload),
            **({"note": str(payload["note"])[:500]} if isinstance(payload.get("note"), str) and payload["note"].strip() else {}),
        },
    )


def parse_delivery(request: WebhookRequest, secrets: Sequence[Secret], shop_domain: str) -> list[OrderEvent]:
    """Verify one delivery and parse it; ``[]`` for topics without an order."""
    if not verify_signature(request.body, request.header("x-shopify-hmac-sha256"), secrets):
        raise WebhookRejected("Shopify webhook: the signature does not match the body.", code="bad_signature")
    sender = (request.header("x-shopify-shop-domain") or "").lower()
    if sender and sender != shop_domain:
        raise WebhookRejected(f"Shopify webhook from {sender}, not from {shop_domain}.", code="wrong_shop")
    topic = request.header("x-shopify-topic")
    if topic not in ORDER_TOPICS:
        return []
    try:
        payload = json.loads(request.body)
    except ValueError:
        raise _malformed("the body is not JSON.") from None
    delivery_id = request.header("x-shopify-event-id") or request.header("x-shopify-webhook-id")
    return [parse_order(request, payload, delivery_id, shop_domain)]
