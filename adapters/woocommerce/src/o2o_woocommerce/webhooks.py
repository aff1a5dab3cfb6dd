"""WooCommerce webhooks: the creation ping, ``X-WC-Webhook-Signature`` over the raw body, and
orders (the REST API's order shape) as :class:`~o2o_sdk.OrderEvent`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from o2o_sdk import (
    InvalidInput,
    Money,
    OrderEvent,
    OrderKind,
    OrderLine,
    PickupDetails,
    WebhookRejected,
    WebhookRequest,
)
from o2o_sdk.http import Secret, verify_hmac_sha256_base64
from o2o_sdk.money import currency_exponent

from .client import WooCommerceSettings

__all__ = [
    "CANCELLED_STATUSES",
    "DELETED_TOPIC",
    "ORDER_TOPICS",
    "PICKUP_METHODS",
    "SUBSCRIBED_TOPICS",
    "is_ping",
    "meta_value",
    "parse_delivery",
    "parse_order",
    "pickup_line",
    "sign",
    "signing_key",
    "verify_signature",
]

#: Topics that carry an order.
ORDER_TOPICS = frozenset({"order.created", "order.updated"})
#: An order trashed or deleted: WooCommerce sends only ``{"id": …}``. It comes as
#: ``OrderEvent(cancelled=True)`` (its SDK pickup, if open, is cancelled).
DELETED_TOPIC = "order.deleted"
#: What :meth:`~o2o_woocommerce.WooCommerceAdapter.subscribe_webhooks` subscribes to.
SUBSCRIBED_TOPICS = ORDER_TOPICS | {DELETED_TOPIC}
#: Statuses of an order that will not be collected: cancelled (by the customer, the merchant, or
#: WooCommerce for an unpaid order), refunded in full, or whose payment failed. Such an order
#: comes as ``OrderEvent(cancelled=True)``, whatever ``order_statuses`` says: it is not recorded
#: and its SDK pickup, if it has one, is cancelled.
CANCELLED_STATUSES = frozenset({"cancelled", "refunded", "failed"})
#: Shipping methods of orders collected in store: the classic ``local_pickup`` and the
#: WooCommerce Blocks pickup locations (``pickup_location``, whose line meta names the location).
PICKUP_METHODS = frozenset({"local_pickup", "pickup_location"})

_PING = re.compile(rb"webhook_id=\d+")
_TRUE = frozenset({"1", "yes", "true", "on"})
#: What WordPress's ``wp_specialchars_decode(..., ENT_QUOTES)`` turns back into characters.
_ENTITIES = {
    "&lt;": "<", "&#060;": "<", "&gt;": ">", "&#062;": ">", "&quot;": '"', "&#034;": '"', "&#x22;": '"',
    "&#039;": "'", "&#39;": "'", "&#x27;": "'", "&amp;": "&", "&#038;": "&", "&#x26;": "&",
}  # fmt: skip
_ENTITY = re.compile("|".join(map(re.escape, _ENTITIES)))


def signing_key(secret: str) -> bytes:
    """The key WooCommerce signs with: the webhook secret with HTML entities decoded in one pass
    (``wp_specialchars_decode``), so a secret typed as ``a&amp;b`` signs as ``a&b``."""
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], secret).encode()


def sign(body: bytes, secret: str) -> str:
    """The ``X-WC-Webhook-Signature`` value for ``body``: base64 of HMAC-SHA256."""
    return base64.b64encode(hmac.new(signing_key(secret), body, hashlib.sha256).digest()).decode("ascii")


def verify_signature(body: bytes, header: str | None, secrets: Sequence[Secret]) -> bool:
    """Whether ``header`` signs the raw ``body`` with one of ``secrets`` (each compared in constant time)."""
    return verify_hmac_sha256_base64(body, header, (signing_key(s.value) for s in secrets))


def is_ping(request: WebhookRequest) -> bool:
    """WooCommerce's test delivery when a webhook is created: form body ``webhook_id=<id>``, unsigned.
    It must be answered 200 (or WooCommerce will not save the webhook) and carries nothing."""
    return request.header("x-wc-webhook-signature") is None and _PING.fullmatch(request.body.strip()) is not None


def _malformed(message: str) -> WebhookRejected:
    return WebhookRejected(f"WooCommerce webhook: {message}", code="malformed_payload")


def meta_value(meta: Any, key: str) -> Any:
    """The value of ``key`` in a ``meta_data`` list (``[{"id", "key", "value"}]``), or ``None``."""
    if not isinstance(meta, list):
        return None
    for entry in meta:
        if isinstance(entry, dict) and entry.get("key") == key:
            return entry.get("value")
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _money(amount: Any, currency: str, what: str) -> Money:
    """Money from a WooCommerce decimal, rounded half-even to the currency's minor unit (a site
    may show more decimals than the currency has)."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise _malformed(f"{what} {amount!r} is not an amount.") from None
    if not value.is_finite():
        raise _malformed(f"{what} {amount!r} is not an amount.")
    exp = currency_exponent(currency)
    try:
        return Money(int(value.scaleb(exp).quantize(Decimal(1), ROUND_HALF_EVEN)), currency)
    except (InvalidOperation, InvalidInput):  # more digits than a decimal holds, or beyond Money's range
        raise _malformed(f"{what} {amount!r} is not an amount this shop can take.") from None


def pickup_line(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The order's shipping line of a pickup method, if any."""
    lines = payload.get("shipping_lines") or []
    if not isinstance(lines, list):
        raise _malformed("shipping_lines is not a list.")
    for line in lines:
        if isinstance(line, dict) and isinstance(line.get("method_id"), str) and line["method_id"] in PICKUP_METHODS:
            return line
    return None


def _items(payload: dict[str, Any], currency: str) -> tuple[OrderLine, ...]:
    lines = payload.get("line_items") or []
    if not isinstance(lines, list):
        raise _malformed("line_items is not a list.")
    out = []
    for line in lines:
        if not isinstance(line, dict):
            raise _malformed("a line item is not an object.")
        try:
            quantity = int(line.get("quantity") or 0)
        except (TypeError, ValueError):
            raise _malformed(f"line item {line.get('id')} has no whole quantity.") from None
        if quantity <= 0:
            continue
        product = line.get("variation_id") or line.get("product_id")
        sku = _text(line.get("sku")) or (f"woocommerce-product-{product}" if product else None)
        if sku is None:
            raise _malformed(f"line item {line.get('id')} has neither a SKU nor a product id.")
        unit: Money | None = None
        if line.get("subtotal") not in (None, ""):  # before coupons, like a shelf price
            subtotal = _money(line["subtotal"], currency, "a line subtotal")
            unit = Money(int((Decimal(subtotal.minor) / quantity).quantize(Decimal(1), ROUND_HALF_EVEN)), currency)
        out.append(OrderLine(sku, quantity, _text(line.get("name")), unit))
    return tuple(out)


def parse_order(payload: Any, settings: WooCommerceSettings, *, delivery_id: str | None = None,
                is_store: Callable[[str], bool] = lambda _: False, topic: str | None = None) -> OrderEvent | None:  # fmt: skip
    """An order (the REST API's ``shop_order`` shape) as an :class:`~o2o_sdk.OrderEvent`;
    ``None`` for a status that is not a sale (``settings.order_statuses``). An order
    ``cancelled``, ``refunded`` or ``failed`` (:data:`CANCELLED_STATUSES`) comes with
    ``cancelled=True``, so that ``sdk.orders.record`` cancels its pickup.

    - kind: in store when ``created_via`` is one of ``settings.in_store_created_via`` or the meta
      flag ``settings.in_store_meta_key`` is set; online otherwise;
    - store: the meta field ``settings.store_meta_key`` — our store id when ``is_store`` says so,
      else a location key mapped through ``Store.external_ids["woocommerce"]``;
    - pickup: a ``local_pickup`` / ``pickup_location`` shipping line; its store is the meta field,
      else ``settings.locations`` by pickup location name or ``"<method_id>:<instance_id>"``, else
      the pickup location name as a location key. The customer's note travels with it.
    """
    if not isinstance(payload, dict):
        raise _malformed("the body is not a JSON object.")
    missing = [k for k in ("id", "status", "date_created_gmt", "currency", "total") if payload.get(k) in (None, "")]
    if missing:
        raise _malformed(f"the order lacks {', '.join(missing)}.")
    cancelled = str(payload["status"]) in CANCELLED_STATUSES
    if not cancelled and str(payload["status"]) not in settings.order_statuses:
        return None
    currency = str(payload["currency"]).upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise _malformed(f"currency {payload['currency']!r} is not an ISO 4217 code.")
    try:
        occurred_at = datetime.fromisoformat(str(payload["date_created_gmt"]))
    except ValueError:
        raise _malformed(f"date_created_gmt {payload['date_created_gmt']!r} is not a date and time.") from None
    # WooCommerce writes the GMT time without an offset.
    occurred_at = occurred_at.replace(tzinfo=UTC) if occurred_at.tzinfo is None else occurred_at.astimezone(UTC)
    total = _money(payload["total"], currency, "the total")
    meta = payload.get("meta_data") or []
    if not isinstance(meta, list):
        raise _malformed("meta_data is not a list.")
    codes = payload.get("coupon_lines") or []
    if not isinstance(codes, list):
        raise _malformed("coupon_lines is not a list.")
    raw_billing = payload.get("billing")
    billing: dict[str, Any] = raw_billing if isinstance(raw_billing, dict) else {}
    flag = _text(meta_value(meta, settings.in_store_meta_key))
    in_store = str(payload.get("created_via") or "") in settings.in_store_created_via or (flag or "").lower() in _TRUE

    def place(value: str | None) -> tuple[str | None, str | None]:  # (store_id, location_id)
        if value is None:
            return None, None
        return (value, None) if is_store(value) else (None, value)

    store_id, location_id = place(_text(meta_value(meta, settings.store_meta_key)))
    pickup: PickupDetails | None = None
    line = pickup_line(payload)
    if line is not None:
        name = _text(meta_value(line.get("meta_data"), "pickup_location"))
        method = (
            f"{line.get('method_id')}:{line.get('instance_id')}" if line.get("instance_id") not in (None, "") else None
        )
        p_store, p_location = store_id, location_id
        if p_store is None and p_location is None:
            ruled = next(
                (settings.locations[k] for k in (name, method) if k is not None and k in settings.locations), None
            )
            p_store, p_location = (ruled, None) if ruled is not None else place(name or method)
        pickup = PickupDetails(location_id=p_location, store_id=p_store, note=_text(payload.get("customer_note")))
    customer = payload.get("customer_id")
    return OrderEvent(
        platform="woocommerce",
        order_id=str(payload["id"]),
        kind=OrderKind.IN_STORE if in_store else OrderKind.ONLINE,
        occurred_at=occurred_at,
        total=total,
        location_id=location_id,
        store_id=store_id,
        customer_id=str(customer) if customer not in (None, "", 0, "0") else None,
        customer_email=_text(billing.get("email")),
        discount_codes=tuple(str(c["code"]) for c in codes if isinstance(c, dict) and c.get("code")),
        delivery_id=delivery_id,
        items=_items(payload, currency),
        pickup=pickup,
        cancelled=cancelled,
        data={
            "topic": topic, "status": payload["status"], "created_via": payload.get("created_via"),
            "number": payload.get("number"),
            "pickup_location": _text(meta_value(line.get("meta_data"), "pickup_location")) if line else None,
            "pickup_address": _text(meta_value(line.get("meta_data"), "pickup_address")) if line else None,
        },
    )  # fmt: skip


def parse_delivery(request: WebhookRequest, settings: WooCommerceSettings,
                   is_store: Callable[[str], bool] = lambda _: False, *, now: datetime | None = None) -> list[OrderEvent]:  # fmt: skip
    """Verify one delivery and parse it: ``[]`` for the creation ping (not verified: it is
    unsigned and carries nothing), for other topics and for orders that are not a sale; an
    order cancelled, refunded or failed comes with ``cancelled=True``, and so does an order
    trashed or deleted (``order.deleted``, at ``now``: its payload is the id alone)."""
    if is_ping(request):
        return []
    if not verify_signature(request.body, request.header("x-wc-webhook-signature"), settings.webhook_secrets):
        raise WebhookRejected("WooCommerce webhook: the signature does not match the body.", code="bad_signature")
    topic = request.header("x-wc-webhook-topic")
    if topic not in ORDER_TOPICS and topic != DELETED_TOPIC:
        return []
    try:
        payload = json.loads(request.body)
    except ValueError:
        raise _malformed("the body is not JSON.") from None
    if topic == DELETED_TOPIC:
        return [_deleted(payload, request.header("x-wc-webhook-delivery-id") or None, now or datetime.now(UTC))]
    event = parse_order(payload, settings, delivery_id=request.header("x-wc-webhook-delivery-id") or None,
                        is_store=is_store, topic=topic)  # fmt: skip
    return [] if event is None else [event]


def _deleted(payload: Any, delivery_id: str | None, now: datetime) -> OrderEvent:
    """``order.deleted``: ``{"id": 123}``. Only the id is known, so the event says no more."""
    order_id = payload.get("id") if isinstance(payload, dict) else None
    if isinstance(order_id, bool) or not isinstance(order_id, (int, str)) or not str(order_id).isdigit():
        raise _malformed("the order.deleted payload has no order id.")
    return OrderEvent("woocommerce", str(int(order_id)), OrderKind.ONLINE, now, delivery_id=delivery_id, cancelled=True,
                      data={"topic": DELETED_TOPIC})  # fmt: skip
